//! The plan for one configured guest device ([`plan_for`]): who sets the host up
//! ([`Setup`]) and what the host already has ([`HostContext`]).

use core::net::Ipv4Addr;

use crate::cmdline::{DeviceSpec, IfName, Transport};

use super::{
    ETHERTAP_MANUAL_MTU, GuestAddr, HostAction, IfAddr, LanRoute, Plan, PlanError, Prefix, Route,
    Tap, ethertap_up, if_name, lan_devices, slip_up, tuntap_up,
};

/// Who sets the host up, which decides what a plan holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Setup {
    /// What `uml_net` does when the kernel runs it: only for a device with a gate
    /// address, and never for a tuntap device with a fixed name (the kernel runs no
    /// helper for those). Without a gate, the plan is empty and the user must set the
    /// host up by hand, as the UML networking page says ([`Setup::Manual`] gives that plan).
    Helper,
    /// The setup the UML networking page tells the user to do by hand (or that `umlnet up` does at
    /// boot): address the host device, bring it up, route to the guest, proxy ARP,
    /// publish the guest's ARP entry, forwarding.
    Manual {
        /// The host-side address to use when the device spec gives no gate.
        gate: Option<Ipv4Addr>,
        /// Create the (tuntap or emulated ethertap) TAP device first, persistent and
        /// owned by the context's uid, as `tunctl -u <uid>` does.
        create_tap: bool,
    },
}

/// What [`plan_for`] needs to know about the host and the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HostContext<'a> {
    /// The host device actually used, when the spec does not name it: the tap the
    /// kernel chose for a dynamic tuntap device, `sl<n>` for slip. If the spec names
    /// one too, they must agree.
    pub dev: Option<&'a str>,
    /// The guest's IPv4 addresses on this device, if known. Each gets a host route,
    /// proxy ARP and published ARP entries.
    pub guests: &'a [GuestAddr],
    /// The uid that runs the guest (owner of a created TAP).
    pub uid: u32,
    /// The gid allowed to use a created TAP, if any.
    pub gid: Option<u32>,
    /// The host's IPv4 routes, from which the LAN devices are found ([`lan_devices`]).
    pub routes: &'a [LanRoute],
    /// Helper or by-hand setup.
    pub setup: Setup,
}

impl<'a> HostContext<'a> {
    /// A helper-setup context for uid 0 with no group.
    pub const fn new(
        dev: Option<&'a str>,
        guests: &'a [GuestAddr],
        routes: &'a [LanRoute],
    ) -> HostContext<'a> {
        HostContext {
            dev,
            guests,
            uid: 0,
            gid: None,
            routes,
            setup: Setup::Helper,
        }
    }

    /// The host device: the spec's, else the context's; both given must agree.
    fn device(&self, from_spec: Option<&str>) -> Result<IfName, PlanError> {
        match (from_spec, self.dev) {
            (Some(a), Some(b)) if a != b => Err(PlanError::DeviceMismatch),
            (Some(a), _) | (None, Some(a)) => if_name(a),
            (None, None) => Err(PlanError::NoDevice),
        }
    }

    fn tap(&self, name: &IfName) -> HostAction {
        HostAction::CreateTap(Tap {
            name: Some(name.clone()),
            owner: self.uid,
            group: self.gid,
            persistent: true,
        })
    }

    fn check_guests(&self, gate: Ipv4Addr) -> Result<(), PlanError> {
        match self.guests.iter().find(|g| g.ip == gate) {
            Some(g) => Err(PlanError::GuestIsGate(g.ip)),
            None => Ok(()),
        }
    }
}

