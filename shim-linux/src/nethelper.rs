//! The `uml_net` helper: what the UML kernel runs (setuid root, found through `PATH`)
//! to set up the host side of its `tuntap`, `ethertap` and `slip` devices, and again
//! when a guest address appears or goes (spec §2).
//!
//! * `4 tuntap up [<gate>]`: create a TAP (owned by the caller), give the host side
//!   `<gate>/32`, turn on forwarding, and send the kernel the interface name, the
//!   output text and the TAP fd in one datagram. Without a gate the TAP is passed back
//!   unconfigured (the original helper fails there).
//! * `4 add|del <dev> <ip> <netmask>`: host route to the guest, proxy ARP on `<dev>`,
//!   published ARP entries on the LAN devices whose routes hold the guest.
//! * `4 ethertap <dev> <data-fd> [<gate>]`: hosts lost the ethertap driver, so it is
//!   emulated on a modern TAP device of that name: frames are relayed between the TAP
//!   and the kernel's data socket (with the 2-byte ethertap prefix), the status byte
//!   and output block go on fd 1, and address messages on fd 1 are honoured until the
//!   guest closes the device.
//! * `4 slip up <gate>` / `4 slip down <name>`: with the host's `N_SLIP` line
//!   discipline where there is one; otherwise the pty on stdin is bridged in user space
//!   ([`crate::slipbridge`]) to a TUN device, whose name the output text reports. The
//!   6.1 kernel then asks the pty itself for the interface name (`SIOCGIFNAME`), which
//!   a pty without `N_SLIP` cannot answer, so with that kernel the device still fails
//!   to come up (`get_ifname failed, err = 25`), the kernel closes the pty and the
//!   bridge goes away. The kernel's `slirp` transport with `umlnet slip-bridge` gives a
//!   real UML a working SLIP link instead.
//!
//! Host changes are [`umlnet_core::host`] plans applied by [`crate::hostapply`]
//! (netlink, ioctls, `/proc/sys`) — no shell, no external program. `--dry-run` as the
//! first argument (or `UML_NET_DRY_RUN=1`) prints the plan and changes nothing.
//!
//! Safe as setuid root: the argv is parsed strictly ([`HelperCall::parse`]); the
//! environment is not read (except the dry-run switch, which can only make the helper
//! do less); only fixed paths are opened; inherited descriptors are checked to be the
//! kind of socket the protocol says before anything is created; host devices are
//! touched only if the helper made them or they are TUN/TAP devices of the caller
//! (root may name any); guest addresses may not be special or local addresses; the
//! process becomes the caller with only `CAP_NET_ADMIN` as soon as the devices are
//! open, and drops that too where it is no longer needed. Every refusal is one line on
//! the reply channel and a non-zero exit, before anything on the host was changed.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::SockType;
use umlnet_core::ethernet::{ETHERTAP_PREFIX_LEN, prefix_ethertap, strip_ethertap};
use umlnet_core::helper::{
    ADDR_CHANGE_LEN, ADDR_CHANGE_V3_LEN, AddrChange, AddrChangeRepr, AddrOp, ChangeOp, Command,
    HelperCall, TuntapUpReply, emit_output_block, output_block_len, parse_if_name,
};
use umlnet_core::host::{self, GuestAddr, LanRoute, Plan};

use crate::hostapply::{Applier, TUN_CLONE, Tolerance};
use crate::sys::epoll::Poller;
use crate::sys::fdpass::{self, FdKind};
use crate::sys::netlink::{LinkInfo, Rtnl};
use crate::sys::privilege::{self, Caller};
use crate::sys::tun::{Tap, TunMode};
use crate::sys::{pty, sysctl};

/// The environment variable that turns on dry-run mode (`UML_NET_DRY_RUN=1`).
pub const DRY_RUN_ENV: &str = "UML_NET_DRY_RUN";
/// The name pattern of the TUN device of a user-space SLIP bridge.
pub const SLIP_TUN_PATTERN: &str = "umlsl%d";

