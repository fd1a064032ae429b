//! The guest's one IPv4 routing table, shared by all interfaces, as `route -n` shows it.
//!
//! A UML kernel has one routing table across all its interfaces: the egress
//! interface and the next hop of every packet come from a longest-prefix match here
//! (then the lowest metric, then the oldest route). A route without a gateway means
//! "on-link": the destination itself is resolved with ARP on that interface; a route
//! with a gateway sends the packet to the gateway's hardware address instead. This is
//! exactly what the UML networking page's "network route that's automatically set up" is about.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use umlnet_guest::route::{Origin, Route, RouteTable};
//!
//! let mut table = RouteTable::new();
//! table.add(Route::new(Ipv4Addr::new(192, 168, 0, 0), 24, None, 0, Origin::Kernel)).unwrap();
//! table.add(Route::new(Ipv4Addr::UNSPECIFIED, 0, Some(Ipv4Addr::new(192, 168, 0, 4)), 0, Origin::Static)).unwrap();
//! let r = table.lookup(Ipv4Addr::new(10, 1, 2, 3)).unwrap();
//! assert_eq!(r.gateway, Some(Ipv4Addr::new(192, 168, 0, 4)));
//! assert_eq!(table.lookup(Ipv4Addr::new(192, 168, 0, 9)).unwrap().gateway, None);
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;
use umlnet_core::ipv4::Prefix;

/// Who made a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Added by the kernel when an address was assigned (the connected network route).
    Kernel,
    /// Added by the user with `route add`.
    Static,
}

/// One routing table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Destination network (host bits clear).
    pub dest: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub prefix_len: u8,
    /// Next hop; `None` means the destination is on-link.
    pub gateway: Option<Ipv4Addr>,
    /// The egress interface, by its `eth<n>` number.
    pub iface: u32,
    /// Metric (lower wins among equal prefixes).
    pub metric: u32,
    /// Who made it.
    pub origin: Origin,
}

impl Route {
    /// A route with metric 0; `dest` is masked to `prefix_len` (which is capped at 32).
    pub fn new(
        dest: Ipv4Addr,
        prefix_len: u8,
        gateway: Option<Ipv4Addr>,
        iface: u32,
        origin: Origin,
    ) -> Self {
        let prefix_len = prefix_len.min(32);
        Route {
            dest: Ipv4Addr::from_bits(dest.to_bits() & mask_bits(prefix_len)),
            prefix_len,
            gateway,
            iface,
            metric: 0,
            origin,
        }
    }

    /// The netmask (`Genmask` column).
    pub fn genmask(&self) -> Ipv4Addr {
        mask(self.prefix_len)
    }

    /// Whether `addr` falls inside this route's destination.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        addr.to_bits() & mask_bits(self.prefix_len) == self.dest.to_bits()
    }

    /// The `Flags` column: `U` (up), `G` (via gateway), `H` (host route).
    pub fn flags(&self) -> &'static str {
        match (self.gateway.is_some(), self.prefix_len == 32) {
            (false, false) => "U",
            (true, false) => "UG",
            (false, true) => "UH",
            (true, true) => "UGH",
        }
    }
}

/// Why a routing table change was refused, named as the kernel's errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// The same route is already there (`EEXIST`).
    Exists,
    /// No route matched a delete (`ESRCH`).
    NotFound,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::Exists => f.write_str("File exists"),
            RouteError::NotFound => f.write_str("No such process"),
        }
    }
}

/// What `route del` names: the destination is required, the rest narrows the match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selector {
    /// Destination network.
    pub dest: Ipv4Addr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Only a route via this gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Only a route through this interface.
    pub iface: Option<u32>,
    /// Only a route with this metric.
    pub metric: Option<u32>,
}

