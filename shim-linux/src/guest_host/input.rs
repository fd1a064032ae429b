//! Command input from stdin, and the signals (SIGINT, SIGTERM) the program watches.

use std::io::{self, Read};

use super::GuestHost;
use super::command::Active;

impl GuestHost {
    pub(super) fn read_stdin(&mut self) {
        let mut buf = [0u8; 4096];
        match io::stdin().lock().read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = self.poller.delete(0);
                self.stdin_open = false;
                if !self.stdin_buf.is_empty() {
                    let line = String::from_utf8_lossy(&self.stdin_buf).into_owned();
                    self.stdin_buf.clear();
                    self.queue.push_back(line);
                }
                if self.interactive {
                    println!();
                }
            }
            Ok(n) => {
                self.stdin_buf.extend_from_slice(&buf[..n]);
                while let Some(pos) = self.stdin_buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.stdin_buf.drain(..=pos).collect();
                    self.queue
                        .push_back(String::from_utf8_lossy(&line).trim_end().to_string());
                }
            }
        }
    }

    pub(super) fn on_signal(&mut self) {
        while let Ok(Some(sig)) = self.signals.read() {
            match (sig, &self.active) {
                (s, Some(Active::Ping(id, _))) if s == libc::SIGINT => {
                    let id = *id;
                    let now = self.now();
                    self.guest.interrupt(id, now);
                }
                // At the prompt, Ctrl-C only starts a new line, as in a shell.
                (s, None) if s == libc::SIGINT && self.interactive => {
                    println!();
                    self.prompt_shown = false;
                }
                _ => {
                    self.exit = true;
                    if self.failed.is_none() {
                        self.failed = Some(128 + sig);
                    }
                }
            }
        }
    }
}