/// Where the helper's answer goes, which decides how a refusal is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// An output block on fd 1 (`add`, `del`, `slip`).
    Block,
    /// The `tuntap up` datagram on fd 1 (text only when refusing).
    TuntapDatagram,
    /// The ethertap status byte then an output block on fd 1.
    EthertapStatus,
}

/// A refusal or failure: one line for the reply channel.
#[derive(Debug)]
pub struct Refusal(pub String);

impl<E: std::fmt::Display> From<E> for Refusal {
    fn from(e: E) -> Refusal {
        Refusal(e.to_string())
    }
}

macro_rules! refuse {
    ($($t:tt)*) => { return Err(Refusal(format!($($t)*))) };
}

/// Runs the helper on `args` (without `argv[0]`); returns the exit status.
pub fn main(args: &[OsString]) -> i32 {
    let caller = Caller::current();
    let mut args: Vec<OsString> = args.to_vec();
    let mut dry_run = std::env::var_os(DRY_RUN_ENV).is_some_and(|v| v == "1");
    if args.first().is_some_and(|a| a == "--dry-run") {
        dry_run = true;
        args.remove(0);
    }
    let strs: Option<Vec<&str>> = args.iter().map(|a| a.to_str()).collect();
    let channel = channel_for(&args);
    let Some(strs) = strs else {
        return refuse_on(
            channel,
            "uml_net : an argument is not valid UTF-8; refusing",
        );
    };
    let call = match HelperCall::parse(&strs) {
        Ok(c) => c,
        Err(e) => return refuse_on(channel, &format!("uml_net : {e}")),
    };
    // A dry run changes nothing, so it needs no privilege at all.
    if dry_run && let Err(e) = privilege::drop_all(&caller) {
        return refuse_on(
            channel,
            &format!("uml_net : could not drop privileges: {e}"),
        );
    }
    let mut helper = Helper {
        caller,
        applier: Applier::new(dry_run, Tolerance::Idempotent),
    };
    let result = match &call.command {
        Command::TuntapUp { gate } => helper.tuntap_up(*gate),
        Command::Address {
            op,
            dev,
            ip,
            netmask,
        } => helper.address(*op, dev, *ip, *netmask),
        Command::TuntapChange {
            op,
            dev,
            ip,
            netmask: Some(netmask),
        } => helper.address(*op, dev, *ip, *netmask),
        Command::Ethertap { dev, data_fd, gate } => {
            helper.ethertap(dev, *data_fd, *gate, call.version)
        }
        Command::SlipUp { gate } => helper.slip_up(*gate),
        Command::SlipDown { name } => helper.slip_down(name),
        other => Err(Refusal(format!(
            "uml_net : the version {} form of '{}' is not supported by this helper; the 6.1 kernel sends version 4",
            call.version,
            other.transport()
        ))),
    };
    match result {
        Ok(code) => code,
        Err(Refusal(line)) => {
            let mut text = helper.applier.take_transcript();
            // A failed host change is already in the transcript (followed by its
            // rollback); say it once.
            if !text.contains(&format!("{line}\n")) {
                text.push_str(&line);
            }
            refuse_on(channel, &text)
        }
    }
}

/// Guesses the reply channel from the raw argv, so that even an argv that does not
/// parse is refused in the form the kernel reads.
fn channel_for(args: &[OsString]) -> Channel {
    let word = |i: usize| args.get(i).and_then(|a| a.to_str()).unwrap_or("");
    let first = if word(0).bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        1
    } else {
        0
    };
    match (word(first), word(first + 1)) {
        ("tuntap", "up") => Channel::TuntapDatagram,
        ("ethertap", _) => Channel::EthertapStatus,
        _ => Channel::Block,
    }
}

