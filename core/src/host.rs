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
//! The planning functions follow the user page (the seed) and the `uml_net` helper
//! (spec §2.3–2.6):
//!
//! * [`tuntap_up`], [`ethertap_up`], [`slip_up`]: what the helper does to the host
//!   device when the kernel brings the guest device up with a gate address;
//! * [`address_add`] / [`address_del`]: what the helper does when the guest adds or
//!   removes an IPv4 address (`route_and_arp`): host route, proxy ARP, published ARP
//!   entries on the LAN devices ([`lan_devices`]);
//! * [`device_down`]: the helper's `ifconfig <dev> 0.0.0.0 down` on close;
//! * [`plan_for`]: the whole plan for a parsed `eth<n>=` argument, either as the helper
//!   would do it ([`Setup::Helper`]) or as the seed tells the user to do it by hand
//!   ([`Setup::Manual`]).
//!
//! Two deliberate differences from the original commands:
//!
//! * The host side is always addressed with a /32 (as the helper's
//!   `netmask 255.255.255.255` for tuntap and ethertap). A bare `ifconfig tap0
//!   192.168.0.254 up`, as on the seed's page, gives the classful /24 and with it a
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
//! // The seed's TUN/TAP example, done by hand on a host whose LAN is on eth0.
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

use core::fmt;
use core::net::Ipv4Addr;

use crate::cmdline::{DeviceSpec, IFNAME_MAX, IfName, Transport};

/// How many actions a [`Plan`] holds at most. A plan for one device needs about
/// 5 actions plus 2 and one per LAN device for each guest address.
pub const PLAN_MAX: usize = 64;

/// The MTU the `uml_net` helper gives an ethertap device (`ifconfig … mtu 1500`).
pub const ETHERTAP_HELPER_MTU: u16 = 1500;
/// The MTU the seed's by-hand setup gives an ethertap device (`ifconfig tap0 arp mtu
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
    let ok = !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace());
    if !ok {
        return Err(PlanError::BadDeviceName);
    }
    IfName::try_from(name).map_err(|_| PlanError::BadDeviceName)
}

/// An IPv4 prefix length, 0 to 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Prefix(u8);

impl Prefix {
    /// A single host, /32.
    pub const HOST: Prefix = Prefix(32);

    /// A prefix length, if it is at most 32.
    pub const fn new(bits: u8) -> Option<Prefix> {
        if bits <= 32 { Some(Prefix(bits)) } else { None }
    }

    /// The prefix of a contiguous netmask (`255.255.255.0` → /24); `None` for a mask
    /// with holes.
    pub const fn from_netmask(mask: Ipv4Addr) -> Option<Prefix> {
        let m = mask.to_bits();
        let ones = m.leading_ones();
        if m.count_ones() == ones {
            Some(Prefix(ones as u8))
        } else {
            None
        }
    }

    /// The number of leading one bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The netmask (/24 → `255.255.255.0`).
    pub const fn netmask(self) -> Ipv4Addr {
        Ipv4Addr::from_bits(mask_bits(self.0))
    }
}

const fn mask_bits(bits: u8) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits as u32)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A TAP device to create or delete.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tap {
    /// The name; `None` lets the kernel choose `tap<n>`.
    pub name: Option<IfName>,
    /// The uid allowed to attach to the device.
    pub owner: u32,
    /// The gid allowed to attach to the device, if any.
    pub group: Option<u32>,
    /// Whether the device outlives the file descriptor that made it (as `tunctl` makes
    /// it). A shim makes a non-persistent one by holding its fd; `ip tuntap add` can
    /// only make persistent ones, so the printed command makes a persistent device
    /// either way (and the rollback's `ip tuntap del` removes it).
    pub persistent: bool,
}

/// An address on a host interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IfAddr {
    /// The interface.
    pub dev: IfName,
    /// The local address.
    pub addr: Ipv4Addr,
    /// The prefix (of the peer, when there is one, as `ip addr … peer P/len` has it).
    pub prefix: Prefix,
    /// The far end of a point-to-point link (`ifconfig … pointopoint <peer>`); the host
    /// kernel adds the route to it.
    pub peer: Option<Ipv4Addr>,
}

/// A route in the host's main table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Route {
    /// A route to one host (`route add -host <dst> dev <dev> [gw <via>]`).
    Host {
        /// The host.
        dst: Ipv4Addr,
        /// The interface it is behind.
        dev: IfName,
        /// A gateway on that interface, if any.
        via: Option<Ipv4Addr>,
    },
    /// A route to a network on an interface (`route add -net <net> netmask … dev <dev>`).
    /// The host bits of `net` are ignored.
    Net {
        /// The network.
        net: Ipv4Addr,
        /// Its prefix.
        prefix: Prefix,
        /// The interface it is on.
        dev: IfName,
    },
    /// The default route (`route add default gw <via>`).
    Default {
        /// The gateway.
        via: Ipv4Addr,
    },
}

impl fmt::Display for Route {
    /// The route as `ip route` arguments (`192.168.0.253/32 dev tap0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Host { dst, dev, via } => {
                write!(f, "{dst}/32")?;
                if let Some(via) = via {
                    write!(f, " via {via}")?;
                }
                write!(f, " dev {dev}")
            }
            Route::Net { net, prefix, dev } => {
                let net = Ipv4Addr::from_bits(net.to_bits() & mask_bits(prefix.0));
                write!(f, "{net}/{prefix} dev {dev}")
            }
            Route::Default { via } => write!(f, "default via {via}"),
        }
    }
}

