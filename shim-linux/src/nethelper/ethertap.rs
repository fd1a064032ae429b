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

use crate::hostapply::TUN_CLONE;
use crate::sys::epoll::Poller;
use crate::sys::fdpass::{self, FdKind};
use crate::sys::netlink::Rtnl;
use crate::sys::tun::{Tap, TunMode};

use super::checks::{check_new_guest, check_special};
use super::reply::{block, reply_text};
use super::tuntap::lan_routes;
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
}

/// The ethertap relay: TAP ↔ data socket, address messages on the control socket.
pub(super) struct Relay<'a> {
    pub(super) tap: &'a Tap,
    pub(super) data: OwnedFd,
    pub(super) control: File,
    pub(super) msg_len: usize,
    pub(super) dev: &'a str,
    pub(super) guests: Vec<GuestAddr>,
}

pub(super) const TAP: u64 = 0;
pub(super) const DATA: u64 = 1;
pub(super) const CONTROL: u64 = 2;

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