/// Writes a refusal (possibly several lines of transcript, the last one the reason) on
/// the channel if fd 1 is the socket the kernel gives, else as plain text on stdout;
/// returns the exit status 1.
fn refuse_on(channel: Channel, text: &str) -> i32 {
    let text = text.trim_end_matches('\n').to_string() + "\n";
    let kind = fdpass::fd_kind(1);
    let stdout = io::stdout();
    let sent = match (channel, kind) {
        (Channel::TuntapDatagram, FdKind::Unix(SockType::Datagram)) => {
            let reply = TuntapUpReply::Failed {
                text: text.as_bytes(),
            };
            let mut buf = vec![0u8; reply.buffer_len()];
            reply
                .emit(&mut buf)
                .ok()
                .and_then(|n| fdpass::send_with_fd(stdout.as_fd(), &[&buf[..n]], None).ok())
                .is_some()
        }
        (Channel::EthertapStatus, FdKind::Unix(SockType::Stream)) => {
            let mut out = vec![umlnet_core::helper::ETHERTAP_FAILED];
            out.extend_from_slice(&block(&text));
            write_fd1(&out).is_ok()
        }
        (Channel::Block, FdKind::Unix(SockType::Stream)) => write_fd1(&block(&text)).is_ok(),
        _ => false,
    };
    if !sent {
        let _ = stdout.lock().write_all(text.as_bytes());
    }
    1
}

fn block(text: &str) -> Vec<u8> {
    let mut buf = vec![0u8; output_block_len(text.as_bytes())];
    // The buffer has exactly the needed length.
    let n = emit_output_block(text.as_bytes(), &mut buf).unwrap_or(0);
    buf.truncate(n);
    buf
}

/// Writes `bytes` to fd 1 in one piece (not through the line-buffered `Stdout`, which
/// would split a block at its last newline, and the kernel reads a block with exactly
/// two reads).
fn write_fd1(bytes: &[u8]) -> io::Result<()> {
    let _ = io::stdout().lock().flush();
    File::from(io::stdout().as_fd().try_clone_to_owned()?).write_all(bytes)
}

/// Sends `text` as an output block when fd 1 is the kernel's stream socket, else as
/// plain text (a user running the helper by hand, or a dry run).
fn reply_text(text: &str) -> io::Result<()> {
    if fdpass::fd_kind(1) == FdKind::Unix(SockType::Stream) {
        write_fd1(&block(text))
    } else {
        write_fd1(text.as_bytes())
    }
}

/// Refuses host addresses that cannot be a gate or a guest: unspecified, broadcast,
/// multicast, loopback.
fn check_special(ip: Ipv4Addr, what: &str) -> Result<(), Refusal> {
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        refuse!("uml_net : refusing {what} {ip}: not a unicast host address");
    }
    Ok(())
}

/// Refuses a new guest address that is special ([`check_special`]), an address of the
/// host, or one that another machine already uses: a gateway of one of the
/// host's routes, or a neighbour the host has a hardware address for on another
/// device. A host route and published ARP entry for it would take that machine's
/// traffic (the seed's "nasty UML user" taking the nameserver's address).
fn check_new_guest(dev: &str, ip: Ipv4Addr) -> Result<(), Refusal> {
    check_special(ip, "guest address")?;
    let local = Rtnl::open()
        .and_then(|mut nl| nl.addresses(None))
        .unwrap_or_default();
    if local.iter().any(|a| a.local == ip) {
        refuse!("uml_net : refusing guest address {ip}: it is an address of this host");
    }
    if let Some(r) = sysctl::routes()
        .unwrap_or_default()
        .into_iter()
        .find(|r| r.gateway == ip)
    {
        refuse!(
            "uml_net : refusing guest address {ip}: it is the gateway of a route on {}",
            r.iface
        );
    }
    let own = Rtnl::index(dev).ok();
    let neighbours = Rtnl::open()
        .and_then(|mut nl| nl.neighbours())
        .unwrap_or_default();
    if let Some((_, index)) = neighbours
        .into_iter()
        .find(|(n, i)| *n == ip && Some(*i) != own)
    {
        let name = nix::net::if_::if_indextoname(index)
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_else(|_| index.to_string());
        refuse!("uml_net : refusing guest address {ip}: a machine on {name} already uses it");
    }
    Ok(())
}

