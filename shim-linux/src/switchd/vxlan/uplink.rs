//! One uplink without its socket ([`Uplink`]): its remote endpoints, which MAC address
//! is behind which, and where a frame leaving through it goes ([`Destinations`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use umlnet_core::mac::MacAddr;
use umlnet_core::switch::DEFAULT_AGEING;
use umlnet_core::time::Instant;

use super::{MAX_ENDPOINT_MACS, UplinkSpec};

/// Where a frame leaving through an uplink goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destinations<'a> {
    /// To the one endpoint its destination was learned from.
    One(SocketAddr),
    /// To every endpoint (broadcast, multicast, unknown or stale destination).
    All(&'a [SocketAddr]),
}

/// One uplink without its socket: its endpoints and which MAC address is behind which.
#[derive(Debug, Clone)]
pub struct Uplink {
    spec: UplinkSpec,
    macs: HashMap<MacAddr, (u16, Instant)>,
}

impl Uplink {
    /// An uplink that has learned nothing yet.
    pub fn new(spec: UplinkSpec) -> Uplink {
        Uplink {
            spec,
            macs: HashMap::new(),
        }
    }

    /// What it was configured with.
    pub fn spec(&self) -> &UplinkSpec {
        &self.spec
    }

    /// The index of the remote endpoint a datagram from `src` comes from: the endpoint
    /// with exactly that address and port, else the (first) one with that address.
    pub fn endpoint_of(&self, src: SocketAddr) -> Option<u16> {
        let ip = canonical_ip(src.ip());
        let exact = self
            .spec
            .remotes
            .iter()
            .position(|r| canonical_ip(r.ip()) == ip && r.port() == src.port());
        exact
            .or_else(|| {
                self.spec
                    .remotes
                    .iter()
                    .position(|r| canonical_ip(r.ip()) == ip)
            })
            .map(|i| i as u16)
    }

    /// Remembers that `mac` is behind endpoint `endpoint`, as seen at `now`.
    pub fn learn(&mut self, mac: MacAddr, endpoint: u16, now: Instant) {
        if !mac.is_unicast() {
            return;
        }
        if self.macs.len() >= MAX_ENDPOINT_MACS && !self.macs.contains_key(&mac) {
            self.macs
                .retain(|_, (_, seen)| now.saturating_duration_since(*seen) < DEFAULT_AGEING);
            if self.macs.len() >= MAX_ENDPOINT_MACS {
                self.macs.clear();
            }
        }
        self.macs.insert(mac, (endpoint, now));
    }

    /// The endpoint `mac` was last seen behind, unless that was longer ago than the
    /// switch's ageing time.
    pub fn endpoint_for(&self, mac: MacAddr, now: Instant) -> Option<SocketAddr> {
        let (e, seen) = self.macs.get(&mac)?;
        if now.saturating_duration_since(*seen) >= DEFAULT_AGEING {
            return None;
        }
        self.spec.remotes.get(usize::from(*e)).copied()
    }

    /// Where a frame for `dst` goes.
    pub fn destinations(&self, dst: MacAddr, now: Instant) -> Destinations<'_> {
        match self.endpoint_for(dst, now) {
            Some(e) => Destinations::One(e),
            None => Destinations::All(&self.spec.remotes),
        }
    }

    /// How many addresses it knows the endpoint of.
    pub fn learned(&self) -> usize {
        self.macs.len()
    }
}

/// IPv4-mapped IPv6 addresses compare equal to the IPv4 address they map.
pub(super) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::switchd::vxlan::testing::*;

    #[test]
    fn endpoints_match_by_address_then_port() {
        let u = Uplink::new(spec(
            "42,127.0.0.1:4789,127.0.0.1:4790,127.0.0.1:4791,10.0.0.2",
        ));
        assert_eq!(u.endpoint_of(sa("127.0.0.1:4791")), Some(1));
        assert_eq!(u.endpoint_of(sa("127.0.0.1:4790")), Some(0));
        // The kernel sends from a per-flow source port.
        assert_eq!(u.endpoint_of(sa("10.0.0.2:34217")), Some(2));
        assert_eq!(u.endpoint_of(sa("[::ffff:10.0.0.2]:34217")), Some(2));
        assert_eq!(u.endpoint_of(sa("10.0.0.3:4789")), None);
    }

    #[test]
    fn unknown_broadcast_and_stale_destinations_are_replicated() {
        let mut u = Uplink::new(spec("42,10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4"));
        let all = [
            sa("10.0.0.2:4789"),
            sa("10.0.0.3:4789"),
            sa("10.0.0.4:4789"),
        ];
        let t0 = Instant::from_secs(1);
        assert_eq!(u.destinations(A, t0), Destinations::All(&all));
        u.learn(A, 1, t0);
        u.learn(MacAddr([0xff; 6]), 2, t0);
        assert_eq!(u.destinations(A, t0), Destinations::One(all[1]));
        assert_eq!(
            u.destinations(MacAddr([0xff; 6]), t0),
            Destinations::All(&all),
            "broadcast is never learned"
        );
        assert_eq!(u.destinations(B, t0), Destinations::All(&all));
        // Moved behind another endpoint.
        u.learn(A, 2, t0);
        assert_eq!(u.destinations(A, t0), Destinations::One(all[2]));
        let later = t0.saturating_add(DEFAULT_AGEING);
        assert_eq!(u.destinations(A, later), Destinations::All(&all));
    }

    #[test]
    fn endpoint_table_is_bounded() {
        let mut u = Uplink::new(spec("42,10.0.0.1,10.0.0.2"));
        let t0 = Instant::from_secs(1);
        for i in 0..MAX_ENDPOINT_MACS as u32 {
            let b = i.to_be_bytes();
            u.learn(MacAddr([2, 0, b[0], b[1], b[2], b[3]]), 0, t0);
        }
        assert_eq!(u.learned(), MAX_ENDPOINT_MACS);
        let later = t0.saturating_add(DEFAULT_AGEING);
        u.learn(A, 0, later);
        assert_eq!(u.learned(), 1, "all stale entries went");
        assert_eq!(
            u.destinations(A, later),
            Destinations::One(sa("10.0.0.2:4789"))
        );
    }
}
