//! The command queue's running command ([`Active`]): starting a command line and
//! stepping the one that waits for the network (ping, sleep, TCP transfers).

use std::fs;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use umlnet_guest::{JobId, Run};

use super::GuestHost;
use super::transfer::Transfer;

/// The running command.
pub(super) enum Active {
    /// A guest job and how much of its output is printed already.
    Ping(JobId, usize),
    Sleep(Instant),
    Recv(Box<Transfer>),
    Send(Box<Transfer>),
}

impl GuestHost {
    pub(super) fn start_command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let now = self.now();
        match words.as_slice() {
            [] => {}
            [c, ..] if c.starts_with('#') => {}
            ["exit", rest @ ..] => {
                if let Some(code) = rest.first().and_then(|s| s.parse().ok()) {
                    self.failed = (code != 0).then_some(code);
                }
                self.exit = true;
            }
            ["echo", rest @ ..] => self.finish(&format!("{}\n", rest.join(" ")), 0),
            ["sleep", secs] => match secs.parse::<f64>() {
                Ok(s) if s >= 0.0 && s.is_finite() => {
                    self.active = Some(Active::Sleep(Instant::now() + Duration::from_secs_f64(s)));
                }
                _ => self.finish(&format!("sleep: invalid time interval '{secs}'\n"), 1),
            },
            ["tcp-recv", port, file] => match port.parse::<u16>() {
                Ok(port) => match self.guest.tcp_listen(port) {
                    Ok(handle) => {
                        println!("tcp-recv: listening on port {port}");
                        let _ = io::stdout().flush();
                        self.active = Some(Active::Recv(Box::new(Transfer {
                            handle,
                            file: PathBuf::from(file),
                            data: Vec::new(),
                            offset: 0,
                            last_progress: Instant::now(),
                            connected: false,
                        })));
                    }
                    Err(e) => self.finish(&format!("tcp-recv: {e}\n"), 1),
                },
                Err(_) => self.finish(&format!("tcp-recv: bad port '{port}'\n"), 2),
            },
            ["tcp-send", ip, port, file] => {
                let (Ok(ip), Ok(port)) = (ip.parse::<Ipv4Addr>(), port.parse::<u16>()) else {
                    self.finish("usage: tcp-send IP PORT FILE\n", 2);
                    return;
                };
                let data = match fs::read(file) {
                    Ok(d) => d,
                    Err(e) => {
                        self.finish(&format!("tcp-send: {file}: {e}\n"), 1);
                        return;
                    }
                };
                match self.guest.tcp_connect(ip, port) {
                    Ok(handle) => {
                        self.active = Some(Active::Send(Box::new(Transfer {
                            handle,
                            file: PathBuf::from(file),
                            data,
                            offset: 0,
                            last_progress: Instant::now(),
                            connected: false,
                        })));
                    }
                    Err(e) => self.finish(&format!("tcp-send: connect: {e}\n"), 1),
                }
            }
            ["tcp-recv" | "tcp-send", ..] => {
                self.finish("usage: tcp-recv PORT FILE | tcp-send IP PORT FILE\n", 2)
            }
            _ => match self.guest.run(line, now) {
                Run::Done(out) => self.finish(&out.text, out.status),
                Run::Started(id) => self.active = Some(Active::Ping(id, 0)),
            },
        }
    }

    /// Advances the running command; prints and clears it when it is done.
    pub(super) fn step_active(&mut self) {
        let Some(active) = self.active.take() else {
            return;
        };
        match active {
            Active::Ping(id, printed) => {
                if let Some(out) = self.guest.take_job(id) {
                    let rest = out.text.get(printed..).unwrap_or_default();
                    self.finish(rest, out.status);
                } else {
                    // Print what the job said so far, as a terminal shows ping's lines.
                    let text = self.guest.job_output(id).unwrap_or_default();
                    let mut printed = printed;
                    if let Some(end) = text.rfind('\n').map(|i| i + 1)
                        && end > printed
                    {
                        print!("{}", &text[printed..end]);
                        let _ = io::stdout().flush();
                        printed = end;
                    }
                    self.active = Some(Active::Ping(id, printed));
                }
            }
            Active::Sleep(until) => {
                if Instant::now() >= until {
                    self.finish("", 0);
                } else {
                    self.active = Some(Active::Sleep(until));
                }
            }
            Active::Recv(t) => self.step_recv(t),
            Active::Send(t) => self.step_send(t),
        }
    }
}