/// The host's routes as LAN routes for the planner (interfaces with names the planner
/// does not accept are left out).
fn lan_routes() -> Vec<LanRoute> {
    sysctl::routes()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| LanRoute::new(&r.iface, r.dest, r.mask).ok())
        .collect()
}

struct Helper {
    caller: Caller,
    applier: Applier,
}

impl Helper {
    /// Checks that `dev` is a device the caller may have the helper change: root may
    /// name any; anyone else only a TUN/TAP device they own (owner uid) or whose group
    /// they are in.
    fn check_owned(&self, dev: &str) -> Result<LinkInfo, Refusal> {
        let info = Rtnl::open()
            .and_then(|mut nl| nl.link_info(dev))
            .map_err(|e| Refusal(format!("uml_net : no host device '{dev}': {e}")))?;
        if self.caller.is_root() {
            return Ok(info);
        }
        let tun = info.kind.as_deref() == Some("tun");
        let owned = info.tun_owner == Some(self.caller.uid)
            || info.tun_group.is_some_and(|g| self.caller.in_group(g));
        if !(tun && owned) {
            refuse!(
                "uml_net : refusing to change '{dev}': it is not a TUN/TAP device owned by uid {}",
                self.caller.uid
            );
        }
        Ok(info)
    }

    fn restrict(&self) -> Result<(), Refusal> {
        privilege::keep_only_net_admin(&self.caller)
            .map_err(|e| Refusal(format!("uml_net : could not drop privileges: {e}")))
    }

    /// `tuntap up [<gate>]`.
    fn tuntap_up(&mut self, gate: Option<Ipv4Addr>) -> Result<i32, Refusal> {
        if let Some(g) = gate {
            check_special(g, "gate address")?;
        }
        if self.applier.dry_run() {
            self.applier.note(&format!(
                "* ip tuntap add mode tap user {} (the kernel picks the name, shown as tap%d)",
                self.caller.uid
            ));
            if let Some(g) = gate {
                self.applier.apply(&host::tuntap_up("tap%d", g)?)?;
            }
            reply_text(&self.applier.take_transcript())?;
            return Ok(0);
        }
        if fdpass::fd_kind(1) != FdKind::Unix(SockType::Datagram) {
            refuse!(
                "uml_net : tuntap up answers on fd 1, which must be the kernel's unix datagram socket"
            );
        }
        let tap = Tap::open_device(Path::new(TUN_CLONE), "", TunMode::Tap, false)
            .map_err(|e| Refusal(format!("uml_net : creating a TAP device failed: {e}")))?;
        tap.set_owner(self.caller.uid)
            .map_err(|e| Refusal(format!("uml_net : TUNSETOWNER failed: {e}")))?;
        self.restrict()?;
        let name = tap.name().to_string();
        match gate {
            Some(g) => self.applier.apply(&host::tuntap_up(&name, g)?)?,
            None => self.applier.note(&format!(
                "no gate address given: {name} is up to you to configure on the host"
            )),
        }
        let text = self.applier.take_transcript();
        let Some(if_name) = parse_if_name(&name) else {
            refuse!(
                "uml_net : the kernel named the TAP '{name}', which the UML kernel cannot take"
            );
        };
        let reply = TuntapUpReply::Ready {
            name: if_name,
            text: text.as_bytes(),
        };
        let mut buf = vec![0u8; reply.buffer_len()];
        let n = reply.emit(&mut buf)?;
        let _ = privilege::drop_all(&self.caller);
        fdpass::send_with_fd(io::stdout().as_fd(), &[&buf[..n]], Some(tap.as_raw_fd())).map_err(
            |e| {
                Refusal(format!(
                    "uml_net : sending the TAP to the kernel failed: {e}"
                ))
            },
        )?;
        Ok(0)
    }

