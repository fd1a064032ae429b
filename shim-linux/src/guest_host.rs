//! The userspace guest as a program: a [`Guest`] over real transports ([`HostLink`]),
//! driven by one epoll loop and the monotonic clock.
//!
//! [`GuestHost`] owns the guest, the descriptors of its links, the UML management
//! console socket (`<uml_dir><umid>/mconsole`, spec §6) and the command input. Commands
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

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use umlnet_core::cmdline::{self, ErrorKind};
use umlnet_core::helper::AddrOp;
use umlnet_core::mconsole::{
    self, Command as McCommand, MAX_REPLY_LEN, REQUEST_LEN, RequestPacket, RequestRepr,
};
use umlnet_guest::smoltcp::socket::tcp;
use umlnet_guest::smoltcp::time::Instant as NetInstant;
use umlnet_guest::{Guest, GuestError, JobId, Run, TcpHandle};

use crate::sys::epoll::Poller;
use crate::sys::pty::is_tty;
use crate::sys::signal::SignalWatch;
use crate::sys::socket::{DgramSocket, SOCKADDR_UN_LEN, path_addr_bytes};
use crate::transport::{HostDevice, OpenOptions};

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

/// The running command.
enum Active {
    /// A guest job and how much of its output is printed already.
    Ping(JobId, usize),
    Sleep(Instant),
    Recv(Box<Transfer>),
    Send(Box<Transfer>),
}

struct Transfer {
    handle: TcpHandle,
    file: PathBuf,
    data: Vec<u8>,
    offset: usize,
    last_progress: Instant,
    connected: bool,
}

/// The mconsole socket and its machine directory (removed on drop).
struct Mconsole {
    sock: DgramSocket,
    dir: PathBuf,
    path: PathBuf,
}

