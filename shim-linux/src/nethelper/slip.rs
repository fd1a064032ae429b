//! `slip up <gate>` and `slip down <name>`: the `N_SLIP` line discipline where the host
//! has it, else a user-space bridge from the pty to a TUN device.

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::SockType;
use umlnet_core::host;

use crate::hostapply::TUN_CLONE;
use crate::sys::fdpass::{self, FdKind};
use crate::sys::netlink::Rtnl;
use crate::sys::privilege;
use crate::sys::pty;
use crate::sys::tun::{Tap, TunMode};

use super::reply::{block, reply_text, write_fd1};
use super::{Helper, Refusal, SLIP_TUN_PATTERN};

impl Helper {
    /// `slip up <gate>` with the pty slave on stdin.
    pub(super) fn slip_up(&mut self, gate: Ipv4Addr) -> Result<i32, Refusal> {
        self.check_gate(None, gate)?;
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
                // The line discipline named the device: look it up once, act on the index.
                let index = Rtnl::index(&name)
                    .map_err(|e| Refusal(format!("uml_net : no SLIP device '{name}': {e}")))?;
                self.applier.pin(&name, index);
                self.restrict()?;
                let plan = self.forward_as_granted(host::slip_up(&name, gate)?);
                self.applier.apply(&plan)?;
                write_fd1(&block(&self.applier.take_transcript()))?;
                Ok(0)
            }
            Err(e) => self.slip_up_userspace(gate, line, e),
        }
    }

    pub(super) fn slip_up_userspace(
        &mut self,
        gate: Ipv4Addr,
        line: OwnedFd,
        why: io::Error,
    ) -> Result<i32, Refusal> {
        let (tun, _index) = self.new_device(
            || Tap::create_exclusive(Path::new(TUN_CLONE), SLIP_TUN_PATTERN, TunMode::Tun, true),
            "a TUN device",
        )?;
        self.restrict()?;
        let name = tun.name().to_string();
        self.applier.note(&format!(
            "no SLIP line discipline on this host ({why}): bridging the line in user space to {name}"
        ));
        let plan = self.forward_as_granted(host::slip_up(&name, gate)?);
        self.applier.apply(&plan)?;
        self.applier
            .note(&format!("use interface {name} for this line"));
        // The bridge needs no privilege at all: drop everything before answering, and
        // refuse (the TUN device goes with this process) if that fails.
        privilege::drop_all(&self.caller)
            .map_err(|e| Refusal(format!("uml_net : could not drop privileges: {e}")))?;
        write_fd1(&block(&self.applier.take_transcript()))?;
        // The kernel waits for this process; the bridge lives on in a child that holds
        // only the line and the TUN device.
        // SAFETY: the helper never starts a thread: it is single-threaded here.
        #[allow(unsafe_code)]
        let forked = unsafe { crate::sys::detach::fork_detached() };
        match forked? {
            Some(_child) => Ok(0),
            None => {
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
    pub(super) fn slip_down(&mut self, _name: &str) -> Result<i32, Refusal> {
        let line = io::stdin().as_fd().try_clone_to_owned()?;
        match pty::if_name(line.as_fd()) {
            Ok(dev) if !self.applier.dry_run() => {
                let index = Rtnl::index(&dev)
                    .map_err(|e| Refusal(format!("uml_net : no SLIP device '{dev}': {e}")))?;
                self.applier.pin(&dev, index);
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