    /// `add|del <dev> <ip> <netmask>` (and the same in the tuntap form).
    fn address(
        &mut self,
        op: AddrOp,
        dev: &str,
        ip: Ipv4Addr,
        netmask: Ipv4Addr,
    ) -> Result<i32, Refusal> {
        let text = self.address_text(op, dev, ip, netmask)?;
        reply_text(&text)?;
        Ok(0)
    }

    fn address_text(
        &mut self,
        op: AddrOp,
        dev: &str,
        ip: Ipv4Addr,
        netmask: Ipv4Addr,
    ) -> Result<String, Refusal> {
        check_special(ip, "guest address")?;
        if !self.applier.dry_run() {
            self.check_owned(dev)?;
            if op == AddrOp::Add {
                check_new_guest(dev, ip)?;
            }
            self.restrict()?;
        }
        let guest = GuestAddr {
            ip,
            netmask: Some(netmask),
        };
        let routes = lan_routes();
        let plan = match op {
            AddrOp::Add => host::address_add(dev, guest, &routes)?,
            AddrOp::Del => host::address_del(dev, guest, &routes)?,
        };
        self.applier.apply(&plan)?;
        Ok(self.applier.take_transcript())
    }

    /// `ethertap <dev> <data-fd> [<gate>]`: emulation on a TAP device.
    fn ethertap(
        &mut self,
        dev: &str,
        data_fd: u16,
        gate: Option<Ipv4Addr>,
        version: u32,
    ) -> Result<i32, Refusal> {
        if let Some(g) = gate {
            check_special(g, "gate address")?;
        }
        if self.applier.dry_run() {
            self.applier.note(&format!(
                "* ip tuntap add dev {dev} mode tap user {} (unless it exists and is yours; removed when the guest closes)",
                self.caller.uid
            ));
            if let Some(g) = gate {
                self.applier.apply(&host::ethertap_up(dev, g)?)?;
            }
            reply_text(&self.applier.take_transcript())?;
            return Ok(0);
        }
        if fdpass::fd_kind(1) != FdKind::Unix(SockType::Stream) {
            refuse!(
                "uml_net : ethertap talks on fd 1, which must be the kernel's unix stream socket"
            );
        }
        let data_kind = fdpass::fd_kind(i32::from(data_fd));
        if data_kind != FdKind::Unix(SockType::Datagram) {
            refuse!(
                "uml_net : data fd {data_fd} is not a unix datagram socket ({})",
                match data_kind {
                    FdKind::Closed => "it is not open",
                    FdKind::NotSocket => "it is not a socket",
                    FdKind::OtherSocket => "it is not a unix socket",
                    FdKind::Unix(_) => "it is a unix socket of another type",
                }
            );
        }
        let existing = match Rtnl::open().and_then(|mut nl| nl.link_info(dev)) {
            Ok(info) => Some(info),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => None,
            Err(e) => refuse!("uml_net : looking up '{dev}' failed: {e}"),
        };
        if let Some(info) = &existing {
            if !info.is_tap() {
                refuse!("uml_net : '{dev}' exists and is not a TAP device; refusing to use it");
            }
            self.check_owned(dev)?;
        }
        let tap = Tap::open_device(Path::new(TUN_CLONE), dev, TunMode::Tap, true)
            .map_err(|e| Refusal(format!("uml_net : opening TAP device '{dev}' failed: {e}")))?;
        if existing.is_none() {
            tap.set_owner(self.caller.uid)
                .map_err(|e| Refusal(format!("uml_net : TUNSETOWNER failed: {e}")))?;
        }
        let data = fdpass::dup_inherited(i32::from(data_fd))?;
        let control = io::stdout().as_fd().try_clone_to_owned()?;
        // The kernel's leaked descriptors (its ends of other lines) must not be held
        // for as long as the relay runs.
        // SAFETY: the descriptors this process owns at this point are the three kept
        // here and 0, 1, 2: the netlink sockets used above were temporaries, and the
        // applier opens its own lazily, after this (nothing has been applied yet on
        // this path). Everything else is leaked from the kernel and owned by nobody.
        #[allow(unsafe_code)]
        let closed = unsafe {
            crate::sys::detach::close_other_fds(&[
                tap.as_raw_fd(),
                data.as_raw_fd(),
                control.as_raw_fd(),
            ])
        };
        closed?;
        self.restrict()?;
        let mut up_plan = Plan::new();
        if let Some(g) = gate {
            up_plan = host::ethertap_up(dev, g)?;
            self.applier.apply(&up_plan)?;
        }
        if existing.is_none() {
            self.applier.note(&format!(
                "ethertap emulated on TAP device {dev} (this host has no ethertap driver)"
            ));
        }
        let mut hello = vec![umlnet_core::helper::ETHERTAP_OK];
        hello.extend_from_slice(&block(&self.applier.take_transcript()));
        let mut control = File::from(control);
        control.write_all(&hello)?;
        let msg_len = if version >= 4 {
            ADDR_CHANGE_LEN
        } else {
            ADDR_CHANGE_V3_LEN
        };
        let mut relay = Relay {
            tap: &tap,
            data,
            control,
            msg_len,
            dev,
            guests: Vec::new(),
        };
        let result = relay.run(self);
        // The guest has gone: withdraw what is still set up for it, then the gate.
        for g in std::mem::take(&mut relay.guests) {
            if let Ok(p) = host::address_del(dev, g, &lan_routes()) {
                let _ = self.applier.apply(&p);
            }
        }
        if existing.is_some() {
            self.applier.rollback(&up_plan);
        }
        drop(tap);
        result.map(|()| 0)
    }