/// The routing table.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        RouteTable::default()
    }

    /// Adds a route; an identical one (destination, prefix, gateway, interface,
    /// metric) is refused with [`RouteError::Exists`].
    pub fn add(&mut self, route: Route) -> Result<(), RouteError> {
        let same = |r: &Route| {
            r.dest == route.dest
                && r.prefix_len == route.prefix_len
                && r.gateway == route.gateway
                && r.iface == route.iface
                && r.metric == route.metric
        };
        if self.routes.iter().any(same) {
            return Err(RouteError::Exists);
        }
        self.routes.push(route);
        Ok(())
    }

    /// Removes the first route (in `route -n` order) that `sel` matches.
    pub fn remove(&mut self, sel: &Selector) -> Result<Route, RouteError> {
        let dest = Ipv4Addr::from_bits(sel.dest.to_bits() & mask_bits(sel.prefix_len.min(32)));
        let found = self
            .display_order()
            .into_iter()
            .find(|&i| {
                let r = &self.routes[i];
                r.dest == dest
                    && r.prefix_len == sel.prefix_len
                    && sel.gateway.is_none_or(|g| r.gateway == Some(g))
                    && sel.iface.is_none_or(|d| r.iface == d)
                    && sel.metric.is_none_or(|m| r.metric == m)
            })
            .ok_or(RouteError::NotFound)?;
        Ok(self.routes.remove(found))
    }

    /// Removes every route through `iface` (the interface went down or away).
    pub fn remove_iface(&mut self, iface: u32) {
        self.routes.retain(|r| r.iface != iface);
    }

    /// Removes the kernel-made routes of `iface` (its address changed).
    pub fn remove_kernel_routes(&mut self, iface: u32) {
        self.routes
            .retain(|r| !(r.iface == iface && r.origin == Origin::Kernel));
    }

    /// The best route to `dst`: longest prefix, then lowest metric, then oldest.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<&Route> {
        self.best(dst, |_| true)
    }

    /// The best on-link route (no gateway) to `dst`, optionally only through `iface`:
    /// what the kernel requires of a gateway before it accepts a route via it.
    pub fn lookup_on_link(&self, dst: Ipv4Addr, iface: Option<u32>) -> Option<&Route> {
        self.best(dst, |r| {
            r.gateway.is_none() && iface.is_none_or(|i| r.iface == i)
        })
    }

    fn best(&self, dst: Ipv4Addr, keep: impl Fn(&Route) -> bool) -> Option<&Route> {
        let mut best: Option<&Route> = None;
        for r in self.routes.iter().filter(|r| r.contains(dst) && keep(r)) {
            let better = match best {
                None => true,
                Some(b) => {
                    r.prefix_len > b.prefix_len
                        || (r.prefix_len == b.prefix_len && r.metric < b.metric)
                }
            };
            if better {
                best = Some(r);
            }
        }
        best
    }

    /// All routes in `route -n` order: by destination, longer prefixes first, then age.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.display_order().into_iter().map(|i| &self.routes[i])
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    fn display_order(&self) -> Vec<usize> {
        let key = |i: usize| {
            let r = &self.routes[i];
            (r.dest.to_bits(), core::cmp::Reverse(r.prefix_len), i)
        };
        // Insertion sort: a routing table is short, and the library sort is 2 KiB of
        // code on a microcontroller.
        let mut order: Vec<usize> = Vec::with_capacity(self.routes.len());
        for i in 0..self.routes.len() {
            let at = order.partition_point(|&j| key(j) < key(i));
            order.insert(at, i);
        }
        order
    }

    /// The table as `route -n` prints it (`numeric`), or as plain `route` does
    /// (`default` for 0.0.0.0); `name` gives the interface name for a number.
    pub fn format(&self, numeric: bool, name: impl Fn(u32) -> String) -> String {
        use core::fmt::Write;
        let mut out = String::from(
            "Kernel IP routing table\n\
             Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n",
        );
        for r in self.iter() {
            let dest = if !numeric && r.prefix_len == 0 && r.dest.is_unspecified() {
                String::from("default")
            } else {
                r.dest.to_string()
            };
            let gw = r.gateway.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string();
            let _ = writeln!(
                out,
                "{:<15} {:<15} {:<15} {:<5} {:<6} {:<2} {:>7} {}",
                dest,
                gw,
                r.genmask().to_string(),
                r.flags(),
                r.metric,
                0,
                0,
                name(r.iface)
            );
        }
        out
    }
}

use alloc::string::ToString;

fn mask_bits(prefix_len: u8) -> u32 {
    mask(prefix_len).to_bits()
}

/// The netmask of a prefix length (capped at 32).
pub fn mask(prefix_len: u8) -> Ipv4Addr {
    Prefix::saturating(prefix_len).netmask()
}

/// The prefix length of a contiguous netmask, or `None` for one like 255.0.255.0.
pub fn prefix_len(mask: Ipv4Addr) -> Option<u8> {
    Prefix::from_netmask(mask).map(Prefix::bits)
}

