//! Host setup plans: what has to change on the host so that a guest's network device
//! reaches the host and the LAN behind it.
//!
//! A [`Plan`] is an ordered, bounded list of typed [`HostAction`]s: create a TAP device,
//! address it, set its MTU, bring it up, add a host route to the guest, turn on proxy
//! ARP, publish an ARP entry for the guest on the LAN devices, turn on IPv4 forwarding.
//! Nothing here touches the host: a shim applies a plan (with ioctls, netlink and
//! `/proc/sys` writes), the simulator applies it to its simulated host kernel, and
//! `Display` prints it as the equivalent `ip`/`sysctl` commands, one per line, each a
//! valid iproute2 (or procps `sysctl`) command that can be run as it is.
//!
//! Every action that has an inverse knows it ([`HostAction::undo`]), and
//! [`Plan::undo`] gives the rollback: the inverses in reverse order. Actions that
//! cannot be undone from what the plan knows (an MTU change, an address flush, turning
//! on `ip_forward`, which the rest of the host may rely on) are left out of the
//! rollback; deleting a TAP the plan created takes its MTU and addresses with it.
//!
//! The planning functions follow the UML networking page and the `uml_net` helper
//! (docs/protocols.md §2.3–2.6):
//!
//! * [`tuntap_up`], [`ethertap_up`], [`slip_up`]: what the helper does to the host
//!   device when the kernel brings the guest device up with a gate address;
//! * [`address_add`] / [`address_del`]: what the helper does when the guest adds or
//!   removes an IPv4 address (`route_and_arp`): host route, proxy ARP, published ARP
//!   entries on the LAN devices ([`lan_devices`]);
//! * [`device_down`]: the helper's `ifconfig <dev> 0.0.0.0 down` on close;
//! * [`plan_for`]: the whole plan for a parsed `eth<n>=` argument, either as the helper
//!   would do it ([`Setup::Helper`]) or as the UML networking page tells the user to do it by hand
//!   ([`Setup::Manual`]).
//!
//! Two deliberate differences from the original commands:
//!
//! * The host side is always addressed with a /32 (as the helper's
//!   `netmask 255.255.255.255` for tuntap and ethertap). A bare `ifconfig tap0
//!   192.168.0.254 up`, as on the UML networking page, gives the classful /24 and with it a
//!   network route on the tap that shadows the LAN's own route.
//! * Published ARP entries go on the devices whose routes contain the guest
//!   ([`lan_devices`]). Where none does, none is made: the original's fallback to a
//!   hard-coded `eth0` is not kept, since most hosts no longer have one.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use umlnet_core::cmdline::{DeviceSpec, Transport, Tuntap};
//! use umlnet_core::host::{plan_for, GuestAddr, HostContext, LanRoute, Setup};
//!
//! // The UML networking page's TUN/TAP example, done by hand on a host whose LAN is on eth0.
//! let spec = DeviceSpec {
//!     index: 0,
//!     transport: Transport::Tuntap(Tuntap {
//!         dev: Some("tap0".try_into().unwrap()),
//!         mac: None,
//!         gate: Some(Ipv4Addr::new(192, 168, 0, 254)),
//!     }),
//! };
//! let routes = [LanRoute::new("eth0", [192, 168, 0, 0].into(), [255, 255, 255, 0].into()).unwrap()];
//! let guests = [GuestAddr { ip: Ipv4Addr::new(192, 168, 0, 253), netmask: None }];
//! let ctx = HostContext {
//!     setup: Setup::Manual { gate: None, create_tap: false },
//!     ..HostContext::new(None, &guests, &routes)
//! };
//! let plan = plan_for(&spec, &ctx).unwrap();
//! let mut text = heapless::String::<512>::new();
//! core::fmt::write(&mut text, format_args!("{plan}")).unwrap();
//! assert_eq!(
//!     text,
//!     "ip addr add 192.168.0.254/32 dev tap0\n\
//!      ip link set dev tap0 up\n\
//!      sysctl -w net.ipv4.ip_forward=1\n\
//!      ip route add 192.168.0.253/32 dev tap0\n\
//!      sysctl -w net.ipv4.conf.tap0.proxy_arp=1\n\
//!      ip neigh add proxy 192.168.0.253 dev eth0\n"
//! );
//! // `umlnet down`: the same, undone in reverse order (ip_forward stays on).
//! assert_eq!(plan.undo().len(), 5);
//! ```