    /// `slip up <gate>` with the pty slave on stdin.
    fn slip_up(&mut self, gate: Ipv4Addr) -> Result<i32, Refusal> {
        check_special(gate, "gate address")?;
        if self.applier.dry_run() {
            self.applier.note(&format!(
                "* (N_SLIP on stdin, or a user-space bridge to TUN device {SLIP_TUN_PATTERN})"
            ));
            self.applier.apply(&host::slip_up("sl0", gate)?)?;
            reply_text(&self.applier.take_transcript())?;
            return Ok(0);
        }
        let line = io::stdin().as_fd().try_clone_to_owned()?;
        if !pty::is_tty(line.as_fd()) {
            refuse!("uml_net : slip up needs the SLIP tty on stdin, and stdin is not a terminal");
        }
        if fdpass::fd_kind(1) != FdKind::Unix(SockType::Stream) {
            refuse!(
                "uml_net : slip answers on fd 1, which must be the kernel's unix stream socket"
            );
        }
        match pty::set_slip(line.as_fd()) {
            Ok(name) => {
                self.restrict()?;
                self.applier.apply(&host::slip_up(&name, gate)?)?;
                write_fd1(&block(&self.applier.take_transcript()))?;
                Ok(0)
            }
            Err(e) => self.slip_up_userspace(gate, line, e),
        }
    }