/// The classful netmask that `ifconfig` and `route` assume when none is given:
/// class A /8, class B /16, class C /24, anything else /32... as net-tools does for
/// D and E, which is a host mask.
pub fn classful_prefix(addr: Ipv4Addr) -> u8 {
    match addr.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        192..=223 => 24,
        _ => 32,
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::format;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn names(i: u32) -> String {
        format!("eth{i}")
    }

    #[test]
    fn route_n_layout_matches_net_tools() {
        // Captured from net-tools 2.10 `route -n` (interface renamed).
        let mut t = RouteTable::new();
        t.add(Route::new(ip("192.168.0.0"), 24, None, 0, Origin::Kernel))
            .unwrap();
        assert_eq!(
            t.format(true, names),
            "Kernel IP routing table\n\
             Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n\
             192.168.0.0     0.0.0.0         255.255.255.0   U     0      0        0 eth0\n"
        );
        t.remove(&Selector {
            dest: ip("192.168.0.0"),
            prefix_len: 24,
            gateway: None,
            iface: Some(0),
            metric: None,
        })
        .unwrap();
        t.add(Route::new(ip("192.168.0.4"), 32, None, 0, Origin::Static))
            .unwrap();
        t.add(Route::new(
            ip("0.0.0.0"),
            0,
            Some(ip("192.168.0.4")),
            0,
            Origin::Static,
        ))
        .unwrap();
        t.add(Route::new(
            ip("10.0.0.0"),
            8,
            Some(ip("192.168.0.4")),
            0,
            Origin::Static,
        ))
        .unwrap();
        t.add(Route::new(
            ip("10.2.3.4"),
            32,
            Some(ip("192.168.0.4")),
            0,
            Origin::Static,
        ))
        .unwrap();
        assert_eq!(
            t.format(true, names),
            "Kernel IP routing table\n\
             Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n\
             0.0.0.0         192.168.0.4     0.0.0.0         UG    0      0        0 eth0\n\
             10.0.0.0        192.168.0.4     255.0.0.0       UG    0      0        0 eth0\n\
             10.2.3.4        192.168.0.4     255.255.255.255 UGH   0      0        0 eth0\n\
             192.168.0.4     0.0.0.0         255.255.255.255 UH    0      0        0 eth0\n"
        );
        assert!(
            t.format(false, names)
                .contains("\ndefault         192.168.0.4")
        );
    }

    #[test]
    fn longest_prefix_then_metric_wins() {
        let mut t = RouteTable::new();
        t.add(Route::new(
            ip("0.0.0.0"),
            0,
            Some(ip("10.0.0.1")),
            0,
            Origin::Static,
        ))
        .unwrap();
        t.add(Route::new(ip("10.0.0.0"), 8, None, 0, Origin::Kernel))
            .unwrap();
        t.add(Route::new(ip("10.1.0.0"), 16, None, 1, Origin::Static))
            .unwrap();
        let mut r = Route::new(ip("10.1.0.0"), 16, None, 2, Origin::Static);
        r.metric = 5;
        t.add(r).unwrap();
        assert_eq!(t.lookup(ip("10.1.2.3")).unwrap().iface, 1);
        assert_eq!(t.lookup(ip("10.2.2.3")).unwrap().iface, 0);
        assert_eq!(
            t.lookup(ip("8.8.8.8")).unwrap().gateway,
            Some(ip("10.0.0.1"))
        );
        assert!(t.lookup_on_link(ip("8.8.8.8"), None).is_none());
        assert_eq!(t.lookup_on_link(ip("10.1.0.9"), Some(2)).unwrap().iface, 2);
    }

    #[test]
    fn duplicates_and_missing_routes_are_errors() {
        let mut t = RouteTable::new();
        let r = Route::new(ip("192.168.0.4"), 32, None, 0, Origin::Static);
        t.add(r).unwrap();
        assert_eq!(t.add(r), Err(RouteError::Exists));
        let sel = Selector {
            dest: ip("172.16.0.0"),
            prefix_len: 16,
            gateway: None,
            iface: None,
            metric: None,
        };
        assert_eq!(t.remove(&sel), Err(RouteError::NotFound));
        assert_eq!(RouteError::NotFound.to_string(), "No such process");
    }

    #[test]
    fn masks_and_classes() {
        assert_eq!(prefix_len(ip("255.255.255.0")), Some(24));
        assert_eq!(prefix_len(ip("0.0.0.0")), Some(0));
        assert_eq!(prefix_len(ip("255.255.255.255")), Some(32));
        assert_eq!(prefix_len(ip("255.0.255.0")), None);
        assert_eq!(mask(20), ip("255.255.240.0"));
        assert_eq!(classful_prefix(ip("192.168.0.253")), 24);
        assert_eq!(classful_prefix(ip("172.16.1.1")), 16);
        assert_eq!(classful_prefix(ip("10.0.0.1")), 8);
    }
}