/// One change to the host.
///
/// `Display` prints the equivalent command line (`ip …` or `sysctl -w …`), without a
/// newline.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HostAction {
    /// Create a TAP device (`ip tuntap add … mode tap user <uid>`; `tunctl -u <uid>`).
    CreateTap(Tap),
    /// Delete a TAP device (`ip tuntap del dev <name> mode tap`). It carries the
    /// creation fields so that its inverse can make the same device again.
    DeleteTap(Tap),
    /// Add an address (`ip addr add`).
    AddAddress(IfAddr),
    /// Remove an address (`ip addr del`).
    DelAddress(IfAddr),
    /// Remove every IPv4 address of a device (`ip -4 addr flush dev <dev>`), the
    /// `ifconfig <dev> 0.0.0.0` of the helper's teardown. It has no inverse.
    FlushAddresses {
        /// The device.
        dev: IfName,
    },
    /// Set a device's MTU (`ip link set dev <dev> mtu <mtu>`). It has no inverse, since
    /// the old MTU is not known.
    SetMtu {
        /// The device.
        dev: IfName,
        /// The MTU in bytes.
        mtu: u16,
    },
    /// Bring a device up (`ip link set dev <dev> up`).
    LinkUp {
        /// The device.
        dev: IfName,
    },
    /// Take a device down (`ip link set dev <dev> down`).
    LinkDown {
        /// The device.
        dev: IfName,
    },
    /// Add a route (`ip route add`).
    AddRoute(Route),
    /// Remove a route (`ip route del`).
    DelRoute(Route),
    /// Turn proxy ARP on a device on or off
    /// (`sysctl -w net.ipv4.conf.<dev>.proxy_arp=1|0`).
    ProxyArp {
        /// The device.
        dev: IfName,
        /// On or off.
        on: bool,
    },
    /// Publish an ARP entry: answer ARP requests for `ip` on `dev` with `dev`'s own
    /// hardware address (`ip neigh add proxy <ip> dev <dev>`; `arp -Ds <ip> <dev> pub`).
    AddProxyNeigh {
        /// The address answered for.
        ip: Ipv4Addr,
        /// The device on which it is answered.
        dev: IfName,
    },
    /// Withdraw a published ARP entry (`ip neigh del proxy <ip> dev <dev>`).
    DelProxyNeigh {
        /// The address.
        ip: Ipv4Addr,
        /// The device.
        dev: IfName,
    },
    /// Turn on IPv4 forwarding (`sysctl -w net.ipv4.ip_forward=1`). It has no inverse:
    /// other users of the host may rely on forwarding, and the helper never turns it off.
    IpForward,
}

impl HostAction {
    /// The action that reverses this one, if there is one: add ↔ delete, up ↔ down,
    /// proxy ARP on ↔ off. `None` for [`HostAction::SetMtu`],
    /// [`HostAction::FlushAddresses`], [`HostAction::IpForward`] and for creating a
    /// TAP whose name the kernel will choose.
    pub fn undo(&self) -> Option<HostAction> {
        Some(match self {
            HostAction::CreateTap(t) => {
                t.name.as_ref()?;
                HostAction::DeleteTap(t.clone())
            }
            HostAction::DeleteTap(t) => {
                t.name.as_ref()?;
                HostAction::CreateTap(t.clone())
            }
            HostAction::AddAddress(a) => HostAction::DelAddress(a.clone()),
            HostAction::DelAddress(a) => HostAction::AddAddress(a.clone()),
            HostAction::LinkUp { dev } => HostAction::LinkDown { dev: dev.clone() },
            HostAction::LinkDown { dev } => HostAction::LinkUp { dev: dev.clone() },
            HostAction::AddRoute(r) => HostAction::DelRoute(r.clone()),
            HostAction::DelRoute(r) => HostAction::AddRoute(r.clone()),
            HostAction::ProxyArp { dev, on } => HostAction::ProxyArp {
                dev: dev.clone(),
                on: !on,
            },
            HostAction::AddProxyNeigh { ip, dev } => HostAction::DelProxyNeigh {
                ip: *ip,
                dev: dev.clone(),
            },
            HostAction::DelProxyNeigh { ip, dev } => HostAction::AddProxyNeigh {
                ip: *ip,
                dev: dev.clone(),
            },
            HostAction::FlushAddresses { .. }
            | HostAction::SetMtu { .. }
            | HostAction::IpForward => {
                return None;
            }
        })
    }
}

/// A device name as a sysctl key component: procps `sysctl` takes `/` for a `.` in a
/// name (`net.ipv4.conf.eth0/100.proxy_arp` for `eth0.100`).
struct SysctlDev<'a>(&'a str);

impl fmt::Display for SysctlDev<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            fmt::Write::write_char(f, if c == '.' { '/' } else { c })?;
        }
        Ok(())
    }
}

impl fmt::Display for IfAddr {
    /// The address as `ip addr` arguments (`192.168.0.254/32 dev tap0`,
    /// `192.168.0.251 peer 192.168.0.250/32 dev sl0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.peer {
            Some(peer) => write!(
                f,
                "{} peer {peer}/{} dev {}",
                self.addr, self.prefix, self.dev
            ),
            None => write!(f, "{}/{} dev {}", self.addr, self.prefix, self.dev),
        }
    }
}

