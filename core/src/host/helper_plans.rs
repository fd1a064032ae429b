//! The plans of the `uml_net` helper's commands (tuntap, ethertap and slip up, device down,
//! address add and delete), and the LAN devices a guest's ARP entry is published on
//! ([`lan_devices`]).

use core::net::Ipv4Addr;

use crate::cmdline::IfName;

use super::device_plan::{push_guest, push_host_addr};
use super::{ETHERTAP_HELPER_MTU, HostAction, Plan, PlanError, SLIP_HELPER_MTU, if_name};

/// One IPv4 route of the host, as a line of `/proc/net/route` gives it: the interface,
/// the destination and the route's mask. The `uml_net` helper reads these to find the
/// LAN devices on which to publish a guest's ARP entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LanRoute {
    /// The interface (`Iface`).
    pub iface: IfName,
    /// The destination (`Destination`).
    pub dest: Ipv4Addr,
    /// The route's mask (`Mask`).
    pub mask: Ipv4Addr,
}

impl LanRoute {
    /// A route, checking the interface name.
    pub fn new(iface: &str, dest: Ipv4Addr, mask: Ipv4Addr) -> Result<LanRoute, PlanError> {
        Ok(LanRoute {
            iface: if_name(iface)?,
            dest,
            mask,
        })
    }
}

/// An IPv4 address of the guest, with the netmask the guest gave it if known (the
/// kernel passes it to the helper as `add <dev> <ip> <netmask>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GuestAddr {
    /// The address.
    pub ip: Ipv4Addr,
    /// The guest's netmask for it, if known.
    pub netmask: Option<Ipv4Addr>,
}

/// The LAN devices on which to publish the guest's ARP entry: the interfaces (each
/// once, in route order, never `skip`, the guest's own host device) of the routes that
/// match the guest address.
///
/// With the guest's netmask known, a route matches as in the helper (docs/protocols.md §2.4):
/// `(ip & netmask) == (dest & netmask)`. Without it, a route matches when its own
/// network contains the guest, `(ip & mask) == (dest & mask)` with the route's mask,
/// default routes (mask 0) excepted. Where nothing matches, the answer is empty: unlike
/// the original helper, no `eth0` is assumed.
pub fn lan_devices<'r>(
    guest: GuestAddr,
    skip: &'r str,
    routes: &'r [LanRoute],
) -> impl Iterator<Item = &'r IfName> + 'r {
    let matches = move |r: &LanRoute| {
        if r.iface.as_str() == skip {
            return false;
        }
        let ip = guest.ip.to_bits();
        let dest = r.dest.to_bits();
        match guest.netmask {
            Some(m) => {
                let m = m.to_bits();
                ip & m == dest & m
            }
            None => {
                let m = r.mask.to_bits();
                m != 0 && ip & m == dest & m
            }
        }
    };
    routes.iter().enumerate().filter_map(move |(i, r)| {
        let first = !routes[..i].iter().any(|p| p.iface == r.iface && matches(p));
        (matches(r) && first).then_some(&r.iface)
    })
}

/// What the helper does for `uml_net 4 tuntap up <gate>` once the kernel has made the
/// tap `dev` (docs/protocols.md §2.3): `ifconfig <dev> <gate> netmask 255.255.255.255 up`, then
/// `ip_forward`.
pub fn tuntap_up(dev: &str, gate: Ipv4Addr) -> Result<Plan, PlanError> {
    let dev = if_name(dev)?;
    let mut plan = Plan::new();
    push_host_addr(&mut plan, &dev, gate, None)?;
    plan.push(HostAction::LinkUp { dev })?;
    plan.push(HostAction::IpForward)?;
    Ok(plan)
}

/// What the helper does for `uml_net 4 ethertap <dev> <fd> <gate>` (docs/protocols.md §2.5):
/// `ifconfig <dev> arp mtu 1500 <gate> netmask 255.255.255.255 up`, then `ip_forward`.
pub fn ethertap_up(dev: &str, gate: Ipv4Addr) -> Result<Plan, PlanError> {
    let dev = if_name(dev)?;
    let mut plan = Plan::new();
    plan.push(HostAction::SetMtu {
        dev: dev.clone(),
        mtu: ETHERTAP_HELPER_MTU,
    })?;
    push_host_addr(&mut plan, &dev, gate, None)?;
    plan.push(HostAction::LinkUp { dev })?;
    plan.push(HostAction::IpForward)?;
    Ok(plan)
}

/// What the helper does for `uml_net 4 slip up <gate>` on the SLIP device `dev`
/// (docs/protocols.md §2.6): `ifconfig sl<n> <gate> mtu 1500 up` (here with a /32), then
/// `ip_forward`.
pub fn slip_up(dev: &str, gate: Ipv4Addr) -> Result<Plan, PlanError> {
    let dev = if_name(dev)?;
    let mut plan = Plan::new();
    push_host_addr(&mut plan, &dev, gate, None)?;
    plan.push(HostAction::SetMtu {
        dev: dev.clone(),
        mtu: SLIP_HELPER_MTU,
    })?;
    plan.push(HostAction::LinkUp { dev })?;
    plan.push(HostAction::IpForward)?;
    Ok(plan)
}

/// The helper's teardown of an ethertap or SLIP device, `ifconfig <dev> 0.0.0.0 down`:
/// flush its addresses, take it down.
pub fn device_down(dev: &str) -> Result<Plan, PlanError> {
    let dev = if_name(dev)?;
    let mut plan = Plan::new();
    plan.push(HostAction::FlushAddresses { dev: dev.clone() })?;
    plan.push(HostAction::LinkDown { dev })?;
    Ok(plan)
}

/// What the helper does when the guest adds an address on the device behind the host
/// device `dev` (`uml_net 4 add <dev> <ip> <netmask>`, or an ethertap ADD message,
/// docs/protocols.md §2.4): a host route to the guest through `dev`, proxy ARP on `dev`, and a
/// published ARP entry for the guest on each of its [`lan_devices`].
pub fn address_add(dev: &str, guest: GuestAddr, routes: &[LanRoute]) -> Result<Plan, PlanError> {
    let dev = if_name(dev)?;
    let mut plan = Plan::new();
    push_guest(&mut plan, &dev, guest, routes, true)?;
    Ok(plan)
}

/// What the helper does when the guest removes an address (`uml_net 4 del …`): the
/// rollback of [`address_add`] (published entries withdrawn, proxy ARP off, route
/// removed).
pub fn address_del(dev: &str, guest: GuestAddr, routes: &[LanRoute]) -> Result<Plan, PlanError> {
    address_add(dev, guest, routes).map(|p| p.undo())
}
