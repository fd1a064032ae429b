//! `tuntap up [<gate>]` and `add|del <dev> <ip> <netmask>`: the TAP device, its host
//! side, and the host route, proxy ARP and published ARP entries of a guest.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use nix::sys::socket::SockType;
use umlnet_core::helper::{AddrOp, TuntapUpReply, parse_if_name};
use umlnet_core::host::{self, GuestAddr, LanRoute};

use crate::hostapply::TUN_CLONE;
use crate::sys::fdpass::{self, FdKind};
use crate::sys::privilege;
use crate::sys::sysctl;
use crate::sys::tun::{Tap, TunMode};

use super::checks::check_special;
use super::reply::reply_text;
use super::{Helper, Refusal};

/// The host's routes as LAN routes for the planner (interfaces with names the planner
/// does not accept are left out).
pub(super) fn lan_routes() -> Vec<LanRoute> {
    sysctl::routes()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| LanRoute::new(&r.iface, r.dest, r.mask).ok())
        .collect()
}

impl Helper {
    /// `tuntap up [<gate>]`.
    pub(super) fn tuntap_up(&mut self, gate: Option<Ipv4Addr>) -> Result<i32, Refusal> {
        if let Some(g) = gate {
            self.check_gate(None, g)?;
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
        let (tap, _index) = self.new_device(
            || Tap::create_exclusive(Path::new(TUN_CLONE), "", TunMode::Tap, false),
            "a TAP device",
        )?;
        self.restrict()?;
        let name = tap.name().to_string();
        match gate {
            Some(g) => {
                let plan = self.forward_as_granted(host::tuntap_up(&name, g)?);
                self.applier.apply(&plan)?
            }
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
        privilege::drop_all(&self.caller)
            .map_err(|e| Refusal(format!("uml_net : could not drop privileges: {e}")))?;
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
    pub(super) fn address(
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

    pub(super) fn address_text(
        &mut self,
        op: AddrOp,
        dev: &str,
        ip: Ipv4Addr,
        netmask: Ipv4Addr,
    ) -> Result<String, Refusal> {
        check_special(ip, "guest address")?;
        let guest = GuestAddr {
            ip,
            netmask: Some(netmask),
        };
        if self.applier.dry_run() {
            let routes = lan_routes();
            let plan = match op {
                AddrOp::Add => host::address_add(dev, guest, &routes)?,
                AddrOp::Del => host::address_del(dev, guest, &routes)?,
            };
            self.applier.apply(&plan)?;
            return Ok(self.applier.take_transcript());
        }
        let info = self.check_owned(dev)?;
        self.applier.pin(dev, info.index);
        self.restrict()?;
        match op {
            AddrOp::Add => self.guest_add(dev, info.index, guest)?,
            AddrOp::Del => self.guest_del(dev, info.index, guest)?,
        }
        Ok(self.applier.take_transcript())
    }
}