impl fmt::Display for HostAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostAction::CreateTap(t) => {
                f.write_str("ip tuntap add")?;
                if let Some(name) = &t.name {
                    write!(f, " dev {name}")?;
                }
                write!(f, " mode tap user {}", t.owner)?;
                if let Some(g) = t.group {
                    write!(f, " group {g}")?;
                }
                Ok(())
            }
            HostAction::DeleteTap(t) => {
                f.write_str("ip tuntap del")?;
                if let Some(name) = &t.name {
                    write!(f, " dev {name}")?;
                }
                f.write_str(" mode tap")
            }
            HostAction::AddAddress(a) => write!(f, "ip addr add {a}"),
            HostAction::DelAddress(a) => write!(f, "ip addr del {a}"),
            HostAction::FlushAddresses { dev } => write!(f, "ip -4 addr flush dev {dev}"),
            HostAction::SetMtu { dev, mtu } => write!(f, "ip link set dev {dev} mtu {mtu}"),
            HostAction::LinkUp { dev } => write!(f, "ip link set dev {dev} up"),
            HostAction::LinkDown { dev } => write!(f, "ip link set dev {dev} down"),
            HostAction::AddRoute(r) => write!(f, "ip route add {r}"),
            HostAction::DelRoute(r) => write!(f, "ip route del {r}"),
            HostAction::ProxyArp { dev, on } => write!(
                f,
                "sysctl -w net.ipv4.conf.{}.proxy_arp={}",
                SysctlDev(dev),
                u8::from(*on)
            ),
            HostAction::AddProxyNeigh { ip, dev } => write!(f, "ip neigh add proxy {ip} dev {dev}"),
            HostAction::DelProxyNeigh { ip, dev } => write!(f, "ip neigh del proxy {ip} dev {dev}"),
            HostAction::IpForward => f.write_str("sysctl -w net.ipv4.ip_forward=1"),
        }
    }
}

/// An ordered list of at most [`PLAN_MAX`] host actions, applied first to last.
///
/// `Display` prints one command per line, each line ending in a newline (an empty plan
/// prints nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Plan {
    actions: heapless::Vec<HostAction, PLAN_MAX>,
}

impl Plan {
    /// An empty plan.
    pub const fn new() -> Plan {
        Plan {
            actions: heapless::Vec::new(),
        }
    }

    /// Appends an action.
    pub fn push(&mut self, action: HostAction) -> Result<(), PlanError> {
        self.actions.push(action).map_err(|_| PlanError::Full)
    }

    /// Appends an action unless the plan already holds an equal one.
    pub fn push_unique(&mut self, action: HostAction) -> Result<(), PlanError> {
        if self.actions.contains(&action) {
            return Ok(());
        }
        self.push(action)
    }

    /// Appends every action of another plan.
    pub fn append(&mut self, other: &Plan) -> Result<(), PlanError> {
        other.iter().try_for_each(|a| self.push(a.clone()))
    }

    /// The actions, in order.
    pub fn actions(&self) -> &[HostAction] {
        &self.actions
    }

    /// Iterates over the actions in order.
    pub fn iter(&self) -> core::slice::Iter<'_, HostAction> {
        self.actions.iter()
    }

    /// The number of actions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether the plan does nothing.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The rollback: the inverse of every action that has one, last action first.
    /// Applying a plan and then its rollback leaves the host as it was, except for what
    /// the actions without an inverse changed (see [`HostAction::undo`]).
    pub fn undo(&self) -> Plan {
        let mut out = Plan::new();
        for inverse in self.actions.iter().rev().filter_map(HostAction::undo) {
            // At most as many inverses as actions, so this never overflows.
            let _ = out.actions.push(inverse);
        }
        out
    }
}

impl<'a> IntoIterator for &'a Plan {
    type Item = &'a HostAction;
    type IntoIter = core::slice::Iter<'a, HostAction>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.actions.iter().try_for_each(|a| writeln!(f, "{a}"))
    }
}

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
/// With the guest's netmask known, a route matches as in the helper (spec §2.4):
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
/// tap `dev` (spec §2.3): `ifconfig <dev> <gate> netmask 255.255.255.255 up`, then
/// `ip_forward`.
pub fn tuntap_up(dev: &str, gate: Ipv4Addr) -> Result<Plan, PlanError> {
    let dev = if_name(dev)?;
    let mut plan = Plan::new();
    push_host_addr(&mut plan, &dev, gate, None)?;
    plan.push(HostAction::LinkUp { dev })?;
    plan.push(HostAction::IpForward)?;
    Ok(plan)
}

/// What the helper does for `uml_net 4 ethertap <dev> <fd> <gate>` (spec §2.5):
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
/// (spec §2.6): `ifconfig sl<n> <gate> mtu 1500 up` (here with a /32), then
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
/// spec §2.4): a host route to the guest through `dev`, proxy ARP on `dev`, and a
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

/// Who sets the host up, which decides what a plan holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Setup {
    /// What `uml_net` does when the kernel runs it: only for a device with a gate
    /// address, and never for a tuntap device with a fixed name (the kernel runs no
    /// helper for those). Without a gate, the plan is empty and the user must set the
    /// host up by hand, as the seed says ([`Setup::Manual`] gives that plan).
    Helper,
    /// The setup the seed tells the user to do by hand (or that `umlnet up` does at
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
/// * `mcast` and `daemon` (and `ucast`, `vde`, `slirp`, `vec<n>`, which the seed does
///   not describe) need nothing on the host: empty plan.
/// * [`Setup::Helper`]: what `uml_net` does. Without a gate (or for a tuntap device
///   with a fixed name, for which the kernel runs no helper) the plan is empty: the
///   user must then configure the host device, routes and ARP by hand as the seed
///   describes. With a gate: [`tuntap_up`], [`ethertap_up`] or [`slip_up`] on the
///   host device, then [`address_add`] for every known guest address.
/// * [`Setup::Manual`]: the seed's by-hand setup, with the spec's gate or else the
///   context's:
///   * tuntap (`tunctl`; `ifconfig tap0 <gate> up`; `ip_forward`; `route add -host
///     <guest> dev tap0`; `proxy_arp`; `arp -Ds <guest> eth0 pub`);
///   * ethertap (`ifconfig tap0 arp mtu 1484 <gate> up`, then route, proxy ARP and
///     published entry per guest as for tuntap, then `ip_forward`);
///   * slip (`ifconfig sl0 <gate> pointopoint <guest> up`, published entries,
///     `ip_forward`). The peer address installs the host route to the guest, the
///     seed's `route add -host <guest> gw <gate>`, so no separate route is added (it
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

        // mcast, daemon, and the transports the seed does not describe (ucast, vde,
        // slirp, vector devices) run no helper and need nothing on the host here.
        _ => {}
    }
    Ok(plan)
}

