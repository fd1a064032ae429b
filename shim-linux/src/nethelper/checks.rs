//! The helper's refusals before anything changes: special and taken guest addresses,
//! devices the caller does not own, and dropping privileges.

use std::net::Ipv4Addr;

use umlnet_core::policy::Ask;

use crate::sys::netlink::{LinkInfo, Rtnl};
use crate::sys::privilege;

use super::{Helper, Refusal};

/// Refuses host addresses that cannot be a gate or a guest: unspecified, broadcast,
/// multicast, loopback.
pub(super) fn check_special(ip: Ipv4Addr, what: &str) -> Result<(), Refusal> {
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        refuse!("uml_net : refusing {what} {ip}: not a unicast host address");
    }
    Ok(())
}

/// Refuses a new guest address that is special ([`check_special`]), or already used
/// ([`check_free`]). A host route and published ARP entry for it would take that
/// machine's traffic (the UML networking page's "nasty UML user" taking the
/// nameserver's address).
pub(super) fn check_new_guest(dev: &str, ip: Ipv4Addr) -> Result<(), Refusal> {
    check_special(ip, "guest address")?;
    check_free(Some(dev), ip, "guest address", &[])
}

/// Refuses an address that the host or another machine already uses, other than on
/// `dev`: an address of the host, the gateway of one of the host's routes, a host route
/// (/32) to another device, or a neighbour the host has a hardware address for on
/// another device. An address of the host counts as used unless it is on one of the
/// devices `local_ok_on` (a gate the caller's own devices already have).
pub(super) fn check_free(
    dev: Option<&str>,
    ip: Ipv4Addr,
    what: &str,
    local_ok_on: &[u32],
) -> Result<(), Refusal> {
    let own = dev.and_then(|d| Rtnl::index(d).ok());
    let local = Rtnl::open()
        .and_then(|mut nl| nl.addresses(None))
        .unwrap_or_default();
    if local
        .iter()
        .any(|a| a.local == ip && !local_ok_on.contains(&a.index))
    {
        refuse!("uml_net : refusing {what} {ip}: it is an address of this host");
    }
    // Every table, through netlink: a route's gateway, or a host route to another
    // device.
    let routes = Rtnl::open()
        .and_then(|mut nl| nl.unicast_routes())
        .unwrap_or_default();
    let name_of = |index: Option<u32>| {
        index
            .and_then(|i| nix::net::if_::if_indextoname(i).ok())
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_else(|| "no device".into())
    };
    if let Some(r) = routes.iter().find(|r| r.gateway == Some(ip)) {
        refuse!(
            "uml_net : refusing {what} {ip}: it is the gateway of a route on {}",
            name_of(r.oif)
        );
    }
    if let Some(r) = routes
        .iter()
        .find(|r| r.dst == ip && r.dst_len == 32 && (own.is_none() || r.oif != own))
    {
        refuse!(
            "uml_net : refusing {what} {ip}: the host already routes it to {}",
            name_of(r.oif)
        );
    }
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
        refuse!("uml_net : refusing {what} {ip}: a machine on {name} already uses it");
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

    /// Checks a gate (host-side) address: never special; for a caller the policy
    /// restricts, granted by a `gate` rule and not used elsewhere ([`check_free`]).
    pub(super) fn check_gate(&self, dev: Option<&str>, gate: Ipv4Addr) -> Result<(), Refusal> {
        check_special(gate, "gate address")?;
        if self.keeper.unrestricted() || self.applier.dry_run() {
            return Ok(());
        }
        self.keeper.need(&Ask::Gate(gate))?;
        // The same gate on several of the caller's own devices is fine (the UML
        // networking page gives every TAP the same one).
        let mut own: Vec<u32> = self
            .ledger
            .as_ref()
            .map(|l| l.live_devices_of(self.caller.uid))
            .unwrap_or_default();
        own.extend(dev.and_then(|d| Rtnl::index(d).ok()));
        check_free(dev, gate, "gate address", &own)
    }

    pub(super) fn restrict(&self) -> Result<(), Refusal> {
        privilege::keep_only_net_admin(&self.caller)
            .map_err(|e| Refusal(format!("uml_net : could not drop privileges: {e}")))
    }
}
