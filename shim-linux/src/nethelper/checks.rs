//! The helper's refusals before anything changes: special and taken guest addresses,
//! devices the caller does not own, and dropping privileges.

use std::net::Ipv4Addr;

use crate::sys::netlink::{LinkInfo, Rtnl};
use crate::sys::privilege;
use crate::sys::sysctl;

use super::{Helper, Refusal};

/// Refuses host addresses that cannot be a gate or a guest: unspecified, broadcast,
/// multicast, loopback.
pub(super) fn check_special(ip: Ipv4Addr, what: &str) -> Result<(), Refusal> {
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        refuse!("uml_net : refusing {what} {ip}: not a unicast host address");
    }
    Ok(())
}

/// Refuses a new guest address that is special ([`check_special`]), an address of the
/// host, or one that another machine already uses: a gateway of one of the
/// host's routes, or a neighbour the host has a hardware address for on another
/// device. A host route and published ARP entry for it would take that machine's
/// traffic (the UML networking page's "nasty UML user" taking the nameserver's address).
pub(super) fn check_new_guest(dev: &str, ip: Ipv4Addr) -> Result<(), Refusal> {
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

impl Helper {
    /// Checks that `dev` is a device the caller may have the helper change: root may
    /// name any; anyone else only a TUN/TAP device they own (owner uid) or whose group
    /// they are in.
    pub(super) fn check_owned(&self, dev: &str) -> Result<LinkInfo, Refusal> {
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

    pub(super) fn restrict(&self) -> Result<(), Refusal> {
        privilege::keep_only_net_admin(&self.caller)
            .map_err(|e| Refusal(format!("uml_net : could not drop privileges: {e}")))
    }
}
