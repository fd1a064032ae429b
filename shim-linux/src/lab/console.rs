//! `umlnet lab console`: a shell on a machine's second console.
//!
//! Each machine's kernel gets `con1=pts`: its console 1 is a host pseudo-terminal, and
//! the machine's init keeps a shell running on `/dev/tty1`. The kernel's mconsole says
//! which terminal it is (`config con1` answers `pts:/dev/pts/N`); this module opens it
//! and copies bytes both ways. On a terminal, the local side is put in raw mode and
//! `Ctrl-]` leaves; with other input, the console is left once the input has ended and
//! the machine has said nothing for a second.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};

use super::control;
use super::rundir::RunDir;

/// The byte that leaves an interactive console (`Ctrl-]`, as telnet).
pub const ESCAPE: u8 = 0x1d;

/// The host terminal of machine `m`'s console 1, asked of its mconsole. The kernel
/// has a terminal only while the machine's shell holds `/dev/tty1` open; after a console
/// session ends the shell starts again within a second, so this asks for up to 5 s.
pub fn terminal(run: &RunDir, m: &str) -> io::Result<PathBuf> {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = control::mconsole(run, &run.mconsole(m), "config con1")?;
        if let Some(p) = answer
            .trim()
            .strip_prefix("pts:")
            .filter(|p| p.starts_with("/dev/pts/"))
        {
            return Ok(PathBuf::from(p));
        }
        if Instant::now() >= end {
            return Err(io::Error::other(format!(
                "machine {m}'s console 1 is '{}', with no host terminal open: its shell on \
                 /dev/tty1 is not running (see its boot.log)",
                answer.trim()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Puts `f` in raw mode, returning what to restore.
fn make_raw(f: &impl AsFd) -> io::Result<nix::sys::termios::Termios> {
    let old = tcgetattr(f).map_err(io::Error::from)?;
    let mut raw = old.clone();
    cfmakeraw(&mut raw);
    tcsetattr(f, SetArg::TCSANOW, &raw).map_err(io::Error::from)?;
    Ok(old)
}

/// Opens machine `m`'s console and checks that a shell answers on it (an empty line
/// gets a prompt back), retrying for up to 10 s: right after an earlier session the
/// kernel may still name a terminal that is about to close. Returns the terminal and
/// what the shell said.
pub fn open(run: &RunDir, m: &str) -> io::Result<(PathBuf, File, Vec<u8>)> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let tty = terminal(run, m)?;
        let tried = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&tty)
            .and_then(|mut pty| {
                make_raw(&pty)?;
                pty.write_all(b"\n")?;
                let mut said = Vec::new();
                let mut buf = [0u8; 1024];
                while crate::sys::socket::wait_readable(
                    pty.as_raw_fd(),
                    Duration::from_millis(1500),
                )? {
                    let n = pty.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    said.extend_from_slice(&buf[..n]);
                    if said.ends_with(b"# ") || said.ends_with(b"$ ") {
                        break;
                    }
                }
                if said.is_empty() {
                    Err(io::Error::other("no prompt"))
                } else {
                    Ok((pty, said))
                }
            });
        match tried {
            Ok((pty, said)) => return Ok((tty, pty, said)),
            Err(e) if Instant::now() >= end => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("no shell answers on {} ({e})", tty.display()),
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

/// Attaches this process's stdin and stdout to the console `pty` (at `tty`) until
/// `Ctrl-]` (stdin a terminal) or until stdin ends and the machine has been quiet for a
/// second.
pub fn attach(tty: &Path, pty: File) -> io::Result<()> {
    let mut reader: File = pty.try_clone()?;
    let mut writer = pty;
    let stdin = io::stdin();
    let interactive = stdin.is_terminal();
    let restore = if interactive {
        Some(make_raw(&stdin)?)
    } else {
        None
    };
    let start = Instant::now();
    let last_output = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    {
        let last_output = last_output.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut out = io::stdout();
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let _ = out.write_all(&buf[..n]);
                let _ = out.flush();
                last_output.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
            }
            done.store(true, Ordering::Relaxed);
        });
    }
    if interactive {
        eprint!("[connected to {}; Ctrl-] leaves]\r\n", tty.display());
    }
    let mut buf = [0u8; 1024];
    let mut input = stdin.lock();
    let result = loop {
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        if n == 0 {
            break Ok(());
        }
        let chunk = &buf[..n];
        if interactive && let Some(i) = chunk.iter().position(|b| *b == ESCAPE) {
            let _ = writer.write_all(&chunk[..i]);
            break Ok(());
        }
        if let Err(e) = writer.write_all(chunk) {
            break Err(e);
        }
    };
    if !interactive {
        // Let the machine answer what it was given.
        let ended = start.elapsed().as_millis() as u64;
        last_output.fetch_max(ended, Ordering::Relaxed);
        while !done.load(Ordering::Relaxed)
            && start.elapsed().as_millis() as u64 - last_output.load(Ordering::Relaxed) < 1000
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if let Some(old) = restore {
        let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, &old);
        eprint!("\r\n[left the console]\r\n");
    }
    result
}