    fn slip_up_userspace(
        &mut self,
        gate: Ipv4Addr,
        line: OwnedFd,
        why: io::Error,
    ) -> Result<i32, Refusal> {
        let tun = Tap::open_device(Path::new(TUN_CLONE), SLIP_TUN_PATTERN, TunMode::Tun, true)
            .map_err(|e| Refusal(format!("uml_net : creating a TUN device failed: {e}")))?;
        tun.set_owner(self.caller.uid)?;
        self.restrict()?;
        let name = tun.name().to_string();
        self.applier.note(&format!(
            "no SLIP line discipline on this host ({why}): bridging the line in user space to {name}"
        ));
        self.applier.apply(&host::slip_up(&name, gate)?)?;
        self.applier
            .note(&format!("use interface {name} for this line"));
        write_fd1(&block(&self.applier.take_transcript()))?;
        // The kernel waits for this process; the bridge lives on in a child that holds
        // only the line and the TUN device.
        // SAFETY: the helper never starts a thread: it is single-threaded here.
        #[allow(unsafe_code)]
        let forked = unsafe { crate::sys::detach::fork_detached() };
        match forked? {
            Some(_child) => Ok(0),
            None => {
                let _ = privilege::drop_all(&self.caller);
                // SAFETY: the child keeps the line and the TUN device; the owners of
                // everything else it inherited (the applier's netlink socket) are never
                // used again: it leaves with `std::process::exit` below, which runs
                // no destructors.
                #[allow(unsafe_code)]
                let closed = unsafe {
                    crate::sys::detach::close_other_fds(&[line.as_raw_fd(), tun.as_raw_fd()])
                };
                closed?;
                let input = File::from(line);
                let output = input.try_clone()?;
                let code = i32::from(crate::slipbridge::run(&input, &output, &tun).is_err());
                // Exit here: the parent's owners (its netlink socket) were closed above
                // and must not be closed again by their destructors.
                std::process::exit(code)
            }
        }
    }

    /// `slip down <name>` with the pty slave on stdin.
    fn slip_down(&mut self, _name: &str) -> Result<i32, Refusal> {
        let line = io::stdin().as_fd().try_clone_to_owned()?;
        match pty::if_name(line.as_fd()) {
            Ok(dev) if !self.applier.dry_run() => {
                self.restrict()?;
                self.applier.apply(&host::device_down(&dev)?)?;
            }
            Ok(dev) => self.applier.apply(&host::device_down(&dev)?)?,
            Err(_) => self.applier.note(
                "no SLIP interface on this line: a user-space bridge ends by itself when the line closes",
            ),
        }
        reply_text(&self.applier.take_transcript())?;
        Ok(0)
    }
}

/// The ethertap relay: TAP ↔ data socket, address messages on the control socket.
struct Relay<'a> {
    tap: &'a Tap,
    data: OwnedFd,
    control: File,
    msg_len: usize,
    dev: &'a str,
    guests: Vec<GuestAddr>,
}

const TAP: u64 = 0;
const DATA: u64 = 1;
const CONTROL: u64 = 2;

