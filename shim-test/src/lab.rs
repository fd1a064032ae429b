//! The UML networking page's network, ready for scenarios: a host on a LAN, a router to a network
//! beyond it, and a few machines.
//!
//! ```text
//!          guest(s) ── tap/ethertap/slip ──┐
//!                                          host  eth0 192.168.0.4/24, default via .1
//!   LAN 192.168.0.0/24 (hub) ──────────────┤
//!     peer        192.168.0.7   (a smoltcp guest, default via .1)
//!     nameserver  192.168.0.2   (a smoltcp guest, default via .1)
//!     router      192.168.0.1 ── 10.0.0.1/24 (a host kernel, ip_forward)
//!                                   └── far  10.0.0.5 (default via 10.0.0.1)
//! ```
//!
//! The guest side of the host device follows the UML networking page: the host side is
//! [`GATE`] (192.168.0.254), the guest [`GUEST`] (192.168.0.253).

use crate::net::{SegmentId, SegmentKind};
use crate::world::{GuestId, HostId, World};
use core::net::Ipv4Addr;
use umlnet_core::host::{HostAction, Route};

/// The host's LAN address (the UML networking page's "host ip of 192.168.0.4").
pub const HOST_LAN: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 4);
/// The host side of the guest's device (the UML networking page's 192.168.0.254).
pub const GATE: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 254);
/// The guest's address (the UML networking page's 192.168.0.253).
pub const GUEST: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 253);
/// Another machine on the host's LAN.
pub const PEER: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 7);
/// The LAN's name server.
pub const NAMESERVER: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 2);
/// The LAN's router.
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
/// The router's address beyond the LAN.
pub const ROUTER_FAR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// A machine beyond the router.
pub const FAR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

/// The UML networking page's network (see the module documentation).
#[derive(Debug)]
pub struct Lab {
    /// Everything.
    pub world: World,
    /// The host the guests run on.
    pub host: HostId,
    /// The host's LAN.
    pub lan: SegmentId,
    /// The network beyond the router.
    pub far_net: SegmentId,
    /// The machine at [`PEER`].
    pub peer: GuestId,
    /// The machine at [`NAMESERVER`].
    pub nameserver: GuestId,
    /// The router.
    pub router: HostId,
    /// The machine at [`FAR`].
    pub far: GuestId,
}

impl Lab {
    /// Builds the network from `seed`; every machine is up and configured.
    pub fn new(seed: u64) -> Lab {
        let mut world = World::new(seed);
        let lan = world.segment("lan", SegmentKind::Hub);
        let far_net = world.segment("far", SegmentKind::Hub);
        let host = world.add_host("host");
        world
            .host_nic(host, "eth0", lan, HOST_LAN, 24)
            .expect("host LAN card");
        world
            .host_apply(host, &HostAction::AddRoute(Route::Default { via: ROUTER }))
            .expect("host default route");
        let router = world.add_host("router");
        world
            .host_nic(router, "eth0", lan, ROUTER, 24)
            .expect("router LAN card");
        world
            .host_nic(router, "eth1", far_net, ROUTER_FAR, 24)
            .expect("router far card");
        world
            .host_apply(router, &HostAction::IpForward)
            .expect("router forwards");
        let peer = machine(&mut world, "peer", lan, PEER, ROUTER);
        let nameserver = machine(&mut world, "nameserver", lan, NAMESERVER, ROUTER);
        let far = machine(&mut world, "far", far_net, FAR, ROUTER_FAR);
        world.settle();
        Lab {
            world,
            host,
            lan,
            far_net,
            peer,
            nameserver,
            router,
            far,
        }
    }
}

fn machine(w: &mut World, name: &str, seg: SegmentId, ip: Ipv4Addr, gw: Ipv4Addr) -> GuestId {
    let g = w.add_guest(name);
    w.guest_nic(g, 0, seg, None).expect("machine's card");
    let out = w.run(
        g,
        &std::format!("ifconfig eth0 {ip} netmask 255.255.255.0 up"),
    );
    assert_eq!(out.status, 0, "{}", out.text);
    let out = w.run(g, &std::format!("route add default gw {gw}"));
    assert_eq!(out.status, 0, "{}", out.text);
    g
}
