//! `ethertap <dev> <data-fd> [<gate>]`: the ethertap device emulated on a TAP device,
//! with a relay between the TAP and the kernel's data socket ([`Relay`]).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::SockType;
use umlnet_core::ethernet::{ETHERTAP_PREFIX_LEN, prefix_ethertap, strip_ethertap};
use umlnet_core::helper::{
    ADDR_CHANGE_LEN, ADDR_CHANGE_V3_LEN, AddrChange, AddrChangeRepr, ChangeOp,
};
use umlnet_core::host::{self, GuestAddr, Plan};
use umlnet_core::policy::{Ask, Op};

use crate::hostapply::TUN_CLONE;
use crate::sys::epoll::Poller;
use crate::sys::fdpass::{self, FdKind};
use crate::sys::netlink::Rtnl;
use crate::sys::privilege;
use crate::sys::tun::{Tap, TunMode};

use super::reply::{block, reply_text};
use super::{Helper, Refusal};

impl Helper {
    /// `ethertap <dev> <data-fd> [<gate>]`: emulation on a TAP device.
    pub(super) fn ethertap(
        &mut self,
        dev: &str,
        data_fd: u16,
        gate: Option<Ipv4Addr>,
        version: u32,
    ) -> Result<i32, Refusal> {
        if let Some(g) = gate {
            self.check_gate(Some(dev), g)?;
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
        let (tap, index) = match &existing {
            Some(info) => {
                if !info.is_tap() {
                    refuse!("uml_net : '{dev}' exists and is not a TAP device; refusing to use it");
                }
                let checked = self.check_owned(dev)?;
                let tap = Tap::open_device(Path::new(TUN_CLONE), dev, TunMode::Tap, true).map_err(
                    |e| Refusal(format!("uml_net : opening TAP device '{dev}' failed: {e}")),
                )?;
                // The name may have changed hands between the check and the attach:
                // the device attached to must be the one checked.
                let now = self.check_owned(dev)?;
                if now.index != checked.index {
                    refuse!(
                        "uml_net : '{dev}' was replaced by another device while it was being opened; refusing"
                    );
                }
                (tap, checked.index)
            }
            None => self.new_device(
                || Tap::create_exclusive(Path::new(TUN_CLONE), dev, TunMode::Tap, true),
                &format!("TAP device '{dev}'"),
            )?,
        };
        self.applier.pin(dev, index);
        let data = fdpass::dup_inherited(i32::from(data_fd))?;
        let control = io::stdout().as_fd().try_clone_to_owned()?;
        // The kernel's leaked descriptors (its ends of other lines) must not be held
        // for as long as the relay runs.
        let mut keep = vec![tap.as_raw_fd(), data.as_raw_fd(), control.as_raw_fd()];
        if let Some(l) = &self.ledger {
            keep.extend(l.raw_fds());
        }
        // SAFETY: the descriptors this process owns at this point are the ones kept
        // here (TAP, data, control, the ledger's two) and 0, 1, 2: the netlink sockets
        // used above were temporaries, and the applier opens its own lazily, after
        // this (nothing has been applied yet on this path). Everything else is leaked
        // from the kernel and owned by nobody.
        #[allow(unsafe_code)]
        let closed = unsafe { crate::sys::detach::close_other_fds(&keep) };
        closed?;
        self.restrict()?;
        let mut up_plan = Plan::new();
        if let Some(g) = gate {
            up_plan = self.forward_as_granted(host::ethertap_up(dev, g)?);
            self.applier.apply(&up_plan)?;
        }
        if existing.is_none() {
            self.applier.note(&format!(
                "ethertap emulated on TAP device {dev} (this host has no ethertap driver)"
            ));
        }
        // The frames are relayed by a child that holds no privilege at all (it reads
        // what the guest and the LAN send); this process keeps only CAP_NET_ADMIN, for
        // the address messages, and watches the child through a pipe (EOF when it
        // ends). A child that cannot drop its privileges is a refusal.
        let (ready_r, ready_w) = nix::unistd::pipe()?;
        // SAFETY: the helper never starts a thread: it is single-threaded here.
        #[allow(unsafe_code)]
        let forked = unsafe { crate::sys::detach::fork_detached() };
        let Some(child) = forked? else {
            drop(ready_r);
            drop(control);
            let code = match privilege::drop_all(&self.caller).and_then(|()| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(Into::into)
            }) {
                Ok(()) if nix::unistd::getppid().as_raw() != 1 => {
                    let _ = nix::unistd::write(&ready_w, &[1]);
                    i32::from(relay_frames(&tap, &data).is_err())
                }
                _ => 1,
            };
            // Leave without destructors: the parent's owners (its netlink socket, the
            // ledger) are the parent's to close.
            std::process::exit(code)
        };
        drop(ready_w);
        drop(data);
        let mut ready = [0u8; 1];
        if !matches!(nix::unistd::read(&ready_r, &mut ready), Ok(1)) {
            if existing.is_some() {
                self.applier.rollback(&up_plan);
            }
            refuse!("uml_net : the ethertap frame relay could not drop its privileges; refusing");
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
        let mut monitor = Monitor {
            control,
            msg_len,
            dev,
            index,
            guests: Vec::new(),
        };
        let result = monitor.run(self, &ready_r);
        let pid = nix::unistd::Pid::from_raw(child as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = nix::sys::wait::waitpid(pid, None);
        // The guest has gone: withdraw what is still set up for it, then the gate.
        for g in std::mem::take(&mut monitor.guests) {
            let _ = self.guest_del(dev, index, g);
        }
        if existing.is_some() {
            self.applier.rollback(&up_plan);
        }
        drop(tap);
        result.map(|()| 0)
    }
}

/// Relays frames between the TAP and the kernel's data socket (with the ethertap
/// prefix) until the data socket closes.
fn relay_frames(tap: &Tap, data: &OwnedFd) -> Result<(), Refusal> {
    use nix::sys::socket::{MsgFlags, recv, send};
    let mut poller = Poller::new(8)?;
    poller.add(tap.as_raw_fd(), TAP)?;
    poller.add(data.as_raw_fd(), DATA)?;
    let mut frame = vec![0u8; 65536];
    let mut out = vec![0u8; 65536 + ETHERTAP_PREFIX_LEN];
    loop {
        let ready: Vec<_> = poller.wait(None)?.collect();
        for r in ready {
            match r.token {
                TAP => {
                    while let Some(n) = tap.recv(&mut frame)? {
                        let m = prefix_ethertap(&frame[..n], &mut out)?;
                        match send(data.as_raw_fd(), &out[..m], MsgFlags::MSG_DONTWAIT) {
                            Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                            // The kernel's end is gone.
                            Err(_) => return Ok(()),
                        }
                    }
                }
                _ => loop {
                    match recv(data.as_raw_fd(), &mut out, MsgFlags::MSG_DONTWAIT) {
                        Ok(0) => return Ok(()),
                        Ok(n) => {
                            if let Ok(f) = strip_ethertap(&out[..n]) {
                                let _ = tap.send(f);
                            }
                        }
                        Err(nix::errno::Errno::EAGAIN) => break,
                        Err(nix::errno::Errno::EINTR) => {}
                        Err(_) => return Ok(()),
                    }
                },
            }
        }
    }
}

/// The privileged half of the ethertap relay: address messages on the control socket.
pub(super) struct Monitor<'a> {
    pub(super) control: File,
    pub(super) msg_len: usize,
    pub(super) dev: &'a str,
    pub(super) index: u32,
    pub(super) guests: Vec<GuestAddr>,
}

pub(super) const TAP: u64 = 0;
pub(super) const DATA: u64 = 1;
pub(super) const CONTROL: u64 = 2;
pub(super) const CHILD: u64 = 3;

impl Monitor<'_> {
    /// Handles address messages until the control socket closes or the frame relay
    /// (whose end of `child` closes when it exits) ends.
    fn run(&mut self, helper: &mut Helper, child: &OwnedFd) -> Result<(), Refusal> {
        let mut poller = Poller::new(4)?;
        poller.add(self.control.as_raw_fd(), CONTROL)?;
        poller.add(child.as_raw_fd(), CHILD)?;
        loop {
            let ready: Vec<_> = poller.wait(None)?.collect();
            for r in ready {
                if r.token == CHILD || !self.control_message(helper)? {
                    return Ok(());
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
                let r = helper
                    .keeper
                    .need(&Ask::Op(Op::Address))
                    .and_then(|()| helper.guest_add(self.dev, self.index, guest));
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
                let r = helper
                    .keeper
                    .need(&Ask::Op(Op::Address))
                    .and_then(|()| helper.guest_del(self.dev, self.index, guest));
                match r {
                    Ok(()) => {
                        self.guests.retain(|g| g.ip != guest.ip);
                        helper.applier.take_transcript()
                    }
                    Err(Refusal(l)) => helper.applier.take_transcript() + &l + "\n",
                }
            }
            ChangeOp::Unknown(n) => format!("uml_net : unknown address message {n}, ignored\n"),
        };
        self.control.write_all(&block(&text))?;
        Ok(true)
    }
}