mod action;
mod device_plan;
mod helper_plans;
mod plan;
#[cfg(test)]
mod test;

pub use crate::ipv4::Prefix;
pub use action::{HostAction, IfAddr, Route, Tap};
pub use device_plan::{HostContext, Setup, plan_for};
pub use helper_plans::{
    GuestAddr, LanRoute, address_add, address_del, device_down, ethertap_up, lan_devices, slip_up,
    tuntap_up,
};
pub use plan::Plan;

use core::fmt;
use core::net::Ipv4Addr;

use crate::ifname::{self, IfName, WhiteSpace};

/// How many actions a [`Plan`] holds at most. A plan for one device needs about
/// 5 actions plus 2 and one per LAN device for each guest address.
pub const PLAN_MAX: usize = 64;

/// The MTU the `uml_net` helper gives an ethertap device (`ifconfig … mtu 1500`).
pub const ETHERTAP_HELPER_MTU: u16 = 1500;
/// The MTU the UML networking page's by-hand setup gives an ethertap device (`ifconfig tap0 arp mtu
/// 1484 …`): the 1500-byte frame less the ethertap 2-byte prefix and headroom.
pub const ETHERTAP_MANUAL_MTU: u16 = 1484;
/// The MTU the `uml_net` helper gives a SLIP device (`ifconfig sl<n> <gate> mtu 1500 up`).
pub const SLIP_HELPER_MTU: u16 = 1500;

/// Why a plan could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PlanError {
    /// The plan would hold more than [`PLAN_MAX`] actions.
    Full,
    /// A host device name is not a valid Linux interface name.
    BadDeviceName,
    /// No host device name is known (the tap the kernel chose, or `sl<n>`).
    NoDevice,
    /// The device spec names one host device and the context another.
    DeviceMismatch,
    /// By-hand setup needs a host-side address, and neither the spec nor the
    /// context gives one.
    NoHostAddress,
    /// A guest address equals the host-side (gate) address.
    GuestIsGate(Ipv4Addr),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Full => write!(
                f,
                "host plan would exceed {PLAN_MAX} actions: give fewer guest addresses or LAN routes"
            ),
            PlanError::BadDeviceName => f.write_str(
                "bad host device name: it must be 1 to 15 characters, not '.' or '..', \
                 without '/', ':' or white space",
            ),
            PlanError::NoDevice => f.write_str(
                "no host device name: give the name of the tap the kernel chose (or sl<n> for slip)",
            ),
            PlanError::DeviceMismatch => {
                f.write_str("the device spec and the host context name different host devices")
            }
            PlanError::NoHostAddress => f.write_str(
                "no host-side address: add a gate address to the eth<n>= argument or give one for the by-hand setup",
            ),
            PlanError::GuestIsGate(ip) => write!(
                f,
                "the tap IP address and the UML eth IP address must be different (both are {ip})"
            ),
        }
    }
}

impl core::error::Error for PlanError {}

/// Checks a host interface name the way Linux does (`dev_valid_name`): 1 to 15 bytes,
/// not `.` or `..`, no `/`, `:` or white space.
pub fn if_name(name: &str) -> Result<IfName, PlanError> {
    ifname::check(name, WhiteSpace::Unicode).map_err(|_| PlanError::BadDeviceName)?;
    IfName::try_from(name).map_err(|_| PlanError::BadDeviceName)
}