impl Relay<'_> {
    fn run(&mut self, helper: &mut Helper) -> Result<(), Refusal> {
        use nix::sys::socket::{MsgFlags, recv, send};
        let mut poller = Poller::new(8)?;
        poller.add(self.tap.as_raw_fd(), TAP)?;
        poller.add(self.data.as_raw_fd(), DATA)?;
        poller.add(self.control.as_raw_fd(), CONTROL)?;
        let mut frame = vec![0u8; 65536];
        let mut out = vec![0u8; 65536 + ETHERTAP_PREFIX_LEN];
        loop {
            let ready: Vec<_> = poller.wait(None)?.collect();
            for r in ready {
                match r.token {
                    TAP => {
                        while let Some(n) = self.tap.recv(&mut frame)? {
                            let m = prefix_ethertap(&frame[..n], &mut out)?;
                            match send(self.data.as_raw_fd(), &out[..m], MsgFlags::MSG_DONTWAIT) {
                                Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                                // The kernel's end is gone.
                                Err(_) => return Ok(()),
                            }
                        }
                    }
                    DATA => loop {
                        match recv(self.data.as_raw_fd(), &mut out, MsgFlags::MSG_DONTWAIT) {
                            Ok(0) => return Ok(()),
                            Ok(n) => {
                                if let Ok(f) = strip_ethertap(&out[..n]) {
                                    let _ = self.tap.send(f);
                                }
                            }
                            Err(nix::errno::Errno::EAGAIN) => break,
                            Err(nix::errno::Errno::EINTR) => {}
                            Err(_) => return Ok(()),
                        }
                    },
                    _ => {
                        if !self.control_message(helper)? {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// Handles one address message; false at EOF.
    fn control_message(&mut self, helper: &mut Helper) -> Result<bool, Refusal> {
        let mut msg = [0u8; ADDR_CHANGE_LEN];
        let mut got = 0;
        while got < self.msg_len {
            match self.control.read(&mut msg[got..self.msg_len]) {
                Ok(0) => return Ok(false),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Ok(false),
            }
        }
        let repr = if self.msg_len == ADDR_CHANGE_LEN {
            AddrChangeRepr::parse(&AddrChange::new_checked(&msg[..])?)
        } else {
            AddrChangeRepr::parse_v3(&msg[..ADDR_CHANGE_V3_LEN])?
        };
        let guest = GuestAddr {
            ip: repr.addr,
            netmask: (!repr.netmask.is_unspecified()).then_some(repr.netmask),
        };
        let text = match repr.op {
            ChangeOp::Add => {
                let r = check_new_guest(self.dev, guest.ip).and_then(|()| {
                    let plan = host::address_add(self.dev, guest, &lan_routes())?;
                    helper.applier.apply(&plan)?;
                    Ok(())
                });
                match r {
                    Ok(()) => {
                        if !self.guests.contains(&guest) {
                            self.guests.push(guest);
                        }
                        helper.applier.take_transcript()
                    }
                    Err(Refusal(l)) => helper.applier.take_transcript() + &l + "\n",
                }
            }
            ChangeOp::Del => {
                self.guests.retain(|g| g.ip != guest.ip);
                let r: Result<(), Refusal> = (|| {
                    let plan = host::address_del(self.dev, guest, &lan_routes())?;
                    helper.applier.apply(&plan)?;
                    Ok(())
                })();
                match r {
                    Ok(()) => helper.applier.take_transcript(),
                    Err(Refusal(l)) => helper.applier.take_transcript() + &l + "\n",
                }
            }
            ChangeOp::Unknown(n) => format!("uml_net : unknown address message {n}, ignored\n"),
        };
        self.control.write_all(&block(&text))?;
        Ok(true)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn refusals_go_where_the_kernel_reads_them() {
        assert_eq!(
            channel_for(&os(&["4", "tuntap", "up", "x"])),
            Channel::TuntapDatagram
        );
        assert_eq!(channel_for(&os(&["tuntap", "up"])), Channel::TuntapDatagram);
        assert_eq!(channel_for(&os(&["4", "tuntap", "add"])), Channel::Block);
        assert_eq!(
            channel_for(&os(&["4", "ethertap", "tap0"])),
            Channel::EthertapStatus
        );
        assert_eq!(channel_for(&os(&["4", "add", "tap0"])), Channel::Block);
        assert_eq!(channel_for(&os(&["4", "slip", "up"])), Channel::Block);
        assert_eq!(channel_for(&os(&[])), Channel::Block);
    }

    #[test]
    fn blocks_count_the_nul_and_hold_the_text() {
        let b = block("* ip link set dev tap0 up\n");
        let parsed = umlnet_core::helper::parse_output_block(&b).unwrap();
        assert_eq!(parsed.text, b"* ip link set dev tap0 up\n");
        assert_eq!(parsed.len, b.len());
        assert_eq!(&b[..4], &27u32.to_ne_bytes());
        assert_eq!(block(""), vec![0, 0, 0, 0]);
    }

    #[test]
    fn special_addresses_are_refused() {
        for ip in [
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "127.0.0.1",
            "127.1.2.3",
        ] {
            let ip: Ipv4Addr = ip.parse().unwrap();
            let e = check_special(ip, "guest address").unwrap_err().0;
            assert_eq!(
                e,
                format!("uml_net : refusing guest address {ip}: not a unicast host address")
            );
        }
        assert!(check_special(Ipv4Addr::new(10, 0, 0, 2), "guest address").is_ok());
    }
}
