//! The host's interfaces ([`HostIface`]: TAPs, SLIP lines, LAN cards) and their
//! life: adding, naming, attaching to a wire, detaching and removing.

use super::{HostError, HostKernel};
use crate::net::{SimLink, random_mac};
use core::net::Ipv4Addr;
use std::format;
use std::string::String;
use std::vec::Vec;
use umlnet_core::link::Medium;
use umlnet_core::mac::MacAddr;

/// The kind of a host interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfKind {
    /// A TAP device (tuntap, or the tap that emulates ethertap).
    Tap,
    /// A SLIP line (`sl<n>`): IP packets, no ARP.
    Slip,
    /// A LAN card.
    Ethernet,
}

/// An address of a host interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostAddr {
    /// The local address.
    pub addr: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// The far end of a point-to-point link.
    pub peer: Option<Ipv4Addr>,
}

/// One interface of the host.
#[derive(Debug)]
pub struct HostIface {
    /// `tap0`, `sl0`, `eth0`.
    pub name: String,
    /// What it is.
    pub kind: IfKind,
    /// Its hardware address (unused on SLIP).
    pub mac: MacAddr,
    /// Its IPv4 addresses, in the order added.
    pub addrs: Vec<HostAddr>,
    /// Administratively up.
    pub up: bool,
    /// MTU.
    pub mtu: u16,
    /// `net.ipv4.conf.<dev>.proxy_arp`.
    pub proxy_arp: bool,
    /// Persistent (made by `tunctl` / `ip tuntap add`) rather than by the guest opening
    /// `/dev/net/tun`.
    pub persistent: bool,
    pub(super) link: Option<SimLink>,
}

impl HostIface {
    pub(super) fn medium(&self) -> Medium {
        match self.kind {
            IfKind::Slip => Medium::Ip,
            _ => Medium::Ethernet,
        }
    }
}

impl HostKernel {
    /// Adds an interface (a LAN card, a SLIP line, a TAP the guest opened), down and
    /// without addresses. A TAP or LAN card gets a random locally administered MAC
    /// unless `mac` is given.
    pub fn add_interface(
        &mut self,
        name: &str,
        kind: IfKind,
        mac: Option<MacAddr>,
    ) -> Result<(), HostError> {
        if self.interface(name).is_some() {
            return Err(HostError::Exists);
        }
        let mac = mac.unwrap_or_else(|| random_mac(&mut self.rng));
        self.ifaces.push(HostIface {
            name: name.into(),
            kind,
            mac,
            addrs: Vec::new(),
            up: false,
            mtu: 1500,
            proxy_arp: false,
            persistent: false,
            link: None,
        });
        Ok(())
    }

    /// The first free `<prefix><n>` name (`tap0`, `sl0`), as the kernel picks it.
    pub fn free_name(&self, prefix: &str) -> String {
        (0..)
            .map(|n| format!("{prefix}{n}"))
            .find(|n| self.interface(n).is_none())
            .unwrap_or_default()
    }

    /// Connects interface `name` to a wire (the guest opened the tap, the helper
    /// attached the line). A TAP already attached is busy.
    pub fn attach(&mut self, name: &str, link: SimLink) -> Result<(), HostError> {
        let i = self.index(name)?;
        let iface = &mut self.ifaces[i];
        if iface.link.is_some() {
            return Err(HostError::Busy(name.into()));
        }
        iface.link = Some(link);
        Ok(())
    }

    /// Disconnects interface `name` from its wire and gives the link back; a TAP that
    /// is not persistent disappears with it (as when the guest closes its fd).
    pub fn detach(&mut self, name: &str) -> Option<SimLink> {
        let i = self.index(name).ok()?;
        let link = self.ifaces[i].link.take();
        if self.ifaces[i].kind == IfKind::Tap && !self.ifaces[i].persistent {
            self.remove_interface(i);
        }
        link
    }

    pub(super) fn remove_interface(&mut self, i: usize) {
        let name = self.ifaces[i].name.clone();
        self.ifaces.remove(i);
        self.routes.retain(|r| r.dev != name);
        self.neigh.retain(|(d, _), _| *d != name);
        self.published.retain(|(_, d)| *d != name);
    }
}
