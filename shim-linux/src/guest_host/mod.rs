//! The userspace guest as a program: a [`Guest`] over real transports ([`HostLink`]),
//! driven by one epoll loop and the monotonic clock.
//!
//! [`GuestHost`] owns the guest, the descriptors of its links, the UML management
//! console socket (`<uml_dir><umid>/mconsole`, docs/protocols.md §6) and the command input. Commands
//! run one at a time from a queue (the `-c` lines, a script, then stdin); a `ping` or
//! one of the built-in commands below keeps the queue waiting while the network runs.
//! After every command the transports follow the interfaces as the kernel's do: an
//! interface that came up opens its transport (`tuntap`, `ethertap`, `slip`, `mcast`;
//! a `daemon` port is attached from creation to removal, see
//! [`crate::transport::HostDevice`]), the host side is told about changed addresses
//! as the kernel's inetaddr notifier does (`uml_net add|del`, ethertap control
//! messages), and an interface that went down closes its transport.
//!
//! Built-in commands, besides the guest's `ifconfig`, `route`, `arp` and `ping`:
//! `sleep SECONDS`, `echo TEXT`, `tcp-recv PORT FILE` (accept one connection and write
//! what arrives to FILE), `tcp-send IP PORT FILE` (send FILE and close), `exit`.
//!
//! The management console answers `version`, `help`, `config eth<n>=…`, `remove eth<n>`
//! and `halt`/`reboot` (which end the program), with the kernel's reply texts.
//!
//! This module holds the loop; `command` and `transfer` run the commands, `devices` adds
//! and removes interfaces, `links` keeps the transports in step with them, `input` reads
//! stdin and signals, `management` serves the mconsole, and `error` is [`DeviceError`].

mod command;
mod devices;
mod error;
mod input;
mod links;
mod management;
mod transfer;

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use umlnet_guest::smoltcp::time::Instant as NetInstant;
use umlnet_guest::{Guest, TcpHandle};

use crate::sys::epoll::Poller;
use crate::sys::pty::is_tty;
use crate::sys::signal::SignalWatch;
use crate::sys::socket::{DgramSocket, SOCKADDR_UN_LEN, path_addr_bytes};
use crate::transport::{HostDevice, OpenOptions};

use self::command::Active;
use self::management::Mconsole;

pub use error::{DeviceError, DeviceErrorKind};

/// How long a TCP transfer may go without progress before it fails.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the program waits at exit for finished connections to complete their close.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);

const TOKEN_MCONSOLE: u64 = u64::MAX;
const TOKEN_STDIN: u64 = u64::MAX - 1;
const TOKEN_SIGNAL: u64 = u64::MAX - 2;

/// Settings of a [`GuestHost`].
#[derive(Debug, Clone)]
pub struct GuestOptions {
    /// The machine's name (`umid=`): the mconsole directory's name. Random if `None`.
    pub umid: Option<String>,
    /// Where machine directories live (`uml_dir=`); `$HOME/.uml/` by default.
    pub uml_dir: Option<PathBuf>,
    /// How transports reach the host (the `uml_net` helper).
    pub open: OpenOptions,
    /// Seed for TCP sequence numbers, ports and ping ids.
    pub seed: u64,
    /// Keep running after the input ends, until a signal or mconsole `halt`.
    pub wait: bool,
    /// Read commands from stdin after the queued ones (with a prompt on a terminal).
    pub stdin: bool,
}

/// A guest on this host: links, mconsole, commands, and the loop that drives them.
pub struct GuestHost {
    guest: Guest<HostDevice>,
    start: Instant,
    poller: Poller,
    mconsole: Mconsole,
    signals: SignalWatch,
    opts: GuestOptions,
    queue: VecDeque<String>,
    active: Option<Active>,
    /// What the host side was last told, per interface: the address and netmask.
    announced: BTreeMap<u32, (Ipv4Addr, Ipv4Addr)>,
    stdin_open: bool,
    stdin_buf: Vec<u8>,
    interactive: bool,
    prompt_shown: bool,
    failed: Option<i32>,
    exit: bool,
    /// TCP sockets of finished transfers, still closing.
    closing: Vec<TcpHandle>,
    /// The descriptor registered with the poller for each open device.
    polled: BTreeMap<u32, RawFd>,
}