/// The host side's /32 address, with a point-to-point peer if given.
fn push_host_addr(
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
fn push_guest(
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

#[cfg(test)]
mod test {
    use super::*;
    use crate::cmdline::{Daemon, Ethertap, Mcast, Slip, Tuntap};
    use proptest::prelude::*;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    fn name(s: &str) -> IfName {
        if_name(s).unwrap()
    }
    fn lines(plan: &Plan) -> Vec<String> {
        plan.to_string().lines().map(str::to_string).collect()
    }
    fn route(iface: &str, dest: &str, mask: &str) -> LanRoute {
        LanRoute::new(iface, ip(dest), ip(mask)).unwrap()
    }
    /// A host on 192.168.0.0/24 (eth0) with a default route, as on the seed's page.
    fn seed_routes() -> [LanRoute; 2] {
        [
            route("eth0", "0.0.0.0", "0.0.0.0"),
            route("eth0", "192.168.0.0", "255.255.255.0"),
        ]
    }
    fn tuntap(dev: Option<&str>, gate: Option<&str>) -> DeviceSpec {
        DeviceSpec {
            index: 0,
            transport: Transport::Tuntap(Tuntap {
                dev: dev.map(name),
                mac: None,
                gate: gate.map(ip),
            }),
        }
    }
    fn ethertap(dev: &str, gate: Option<&str>) -> DeviceSpec {
        DeviceSpec {
            index: 0,
            transport: Transport::Ethertap(Ethertap {
                dev: name(dev),
                mac: None,
                gate: gate.map(ip),
            }),
        }
    }
    fn slip(gate: Option<&str>) -> DeviceSpec {
        DeviceSpec {
            index: 0,
            transport: Transport::Slip(Slip { gate: gate.map(ip) }),
        }
    }
    fn manual(gate: Option<&str>, create_tap: bool) -> Setup {
        Setup::Manual {
            gate: gate.map(ip),
            create_tap,
        }
    }

    #[test]
    fn seed_manual_tuntap_is_the_seeds_five_commands() {
        // tunctl <uid> (done), then:
        //   ifconfig tap0 192.168.0.254 up          -> addr + up
        //   echo 1 > /proc/sys/net/ipv4/ip_forward
        //   route add -host 192.168.0.253 dev tap0
        //   echo 1 > /proc/sys/net/ipv4/conf/tap0/proxy_arp
        //   arp -Ds 192.168.0.253 eth0 pub
        let routes = seed_routes();
        let guests = [GuestAddr {
            ip: ip("192.168.0.253"),
            netmask: None,
        }];
        let ctx = HostContext {
            setup: manual(None, false),
            ..HostContext::new(None, &guests, &routes)
        };
        let plan = plan_for(&tuntap(Some("tap0"), Some("192.168.0.254")), &ctx).unwrap();
        assert_eq!(
            plan.actions(),
            &[
                HostAction::AddAddress(IfAddr {
                    dev: name("tap0"),
                    addr: ip("192.168.0.254"),
                    prefix: Prefix::HOST,
                    peer: None
                }),
                HostAction::LinkUp { dev: name("tap0") },
                HostAction::IpForward,
                HostAction::AddRoute(Route::Host {
                    dst: ip("192.168.0.253"),
                    dev: name("tap0"),
                    via: None
                }),
                HostAction::ProxyArp {
                    dev: name("tap0"),
                    on: true
                },
                HostAction::AddProxyNeigh {
                    ip: ip("192.168.0.253"),
                    dev: name("eth0")
                },
            ]
        );
        assert_eq!(
            lines(&plan),
            [
                "ip addr add 192.168.0.254/32 dev tap0",
                "ip link set dev tap0 up",
                "sysctl -w net.ipv4.ip_forward=1",
                "ip route add 192.168.0.253/32 dev tap0",
                "sysctl -w net.ipv4.conf.tap0.proxy_arp=1",
                "ip neigh add proxy 192.168.0.253 dev eth0",
            ]
        );
        // The guest's netmask, when known, gives the same LAN device.
        let guests = [GuestAddr {
            ip: ip("192.168.0.253"),
            netmask: Some(ip("255.255.255.0")),
        }];
        let ctx2 = HostContext {
            guests: &guests,
            ..ctx
        };
        assert_eq!(
            plan_for(&tuntap(Some("tap0"), Some("192.168.0.254")), &ctx2).unwrap(),
            plan
        );
    }

    #[test]
    fn manual_tuntap_with_tunctl_and_context_gate() {
        let routes = seed_routes();
        let guests = [GuestAddr {
            ip: ip("192.168.0.253"),
            netmask: None,
        }];
        let ctx = HostContext {
            uid: 1000,
            gid: Some(100),
            setup: manual(Some("192.168.0.254"), true),
            ..HostContext::new(None, &guests, &routes)
        };
        // `eth0=tuntap,tap0` without a gate: the context's address is used.
        let plan = plan_for(&tuntap(Some("tap0"), None), &ctx).unwrap();
        let l = lines(&plan);
        assert_eq!(l[0], "ip tuntap add dev tap0 mode tap user 1000 group 100");
        assert_eq!(l[1], "ip addr add 192.168.0.254/32 dev tap0");
        assert_eq!(l.len(), 7);
        // The rollback ends by deleting the tap.
        assert_eq!(
            lines(&plan.undo()),
            [
                "ip neigh del proxy 192.168.0.253 dev eth0",
                "sysctl -w net.ipv4.conf.tap0.proxy_arp=0",
                "ip route del 192.168.0.253/32 dev tap0",
                "ip link set dev tap0 down",
                "ip addr del 192.168.0.254/32 dev tap0",
                "ip tuntap del dev tap0 mode tap",
            ]
        );
        // No gate anywhere: a by-hand setup cannot be planned.
        let ctx = HostContext {
            setup: manual(None, true),
            ..ctx
        };
        assert_eq!(
            plan_for(&tuntap(Some("tap0"), None), &ctx),
            Err(PlanError::NoHostAddress)
        );
    }

    #[test]
    fn helper_tuntap_is_tuntap_up_then_add() {
        let routes = seed_routes();
        let guests = [GuestAddr {
            ip: ip("192.168.0.253"),
            netmask: Some(ip("255.255.255.0")),
        }];
        let ctx = HostContext::new(Some("tap3"), &guests, &routes);
        let plan = plan_for(&tuntap(None, Some("192.168.0.254")), &ctx).unwrap();
        let mut expected = tuntap_up("tap3", ip("192.168.0.254")).unwrap();
        expected
            .append(&address_add("tap3", guests[0], &routes).unwrap())
            .unwrap();
        assert_eq!(plan, expected);
        assert_eq!(
            lines(&plan),
            [
                "ip addr add 192.168.0.254/32 dev tap3",
                "ip link set dev tap3 up",
                "sysctl -w net.ipv4.ip_forward=1",
                "ip route add 192.168.0.253/32 dev tap3",
                "sysctl -w net.ipv4.conf.tap3.proxy_arp=1",
                "ip neigh add proxy 192.168.0.253 dev eth0",
            ]
        );
        // No gate (the kernel runs `tuntap up` without one, which fails) or a fixed
        // tap (no helper at all): nothing for the helper to do.
        assert!(plan_for(&tuntap(None, None), &ctx).unwrap().is_empty());
        assert!(
            plan_for(&tuntap(Some("tap0"), Some("192.168.0.254")), &ctx)
                .unwrap()
                .is_empty()
        );
        // The kernel-chosen name must be given.
        let ctx = HostContext::new(None, &guests, &routes);
        assert_eq!(
            plan_for(&tuntap(None, Some("10.0.0.1")), &ctx),
            Err(PlanError::NoDevice)
        );
    }

    #[test]
    fn address_del_is_the_helpers_no_route_and_arp() {
        let routes = [
            route("eth0", "192.168.0.0", "255.255.255.0"),
            route("wlan0", "192.168.0.0", "255.255.255.0"),
            route("tap0", "192.168.0.0", "255.255.255.0"),
        ];
        let g = GuestAddr {
            ip: ip("192.168.0.253"),
            netmask: Some(ip("255.255.255.0")),
        };
        assert_eq!(
            lines(&address_del("tap0", g, &routes).unwrap()),
            [
                "ip neigh del proxy 192.168.0.253 dev wlan0",
                "ip neigh del proxy 192.168.0.253 dev eth0",
                "sysctl -w net.ipv4.conf.tap0.proxy_arp=0",
                "ip route del 192.168.0.253/32 dev tap0",
            ]
        );
    }

    #[test]
    fn ethertap_helper_and_seed_no_host_address_block() {
        let routes = seed_routes();
        let guests = [GuestAddr {
            ip: ip("192.168.0.250"),
            netmask: Some(ip("255.255.255.0")),
        }];
        // Helper: `ifconfig tap0 arp mtu 1500 <gate> netmask 255.255.255.255 up`.
        let ctx = HostContext::new(None, &guests, &routes);
        let plan = plan_for(&ethertap("tap0", Some("192.168.0.251")), &ctx).unwrap();
        assert_eq!(
            lines(&plan),
            [
                "ip link set dev tap0 mtu 1500",
                "ip addr add 192.168.0.251/32 dev tap0",
                "ip link set dev tap0 up",
                "sysctl -w net.ipv4.ip_forward=1",
                "ip route add 192.168.0.250/32 dev tap0",
                "sysctl -w net.ipv4.conf.tap0.proxy_arp=1",
                "ip neigh add proxy 192.168.0.250 dev eth0",
            ]
        );
        // No gate: the helper only relays; the host is the user's job.
        assert!(plan_for(&ethertap("tap0", None), &ctx).unwrap().is_empty());
        // The seed's block: `ifconfig tap0 arp mtu 1484 192.168.0.251 up`, route,
        // `arp -Ds 192.168.0.250 eth0 pub`, ip_forward.
        let ctx = HostContext {
            setup: manual(Some("192.168.0.251"), false),
            ..ctx
        };
        let plan = plan_for(&ethertap("tap0", None), &ctx).unwrap();
        assert_eq!(
            lines(&plan),
            [
                "ip link set dev tap0 mtu 1484",
                "ip addr add 192.168.0.251/32 dev tap0",
                "ip link set dev tap0 up",
                "ip route add 192.168.0.250/32 dev tap0",
                "sysctl -w net.ipv4.conf.tap0.proxy_arp=1",
                "ip neigh add proxy 192.168.0.250 dev eth0",
                "sysctl -w net.ipv4.ip_forward=1",
            ]
        );
        // The helper's teardown.
        assert_eq!(
            lines(&device_down("tap0").unwrap()),
            ["ip -4 addr flush dev tap0", "ip link set dev tap0 down"]
        );
        // A context naming another device than the spec.
        let ctx = HostContext {
            dev: Some("tap1"),
            ..ctx
        };
        assert_eq!(
            plan_for(&ethertap("tap0", None), &ctx),
            Err(PlanError::DeviceMismatch)
        );
    }

    #[test]
    fn slip_seed_block_and_helper() {
        let routes = seed_routes();
        let guests = [GuestAddr {
            ip: ip("192.168.0.250"),
            netmask: None,
        }];
        // The seed: `ifconfig sl0 192.168.0.251 pointopoint 192.168.0.250 up`,
        // `route add -host 192.168.0.250 gw 192.168.0.251` (made by the peer address),
        // `arp -Ds 192.168.0.250 eth0 pub`, ip_forward.
        let ctx = HostContext {
            setup: manual(Some("192.168.0.251"), false),
            ..HostContext::new(Some("sl0"), &guests, &routes)
        };
        let plan = plan_for(&slip(None), &ctx).unwrap();
        assert_eq!(
            lines(&plan),
            [
                "ip addr add 192.168.0.251 peer 192.168.0.250/32 dev sl0",
                "ip link set dev sl0 up",
                "ip neigh add proxy 192.168.0.250 dev eth0",
                "sysctl -w net.ipv4.ip_forward=1",
            ]
        );
        assert_eq!(
            lines(&plan.undo()),
            [
                "ip neigh del proxy 192.168.0.250 dev eth0",
                "ip link set dev sl0 down",
                "ip addr del 192.168.0.251 peer 192.168.0.250/32 dev sl0",
            ]
        );
        // The helper: `ifconfig sl0 <gate> mtu 1500 up`, ip_forward, then `add`.
        let ctx = HostContext {
            setup: Setup::Helper,
            ..ctx
        };
        let plan = plan_for(&slip(Some("192.168.0.251")), &ctx).unwrap();
        assert_eq!(
            lines(&plan),
            [
                "ip addr add 192.168.0.251/32 dev sl0",
                "ip link set dev sl0 mtu 1500",
                "ip link set dev sl0 up",
                "sysctl -w net.ipv4.ip_forward=1",
                "ip route add 192.168.0.250/32 dev sl0",
                "sysctl -w net.ipv4.conf.sl0.proxy_arp=1",
                "ip neigh add proxy 192.168.0.250 dev eth0",
            ]
        );
        assert!(plan_for(&slip(None), &ctx).unwrap().is_empty());
        // slip has no name in the spec: the context must give it.
        let ctx = HostContext { dev: None, ..ctx };
        assert_eq!(
            plan_for(&slip(Some("192.168.0.251")), &ctx),
            Err(PlanError::NoDevice)
        );
    }

    #[test]
    fn mcast_and_daemon_need_no_host_setup() {
        let routes = seed_routes();
        let ctx = HostContext {
            setup: manual(Some("10.0.0.1"), true),
            ..HostContext::new(Some("tap0"), &[], &routes)
        };
        let m = DeviceSpec {
            index: 1,
            transport: Transport::Mcast(Mcast {
                mac: None,
                group: ip("239.192.168.1"),
                port: 1102,
                ttl: 1,
            }),
        };
        let d = DeviceSpec {
            index: 2,
            transport: Transport::Daemon(Daemon {
                mac: None,
                sock_type: "unix".try_into().unwrap(),
                ctl: None,
                data: None,
            }),
        };
        assert!(plan_for(&m, &ctx).unwrap().is_empty());
        assert!(plan_for(&d, &ctx).unwrap().is_empty());
        assert_eq!(plan_for(&m, &ctx).unwrap().to_string(), "");
    }

    #[test]
    fn guest_equal_to_gate_is_refused() {
        let guests = [GuestAddr {
            ip: ip("10.0.0.1"),
            netmask: None,
        }];
        let ctx = HostContext::new(Some("tap0"), &guests, &[]);
        let e = plan_for(&tuntap(None, Some("10.0.0.1")), &ctx).unwrap_err();
        assert_eq!(e, PlanError::GuestIsGate(ip("10.0.0.1")));
        assert!(e.to_string().contains("must be different"));
    }

    #[test]
    fn lan_devices_follow_the_helper_rule() {
        let routes = [
            route("eth0", "0.0.0.0", "0.0.0.0"),
            route("eth0", "192.168.0.0", "255.255.255.0"),
            route("eth1", "10.0.0.0", "255.0.0.0"),
            route("tap0", "192.168.0.253", "255.255.255.255"),
            route("br0", "192.168.0.0", "255.255.0.0"),
        ];
        let names = |g: GuestAddr| -> Vec<&str> {
            lan_devices(g, "tap0", &routes)
                .map(|n| n.as_str())
                .collect()
        };
        // Guest netmask /24: eth0 (once), not the default route's match, not tap0.
        assert_eq!(
            names(GuestAddr {
                ip: ip("192.168.0.253"),
                netmask: Some(ip("255.255.255.0"))
            }),
            ["eth0", "br0"]
        );
        // Unknown netmask: each route's own network must contain the guest.
        assert_eq!(
            names(GuestAddr {
                ip: ip("192.168.7.1"),
                netmask: None
            }),
            ["br0"]
        );
        assert_eq!(
            names(GuestAddr {
                ip: ip("10.9.9.9"),
                netmask: None
            }),
            ["eth1"]
        );
        // Nothing matches: no published entry at all (no eth0 fallback).
        assert!(
            names(GuestAddr {
                ip: ip("172.16.0.1"),
                netmask: None
            })
            .is_empty()
        );
        let plan = address_add(
            "tap0",
            GuestAddr {
                ip: ip("172.16.0.1"),
                netmask: Some(ip("255.255.0.0")),
            },
            &routes,
        )
        .unwrap();
        assert_eq!(plan.len(), 2);
    }

    #[test]
    fn every_action_prints_a_valid_ip_command_and_undoes() {
        let all = [
            HostAction::CreateTap(Tap {
                name: None,
                owner: 0,
                group: None,
                persistent: false,
            }),
            HostAction::SetMtu {
                dev: name("tap0"),
                mtu: 1484,
            },
            HostAction::FlushAddresses { dev: name("sl0") },
            HostAction::AddRoute(Route::Host {
                dst: ip("192.168.0.250"),
                dev: name("sl0"),
                via: Some(ip("192.168.0.251")),
            }),
            HostAction::AddRoute(Route::Net {
                net: ip("192.168.0.77"),
                prefix: Prefix::new(24).unwrap(),
                dev: name("eth0"),
            }),
            HostAction::AddRoute(Route::Default {
                via: ip("192.168.0.4"),
            }),
            HostAction::ProxyArp {
                dev: name("eth0.100"),
                on: true,
            },
        ];
        let text: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "ip tuntap add mode tap user 0",
                "ip link set dev tap0 mtu 1484",
                "ip -4 addr flush dev sl0",
                "ip route add 192.168.0.250/32 via 192.168.0.251 dev sl0",
                "ip route add 192.168.0.0/24 dev eth0",
                "ip route add default via 192.168.0.4",
                "sysctl -w net.ipv4.conf.eth0/100.proxy_arp=1",
            ]
        );
        let undone: Vec<Option<String>> = all
            .iter()
            .map(|a| a.undo().map(|u| u.to_string()))
            .collect();
        assert_eq!(
            undone,
            [
                None,
                None,
                None,
                Some("ip route del 192.168.0.250/32 via 192.168.0.251 dev sl0".to_string()),
                Some("ip route del 192.168.0.0/24 dev eth0".to_string()),
                Some("ip route del default via 192.168.0.4".to_string()),
                Some("sysctl -w net.ipv4.conf.eth0/100.proxy_arp=0".to_string()),
            ]
        );
    }

    #[test]
    fn names_prefixes_and_capacity() {
        assert!(if_name("tap0").is_ok());
        assert!(if_name("eth0.100").is_ok());
        assert!(if_name("abcdefghijklmno").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:1",
            "a b",
            "abcdefghijklmnop",
            "tab\t",
        ] {
            assert_eq!(if_name(bad), Err(PlanError::BadDeviceName), "{bad:?}");
        }
        assert_eq!(Prefix::from_netmask(ip("255.255.255.0")), Prefix::new(24));
        assert_eq!(Prefix::from_netmask(ip("0.0.0.0")), Prefix::new(0));
        assert_eq!(Prefix::from_netmask(ip("255.0.255.0")), None);
        assert_eq!(Prefix::new(33), None);
        assert_eq!(Prefix::new(20).unwrap().netmask(), ip("255.255.240.0"));
        assert_eq!(Prefix::new(0).unwrap().netmask(), ip("0.0.0.0"));

        let mut plan = Plan::new();
        for _ in 0..PLAN_MAX {
            plan.push(HostAction::IpForward).unwrap();
        }
        assert_eq!(plan.push(HostAction::IpForward), Err(PlanError::Full));
        assert!(plan.undo().is_empty());
        // Too many guest addresses for one plan.
        let guests: Vec<GuestAddr> = (1..=40)
            .map(|i| GuestAddr {
                ip: Ipv4Addr::new(10, 0, 0, i),
                netmask: None,
            })
            .collect();
        // Each guest takes a route and a published entry on eth0: 5 + 2 * 40 > 64.
        let routes = [route("eth0", "10.0.0.0", "255.255.255.0")];
        let ctx = HostContext::new(Some("tap0"), &guests, &routes);
        assert_eq!(
            plan_for(&tuntap(None, Some("10.0.1.1")), &ctx),
            Err(PlanError::Full)
        );
    }

    fn arb_name() -> impl Strategy<Value = IfName> {
        "[a-z][a-z0-9.]{0,14}".prop_map(|s| name(&s))
    }
    fn arb_ip() -> impl Strategy<Value = Ipv4Addr> {
        any::<u32>().prop_map(Ipv4Addr::from_bits)
    }
    fn arb_prefix() -> impl Strategy<Value = Prefix> {
        (0u8..=32).prop_map(|b| Prefix::new(b).unwrap())
    }
    fn arb_tap() -> impl Strategy<Value = Tap> {
        (
            proptest::option::of(arb_name()),
            any::<u32>(),
            proptest::option::of(any::<u32>()),
            any::<bool>(),
        )
            .prop_map(|(name, owner, group, persistent)| Tap {
                name,
                owner,
                group,
                persistent,
            })
    }
    fn arb_route() -> impl Strategy<Value = Route> {
        prop_oneof![
            (arb_ip(), arb_name(), proptest::option::of(arb_ip()))
                .prop_map(|(dst, dev, via)| Route::Host { dst, dev, via }),
            (arb_ip(), arb_prefix(), arb_name()).prop_map(|(net, prefix, dev)| Route::Net {
                net,
                prefix,
                dev
            }),
            arb_ip().prop_map(|via| Route::Default { via }),
        ]
    }
    fn arb_ifaddr() -> impl Strategy<Value = IfAddr> {
        (
            arb_name(),
            arb_ip(),
            arb_prefix(),
            proptest::option::of(arb_ip()),
        )
            .prop_map(|(dev, addr, prefix, peer)| IfAddr {
                dev,
                addr,
                prefix,
                peer,
            })
    }
    fn arb_action() -> impl Strategy<Value = HostAction> {
        prop_oneof![
            arb_tap().prop_map(HostAction::CreateTap),
            arb_tap().prop_map(HostAction::DeleteTap),
            arb_ifaddr().prop_map(HostAction::AddAddress),
            arb_ifaddr().prop_map(HostAction::DelAddress),
            arb_name().prop_map(|dev| HostAction::FlushAddresses { dev }),
            (arb_name(), any::<u16>()).prop_map(|(dev, mtu)| HostAction::SetMtu { dev, mtu }),
            arb_name().prop_map(|dev| HostAction::LinkUp { dev }),
            arb_name().prop_map(|dev| HostAction::LinkDown { dev }),
            arb_route().prop_map(HostAction::AddRoute),
            arb_route().prop_map(HostAction::DelRoute),
            (arb_name(), any::<bool>()).prop_map(|(dev, on)| HostAction::ProxyArp { dev, on }),
            (arb_ip(), arb_name()).prop_map(|(ip, dev)| HostAction::AddProxyNeigh { ip, dev }),
            (arb_ip(), arb_name()).prop_map(|(ip, dev)| HostAction::DelProxyNeigh { ip, dev }),
            Just(HostAction::IpForward),
        ]
    }
    fn arb_plan() -> impl Strategy<Value = Plan> {
        proptest::collection::vec(arb_action(), 0..=PLAN_MAX).prop_map(|v| {
            let mut p = Plan::new();
            for a in v {
                p.push(a).unwrap();
            }
            p
        })
    }

    proptest! {
        #[test]
        fn undo_twice_is_identity_on_invertible_actions(plan in arb_plan()) {
            let invertible: Vec<HostAction> =
                plan.iter().filter(|a| a.undo().is_some()).cloned().collect();
            let back = plan.undo().undo();
            prop_assert_eq!(back.actions(), &invertible[..]);
            prop_assert!(plan.undo().len() <= plan.len());
            for a in plan.iter() {
                if let Some(u) = a.undo() {
                    prop_assert_eq!(u.undo(), Some(a.clone()));
                    prop_assert_ne!(&u, a);
                }
            }
        }

        #[test]
        fn plan_prints_one_plain_command_per_action(plan in arb_plan()) {
            let text = plan.to_string();
            prop_assert_eq!(text.lines().count(), plan.len());
            for (line, a) in text.lines().zip(plan.iter()) {
                prop_assert_eq!(line, a.to_string());
                prop_assert!(line.starts_with("ip ") || line.starts_with("sysctl -w "));
                // Splitting on spaces gives the argv: no empty or quoted words.
                prop_assert!(line.split(' ').all(|w| !w.is_empty()));
                prop_assert!(!line.contains(['"', '\'', ';', '&', '|', '$', '\n']));
            }
        }

        #[test]
        fn plan_for_length_is_bounded(
            kind in 0u8..3,
            gate in proptest::option::of(arb_ip()),
            ctx_gate in proptest::option::of(arb_ip()),
            helper in any::<bool>(),
            create_tap in any::<bool>(),
            guests in proptest::collection::vec(
                (arb_ip(), proptest::option::of(arb_ip()))
                    .prop_map(|(ip, netmask)| GuestAddr { ip, netmask }),
                0..20),
            routes in proptest::collection::vec(
                (arb_name(), arb_ip(), arb_ip())
                    .prop_map(|(iface, dest, mask)| LanRoute { iface, dest, mask }),
                0..8),
        ) {
            let spec = match kind {
                0 => tuntap(None, None),
                1 => ethertap("tap0", None),
                _ => slip(None),
            };
            let spec = DeviceSpec {
                transport: match spec.transport {
                    Transport::Tuntap(t) => Transport::Tuntap(Tuntap { gate, ..t }),
                    Transport::Ethertap(e) => Transport::Ethertap(Ethertap { gate, ..e }),
                    Transport::Slip(_) => Transport::Slip(Slip { gate }),
                    other => other,
                },
                ..spec
            };
            let setup = if helper { Setup::Helper } else { Setup::Manual { gate: ctx_gate, create_tap } };
            let ctx = HostContext { setup, ..HostContext::new(Some("tap0"), &guests, &routes) };
            let distinct_lans = {
                let mut n: Vec<&IfName> = routes.iter().map(|r| &r.iface).collect();
                n.sort();
                n.dedup();
                n.len()
            };
            let bound = 6 + guests.len() * (2 + distinct_lans);
            match plan_for(&spec, &ctx) {
                Ok(plan) => {
                    prop_assert!(plan.len() <= bound);
                    let gate = gate.or(if helper { None } else { ctx_gate });
                    prop_assert_eq!(plan.is_empty(), gate.is_none() && helper);
                    // Each guest address gets exactly one route to it, or is the
                    // point-to-point peer.
                    for g in &guests {
                        let routed = plan.iter().any(|a| matches!(a,
                            HostAction::AddRoute(Route::Host { dst, .. }) if *dst == g.ip)
                            || matches!(a, HostAction::AddAddress(IfAddr { peer: Some(p), .. }) if *p == g.ip));
                        prop_assert!(routed || plan.is_empty());
                    }
                }
                Err(PlanError::Full) => prop_assert!(bound > PLAN_MAX),
                Err(PlanError::GuestIsGate(ip)) => prop_assert!(guests.iter().any(|g| g.ip == ip)),
                Err(PlanError::NoHostAddress) => prop_assert!(!helper && gate.is_none() && ctx_gate.is_none()),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
    }
}