impl Drop for Mconsole {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        let _ = fs::remove_file(self.dir.join("pid"));
        let _ = fs::remove_dir(&self.dir);
    }
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

    /// Parses `arg` (`eth<n>=…`), opens its transport and adds the interface. Returns
    /// the kernel-style lines to print (`Netdevice <n> (<mac>) : <banner>`).
    pub fn add_device(&mut self, arg: &str) -> Result<String, DeviceError> {
        let parsed = cmdline::parse(arg).map_err(|e| DeviceError {
            text: e.display(arg).to_string(),
            kind: match e.kind {
                ErrorKind::BadDeviceNumber | ErrorKind::DeviceNumberTooLarge => {
                    DeviceErrorKind::BadNumber
                }
                _ => DeviceErrorKind::Other,
            },
        })?;
        let spec = parsed.spec;
        if self.guest.interface(spec.index).is_some() {
            return Err(DeviceError {
                text: mconsole::DEVICE_ALREADY_CONFIGURED.into(),
                kind: DeviceErrorKind::Exists,
            });
        }
        let dev = HostDevice::new(&spec, &self.opts.open).map_err(|e| DeviceError {
            text: e.to_string(),
            kind: DeviceErrorKind::Other,
        })?;
        let banner = dev.banner();
        let fd = dev.fd();
        self.guest.add_device(&spec, dev).map_err(|e| DeviceError {
            text: e.to_string(),
            kind: DeviceErrorKind::Other,
        })?;
        if let Some(fd) = fd
            && let Err(e) = self.watch(spec.index, fd)
        {
            let _ = self.guest.remove_interface(spec.index);
            return Err(DeviceError {
                text: format!("eth{}: epoll: {e}", spec.index),
                kind: DeviceErrorKind::Other,
            });
        }
        let mut out = String::new();
        for w in &parsed.warnings {
            let _ = writeln!(out, "eth{}: warning: {w}", spec.index);
        }
        let mac = self
            .guest
            .interface(spec.index)
            .map(|i| i.mac.to_string())
            .unwrap_or_default();
        let _ = writeln!(out, "Netdevice {} ({mac}) : {banner}", spec.index);
        Ok(out)
    }

    /// Removes `eth<index>` as mconsole `remove` does: refused while it is up.
    pub fn remove_device(&mut self, index: u32) -> Result<(), DeviceError> {
        let Some(info) = self.guest.interface(index) else {
            return Err(DeviceError {
                text: mconsole::DEVICE_DOESNT_EXIST.into(),
                kind: DeviceErrorKind::Missing,
            });
        };
        if info.up {
            return Err(DeviceError {
                text: mconsole::DEVICE_IS_OPEN.into(),
                kind: DeviceErrorKind::Busy,
            });
        }
        self.unwatch(index);
        self.sync_addresses();
        let link = self
            .guest
            .remove_interface(index)
            .map_err(|e| DeviceError {
                text: e.to_string(),
                kind: DeviceErrorKind::Other,
            })?;
        self.announced.remove(&index);
        drop(link);
        Ok(())
    }

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

    fn start_command(&mut self, line: &str) {
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
    fn step_active(&mut self) {
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

    fn step_recv(&mut self, mut t: Box<Transfer>) {
        let sock = self.guest.tcp(t.handle);
        if sock.is_active() {
            t.connected = true;
        }
        let mut buf = [0u8; 16384];
        let mut moved = false;
        while sock.can_recv() {
            match sock.recv_slice(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    t.data.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                Err(_) => break,
            }
        }
        let peer_closed = t.connected
            && !sock.may_recv()
            && !matches!(sock.state(), tcp::State::Listen | tcp::State::SynReceived);
        if moved {
            t.last_progress = Instant::now();
        }
        if peer_closed {
            sock.close();
            let n = t.data.len();
            let r = fs::write(&t.file, &t.data);
            let handle = t.handle;
            match r {
                Ok(()) => self.finish(&format!("tcp-recv: received {n} bytes\n"), 0),
                Err(e) => self.finish(&format!("tcp-recv: {}: {e}\n", t.file.display()), 1),
            }
            self.park_socket(handle);
        } else if t.connected && t.last_progress.elapsed() > TCP_IDLE_TIMEOUT {
            let handle = t.handle;
            self.guest.tcp(handle).abort();
            self.finish(
                &format!("tcp-recv: no data for {TCP_IDLE_TIMEOUT:?}, giving up\n"),
                1,
            );
            self.park_socket(handle);
        } else {
            self.active = Some(Active::Recv(t));
        }
    }

    fn step_send(&mut self, mut t: Box<Transfer>) {
        let sock = self.guest.tcp(t.handle);
        let state = sock.state();
        if state == tcp::State::Established {
            t.connected = true;
        }
        if t.connected && sock.can_send() && t.offset < t.data.len() {
            if let Ok(n) = sock.send_slice(&t.data[t.offset..])
                && n > 0
            {
                t.offset += n;
                t.last_progress = Instant::now();
            }
            if t.offset == t.data.len() {
                sock.close();
            }
        }
        let all_acked = t.offset == t.data.len() && sock.send_queue() == 0;
        let closed_early = state == tcp::State::Closed && !all_acked;
        if t.connected
            && all_acked
            && matches!(
                state,
                tcp::State::FinWait2
                    | tcp::State::TimeWait
                    | tcp::State::Closed
                    | tcp::State::Closing
                    | tcp::State::LastAck
            )
        {
            let n = t.data.len();
            let handle = t.handle;
            self.finish(&format!("tcp-send: sent {n} bytes\n"), 0);
            self.park_socket(handle);
        } else if closed_early || t.last_progress.elapsed() > TCP_IDLE_TIMEOUT {
            let why = if closed_early {
                "connection refused or reset"
            } else {
                "timed out"
            };
            let handle = t.handle;
            self.guest.tcp(handle).abort();
            self.finish(
                &format!(
                    "tcp-send: {why} after {} of {} bytes of {}\n",
                    t.offset,
                    t.data.len(),
                    t.file.display()
                ),
                1,
            );
            self.park_socket(handle);
        } else {
            self.active = Some(Active::Send(t));
        }
    }

    /// Leaves a finished socket to complete its close; [`Self::reap_sockets`] frees it.
    fn park_socket(&mut self, handle: TcpHandle) {
        self.closing.push(handle);
    }

    /// Frees the parked sockets whose close has completed (or reached TIME-WAIT, where
    /// only a lost final ACK could still need them).
    fn reap_sockets(&mut self) {
        let mut keep = Vec::new();
        for h in std::mem::take(&mut self.closing) {
            match self.guest.tcp(h).state() {
                tcp::State::Closed | tcp::State::TimeWait => self.guest.tcp_remove(h),
                _ => keep.push(h),
            }
        }
        self.closing = keep;
    }

    fn watch(&mut self, index: u32, fd: RawFd) -> io::Result<()> {
        self.poller.add(fd, u64::from(index))?;
        self.polled.insert(index, fd);
        Ok(())
    }

    fn unwatch(&mut self, index: u32) {
        if let Some(fd) = self.polled.remove(&index) {
            let _ = self.poller.delete(fd);
        }
    }

    /// Opens the transport of every interface that came up (the kernel's `ifup`); one
    /// that cannot open goes back down, as a failed `SIOCSIFFLAGS` leaves it.
    fn open_links(&mut self) {
        for index in self.guest.interface_indices() {
            let up = self.guest.interface(index).is_some_and(|i| i.up);
            let Some(dev) = self.guest.link_mut(index) else {
                continue;
            };
            if !up || dev.link().is_some() {
                continue;
            }
            match dev.set_open(true) {
                Ok(text) => {
                    if !text.is_empty() {
                        print!("{text}");
                        if !text.ends_with('\n') {
                            println!();
                        }
                    }
                    if let Some(fd) = dev.fd()
                        && let Err(e) = self.watch(index, fd)
                    {
                        eprintln!("eth{index}: epoll: {e}");
                    }
                }
                Err(e) => {
                    eprintln!("{e}\nSIOCSIFFLAGS: the device could not be opened");
                    let _ = self.guest.set_up(index, false);
                    self.failed = Some(1);
                }
            }
        }
    }

    /// Closes the transport of every interface that went down (the kernel's `ifdown`).
    fn close_links(&mut self) {
        for index in self.guest.interface_indices() {
            let up = self.guest.interface(index).is_some_and(|i| i.up);
            let open = self
                .guest
                .link_mut(index)
                .is_some_and(|d| d.link().is_some() && !d.opens_at_creation());
            if !up && open {
                self.unwatch(index);
                if let Some(dev) = self.guest.link_mut(index) {
                    let _ = dev.set_open(false);
                }
            }
        }
    }

    /// Tells each transport about addresses that appeared or went since last time.
    fn sync_addresses(&mut self) {
        for index in self.guest.interface_indices() {
            let Some(info) = self.guest.interface(index) else {
                continue;
            };
            let now = match (info.up, info.addr) {
                (true, Some(a)) => Some((a, info.netmask)),
                _ => None,
            };
            let before = self.announced.get(&index).copied();
            if now == before {
                continue;
            }
            let Some(link) = self.guest.link_mut(index) else {
                continue;
            };
            if let Some((a, m)) = before {
                report(index, "del", link.address_changed(AddrOp::Del, a, m));
                self.announced.remove(&index);
            }
            if let Some((a, m)) = now {
                report(index, "add", link.address_changed(AddrOp::Add, a, m));
                self.announced.insert(index, (a, m));
            }
        }
    }

    fn read_stdin(&mut self) {
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

    fn on_signal(&mut self) {
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

    fn serve_mconsole(&mut self) {
        let mut buf = [0u8; REQUEST_LEN + 64];
        loop {
            let (n, from, from_len) = match self.mconsole.sock.recv_from_raw(&mut buf) {
                Ok(Some(x)) => x,
                Ok(None) | Err(_) => return,
            };
            let (err, text) = match RequestPacket::new_checked(&buf[..n])
                .and_then(|p| RequestRepr::parse(&p).map(|r| r.command.to_vec()))
            {
                Ok(command) => self.mconsole_command(&command),
                Err(e) => match e.kernel_answer() {
                    Some(mconsole::Rejection::PlainText(t)) => {
                        let _ = self
                            .mconsole
                            .sock
                            .send_to_raw(t.as_bytes(), &from, from_len);
                        continue;
                    }
                    Some(mconsole::Rejection::Reply(r)) => {
                        (r.err, String::from_utf8_lossy(r.text).into_owned())
                    }
                    None => continue,
                },
            };
            let mut out = [0u8; MAX_REPLY_LEN];
            for chunk in mconsole::reply_chunks(text.as_bytes(), err, false) {
                if let Ok(k) = chunk.encode(&mut out) {
                    let _ = self.mconsole.sock.send_to_raw(&out[..k], &from, from_len);
                }
            }
        }
    }

    /// Runs one mconsole command; the reply's `err` and text.
    fn mconsole_command(&mut self, command: &[u8]) -> (i32, String) {
        match McCommand::parse(command) {
            McCommand::Version => {
                let u = nix::sys::utsname::uname().ok();
                let node = u
                    .as_ref()
                    .map(|u| u.nodename().to_string_lossy().into_owned())
                    .unwrap_or_default();
                let machine = u
                    .as_ref()
                    .map(|u| u.machine().to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    0,
                    format!(
                        "umlnet {node} {} #1 umlnet-guest {machine}",
                        env!("CARGO_PKG_VERSION")
                    ),
                )
            }
            McCommand::Help => (0, MCONSOLE_HELP.to_string()),
            McCommand::ConfigEth { arg } => {
                let arg = arg.to_string();
                match self.add_device(&arg) {
                    Ok(text) => {
                        print!("{text}");
                        let _ = io::stdout().flush();
                        (0, String::new())
                    }
                    Err(e) => {
                        eprintln!("mconsole config {arg}: {}", e.text);
                        let err = match e.kind {
                            DeviceErrorKind::BadNumber | DeviceErrorKind::Exists => {
                                mconsole::ERR_EINVAL
                            }
                            _ => 1,
                        };
                        (err, e.text)
                    }
                }
            }
            McCommand::GetConfigEth { .. } => (1, mconsole::NO_GET_CONFIG.into()),
            McCommand::ConfigOther { .. } => (1, mconsole::BAD_CONFIGURATION_OPTION.into()),
            McCommand::RemoveEth { index } => match self.remove_device(index) {
                Ok(()) => {
                    println!("eth{index}: removed");
                    let _ = io::stdout().flush();
                    (0, String::new())
                }
                Err(e) => (
                    match e.kind {
                        DeviceErrorKind::Busy => mconsole::ERR_EBUSY,
                        DeviceErrorKind::Missing => mconsole::ERR_ENODEV,
                        _ => 1,
                    },
                    e.text,
                ),
            },
            McCommand::RemoveEthBadNumber { .. } => {
                (1, mconsole::COULDNT_PARSE_DEVICE_NUMBER.into())
            }
            McCommand::RemoveOther { .. } => (1, mconsole::BAD_REMOVE_OPTION.into()),
            McCommand::Other {
                name: "halt" | "reboot",
                ..
            } => {
                self.exit = true;
                (0, String::new())
            }
            McCommand::Other { name, .. } => {
                (1, format!("'{name}' is not supported by the umlnet guest"))
            }
            McCommand::Unknown { .. } => (1, mconsole::UNKNOWN_COMMAND.into()),
        }
    }
}

const MCONSOLE_HELP: &str = "Commands: \n    \
    version - Get kernel version \n    \
    help - Print this message \n    \
    halt - Halt UML \n    \
    reboot - Reboot UML \n    \
    config <dev>=<config> - Add a new device to UML;  \n\tsame syntax as command line \n    \
    config <dev> - Query the configuration of a device \n    \
    remove <dev> - Remove a device from UML \n";

fn report(index: u32, what: &str, r: io::Result<String>) {
    match r {
        Ok(text) => {
            if !text.is_empty() {
                print!("{text}");
                if !text.ends_with('\n') {
                    println!();
                }
            }
        }
        Err(e) => eprintln!("eth{index}: telling the host about the {what}: {e}"),
    }
}

/// Why a device could not be added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceError {
    /// What to tell the user (the kernel's text where it has one).
    pub text: String,
    /// Which kernel error it corresponds to.
    pub kind: DeviceErrorKind,
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for DeviceError {}

/// The kernel error a [`DeviceError`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceErrorKind {
    /// `Bad device number` (EINVAL).
    BadNumber,
    /// `Device already configured` (EINVAL).
    Exists,
    /// `Device doesn't exist` (ENODEV).
    Missing,
    /// `Device is currently open` (EBUSY).
    Busy,
    /// Anything else: the argument or the transport failed.
    Other,
}

impl From<GuestError> for DeviceError {
    fn from(e: GuestError) -> Self {
        DeviceError {
            text: e.to_string(),
            kind: DeviceErrorKind::Other,
        }
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
