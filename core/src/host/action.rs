//! The typed actions of a plan ([`HostAction`]) and what they act on ([`Tap`], [`IfAddr`],
//! [`Route`]), each printed as the `ip`/`sysctl` command that does it.

use core::fmt;
use core::net::Ipv4Addr;

use crate::cmdline::IfName;

use super::Prefix;

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
                let net = Ipv4Addr::from_bits(net.to_bits() & prefix.netmask().to_bits());
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