/// The host plan for one `eth<n>=` device.
///
/// * `mcast` and `daemon` (and `ucast`, `vde`, `slirp`, `vec<n>`, which the UML networking page does
///   not describe) need nothing on the host: empty plan.
/// * [`Setup::Helper`]: what `uml_net` does. Without a gate (or for a tuntap device
///   with a fixed name, for which the kernel runs no helper) the plan is empty: the
///   user must then configure the host device, routes and ARP by hand as the UML networking page
///   describes. With a gate: [`tuntap_up`], [`ethertap_up`] or [`slip_up`] on the
///   host device, then [`address_add`](super::address_add) for every known guest address.
/// * [`Setup::Manual`]: the UML networking page's by-hand setup, with the spec's gate or else the
///   context's:
///   * tuntap (`tunctl`; `ifconfig tap0 <gate> up`; `ip_forward`; `route add -host
///     <guest> dev tap0`; `proxy_arp`; `arp -Ds <guest> eth0 pub`);
///   * ethertap (`ifconfig tap0 arp mtu 1484 <gate> up`, then route, proxy ARP and
///     published entry per guest as for tuntap, then `ip_forward`);
///   * slip (`ifconfig sl0 <gate> pointopoint <guest> up`, published entries,
///     `ip_forward`). The peer address installs the host route to the guest, the
///     page's `route add -host <guest> gw <gate>`, so no separate route is added (it
///     would fail with "File exists"). Further guest addresses get a host route on
///     the device.
pub fn plan_for(spec: &DeviceSpec, ctx: &HostContext<'_>) -> Result<Plan, PlanError> {
    let mut plan = Plan::new();
    match (&spec.transport, ctx.setup) {
        (Transport::Tuntap(t), Setup::Helper) => {
            if let (None, Some(gate)) = (&t.dev, t.gate) {
                let dev = ctx.device(None)?;
                ctx.check_guests(gate)?;
                plan.append(&tuntap_up(&dev, gate)?)?;
                push_guests(&mut plan, &dev, ctx, true)?;
            }
        }
        (Transport::Tuntap(t), Setup::Manual { gate, create_tap }) => {
            let dev = ctx.device(t.dev.as_deref())?;
            let gate = t.gate.or(gate).ok_or(PlanError::NoHostAddress)?;
            ctx.check_guests(gate)?;
            if create_tap {
                plan.push(ctx.tap(&dev))?;
            }
            plan.append(&tuntap_up(&dev, gate)?)?;
            push_guests(&mut plan, &dev, ctx, true)?;
        }

        (Transport::Ethertap(e), Setup::Helper) => {
            if let Some(gate) = e.gate {
                let dev = ctx.device(Some(&e.dev))?;
                ctx.check_guests(gate)?;
                plan.append(&ethertap_up(&dev, gate)?)?;
                push_guests(&mut plan, &dev, ctx, true)?;
            }
        }
        (Transport::Ethertap(e), Setup::Manual { gate, create_tap }) => {
            let dev = ctx.device(Some(&e.dev))?;
            let gate = e.gate.or(gate).ok_or(PlanError::NoHostAddress)?;
            ctx.check_guests(gate)?;
            if create_tap {
                plan.push(ctx.tap(&dev))?;
            }
            plan.push(HostAction::SetMtu {
                dev: dev.clone(),
                mtu: ETHERTAP_MANUAL_MTU,
            })?;
            push_host_addr(&mut plan, &dev, gate, None)?;
            plan.push(HostAction::LinkUp { dev: dev.clone() })?;
            push_guests(&mut plan, &dev, ctx, true)?;
            plan.push(HostAction::IpForward)?;
        }

        (Transport::Slip(s), Setup::Helper) => {
            if let Some(gate) = s.gate {
                let dev = ctx.device(None)?;
                ctx.check_guests(gate)?;
                plan.append(&slip_up(&dev, gate)?)?;
                push_guests(&mut plan, &dev, ctx, true)?;
            }
        }
        (Transport::Slip(s), Setup::Manual { gate, .. }) => {
            let dev = ctx.device(None)?;
            let gate = s.gate.or(gate).ok_or(PlanError::NoHostAddress)?;
            ctx.check_guests(gate)?;
            let (peer, rest) = match ctx.guests.split_first() {
                Some((first, rest)) => (Some(first), rest),
                None => (None, &[][..]),
            };
            push_host_addr(&mut plan, &dev, gate, peer.map(|g| g.ip))?;
            plan.push(HostAction::LinkUp { dev: dev.clone() })?;
            if let Some(peer) = peer {
                for lan in lan_devices(*peer, &dev, ctx.routes) {
                    plan.push_unique(HostAction::AddProxyNeigh {
                        ip: peer.ip,
                        dev: lan.clone(),
                    })?;
                }
            }
            // The peer already has its route; a second one would fail.
            for g in rest.iter().filter(|g| Some(g.ip) != peer.map(|p| p.ip)) {
                push_guest(&mut plan, &dev, *g, ctx.routes, false)?;
            }
            plan.push(HostAction::IpForward)?;
        }

        // mcast, daemon, and the transports the UML networking page does not describe (ucast, vde,
        // slirp, vector devices) run no helper and need nothing on the host here.
        _ => {}
    }
    Ok(plan)
}

/// The host side's /32 address, with a point-to-point peer if given.
pub(super) fn push_host_addr(
    plan: &mut Plan,
    dev: &IfName,
    gate: Ipv4Addr,
    peer: Option<Ipv4Addr>,
) -> Result<(), PlanError> {
    plan.push(HostAction::AddAddress(IfAddr {
        dev: dev.clone(),
        addr: gate,
        prefix: Prefix::HOST,
        peer,
    }))
}

fn push_guests(
    plan: &mut Plan,
    dev: &IfName,
    ctx: &HostContext<'_>,
    proxy_arp: bool,
) -> Result<(), PlanError> {
    ctx.guests
        .iter()
        .try_for_each(|g| push_guest(plan, dev, *g, ctx.routes, proxy_arp))
}

/// `route_and_arp` for one guest address. Repeated actions (proxy ARP for a second
/// address, the same address twice) are added once, so that the rollback of one
/// address does not undo what another still needs.
pub(super) fn push_guest(
    plan: &mut Plan,
    dev: &IfName,
    guest: GuestAddr,
    routes: &[LanRoute],
    proxy_arp: bool,
) -> Result<(), PlanError> {
    plan.push_unique(HostAction::AddRoute(Route::Host {
        dst: guest.ip,
        dev: dev.clone(),
        via: None,
    }))?;
    if proxy_arp {
        plan.push_unique(HostAction::ProxyArp {
            dev: dev.clone(),
            on: true,
        })?;
    }
    for lan in lan_devices(guest, dev, routes) {
        plan.push_unique(HostAction::AddProxyNeigh {
            ip: guest.ip,
            dev: lan.clone(),
        })?;
    }
    Ok(())
}