impl GuestHost {
    /// Creates the guest with its mconsole socket (and pid file), and watches SIGINT
    /// and SIGTERM.
    pub fn new(opts: GuestOptions) -> io::Result<GuestHost> {
        let umid = opts.umid.clone().unwrap_or_else(random_umid);
        let uml_dir = match &opts.uml_dir {
            Some(d) => d.clone(),
            None => {
                let home = std::env::var_os("HOME").ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        "HOME is not set: give uml_dir=DIR for the mconsole socket",
                    )
                })?;
                Path::new(&home).join(".uml")
            }
        };
        let dir = uml_dir.join(&umid);
        fs::create_dir_all(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("create {}: {e}", dir.display())))?;
        fs::write(dir.join("pid"), format!("{}\n", std::process::id()))?;
        let path = dir.join("mconsole");
        let _ = fs::remove_file(&path);
        let sock = DgramSocket::bind_raw(&path_addr_bytes(&path)?, SOCKADDR_UN_LEN)
            .map_err(|e| io::Error::new(e.kind(), format!("bind {}: {e}", path.display())))?;
        let mconsole = Mconsole { sock, dir, path };
        let poller = Poller::new(64)?;
        poller.add(mconsole.sock.as_raw_fd(), TOKEN_MCONSOLE)?;
        let signals = SignalWatch::new(&[Signal::SIGINT, Signal::SIGTERM])?;
        poller.add(signals.as_raw_fd(), TOKEN_SIGNAL)?;
        let interactive = opts.stdin && is_tty(io::stdin().as_fd());
        Ok(GuestHost {
            guest: Guest::new(opts.seed, NetInstant::ZERO),
            start: Instant::now(),
            poller,
            mconsole,
            signals,
            opts,
            queue: VecDeque::new(),
            active: None,
            announced: BTreeMap::new(),
            stdin_open: false,
            stdin_buf: Vec::new(),
            interactive,
            prompt_shown: false,
            failed: None,
            exit: false,
            closing: Vec::new(),
            polled: BTreeMap::new(),
        })
    }

    /// The mconsole socket's path.
    pub fn mconsole_path(&self) -> &Path {
        &self.mconsole.path
    }

    /// The guest.
    pub fn guest(&mut self) -> &mut Guest<HostDevice> {
        &mut self.guest
    }

    fn now(&self) -> NetInstant {
        NetInstant::from_micros(self.start.elapsed().as_micros() as i64)
    }
}

impl GuestHost {
    /// Queues a command line.
    pub fn push_command(&mut self, line: impl Into<String>) {
        self.queue.push_back(line.into());
    }

    /// Runs until the queue and the input are done (or forever with `wait`, until a
    /// signal or mconsole `halt`). Returns the exit status: 0, or that of the last
    /// command that failed.
    pub fn run(&mut self) -> io::Result<i32> {
        if self.opts.stdin {
            self.stdin_open = self.poller.add(0, TOKEN_STDIN).is_ok();
        }
        let mut linger_until = None;
        loop {
            let now = self.now();
            self.guest.poll(now);
            self.step_active();
            self.reap_sockets();
            while self.active.is_none() && !self.exit {
                let Some(line) = self.queue.pop_front() else {
                    break;
                };
                self.start_command(&line);
                self.guest.poll(self.now());
                self.step_active();
            }
            if self.exit {
                break;
            }
            let idle = self.active.is_none() && self.queue.is_empty();
            if idle && !self.stdin_open && !self.opts.wait {
                // Give closing connections a moment to say goodbye to their peers.
                let linger = *linger_until.get_or_insert_with(|| Instant::now() + CLOSE_LINGER);
                if self.closing.is_empty() || Instant::now() >= linger {
                    break;
                }
            }
            if idle && self.interactive && self.stdin_open && !self.prompt_shown {
                print!("umlnet# ");
                let _ = io::stdout().flush();
                self.prompt_shown = true;
            }
            let timeout = self.next_timeout();
            let ready: Vec<_> = self.poller.wait(Some(timeout))?.collect();
            for r in ready {
                match r.token {
                    TOKEN_MCONSOLE => self.serve_mconsole(),
                    TOKEN_STDIN => self.read_stdin(),
                    TOKEN_SIGNAL => self.on_signal(),
                    _ => {}
                }
            }
        }
        let _ = io::stdout().flush();
        Ok(self.failed.unwrap_or(0))
    }

    fn next_timeout(&mut self) -> Duration {
        let now = self.now();
        let mut t = Duration::from_millis(200);
        if let Some(at) = self.guest.poll_at(now) {
            let d = at - now;
            t = t.min(Duration::from_micros(d.total_micros()));
        }
        match &self.active {
            Some(Active::Sleep(until)) => {
                t = t.min(until.saturating_duration_since(Instant::now()));
            }
            Some(Active::Recv(_) | Active::Send(_)) => t = t.min(Duration::from_millis(5)),
            _ => {}
        }
        t
    }

    fn finish(&mut self, text: &str, status: i32) {
        print!("{text}");
        if !text.is_empty() && !text.ends_with('\n') {
            println!();
        }
        let _ = io::stdout().flush();
        if status != 0 {
            self.failed = Some(status);
        }
        self.active = None;
        self.prompt_shown = false;
        self.open_links();
        self.sync_addresses();
        self.close_links();
    }
}

/// Six characters for a machine without `umid=`, as the kernel's mkstemp-made ones.
fn random_umid() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        ^ (u64::from(std::process::id()) << 32)
        | 1;
    (0..6)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            CHARS[(x % CHARS.len() as u64) as usize] as char
        })
        .collect()
}
