//! The `-vxlan <vni>,<local ip>[:port],<remote ip>[:port]...` argument: [`UplinkSpec`],
//! its parser and its canonical form.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use umlnet_core::vxlan::{self, DEFAULT_PORT, Vni};

/// One `-vxlan` uplink as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UplinkSpec {
    /// The segment the uplink carries.
    pub vni: Vni,
    /// Where datagrams are received and sent from (port 4789 unless given).
    pub local: SocketAddr,
    /// The switches at the other ends (port 4789 unless given); at least one.
    pub remotes: Vec<SocketAddr>,
}

/// Why a `-vxlan` argument is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Fewer than three comma-separated parts.
    #[error(
        "'{0}' needs <vni>,<local ip>[:port],<remote ip>[:port][,<remote>...], \
         e.g. 42,10.0.0.1,10.0.0.2"
    )]
    TooFewParts(String),
    /// The VNI part is not a 24-bit number.
    #[error("VNI '{text}': {why}")]
    Vni {
        /// The text given.
        text: String,
        /// The codec's reason.
        why: vxlan::Error,
    },
    /// An address part is not `ip`, `ip:port`, or `[ipv6]:port`.
    #[error(
        "'{0}' is not an address: write an IP address, optionally with :port \
         (IPv6 with a port as [addr]:port)"
    )]
    Address(String),
    /// Port 0 cannot be sent to.
    #[error("'{0}': port 0 cannot be used; leave the port out for {DEFAULT_PORT}")]
    PortZero(String),
    /// A remote of another address family than the local address.
    #[error("remote {remote} is not of the same address family as the local address {local}")]
    Family {
        /// The local address.
        local: SocketAddr,
        /// The remote address.
        remote: SocketAddr,
    },
    /// The remote is the local address itself.
    #[error("remote {0} is the local address itself")]
    SelfRemote(SocketAddr),
    /// A remote is named twice.
    #[error("remote {0} is given twice")]
    DuplicateRemote(SocketAddr),
    /// A remote is a multicast, broadcast or unspecified address (only unicast head-end
    /// replication is supported).
    #[error("remote {0} is not a unicast address; list each remote switch (head-end replication)")]
    NotUnicast(SocketAddr),
}

fn parse_endpoint(text: &str) -> Result<SocketAddr, SpecError> {
    let addr = match SocketAddr::from_str(text) {
        Ok(a) => a,
        Err(_) => match IpAddr::from_str(text) {
            Ok(ip) => SocketAddr::new(ip, DEFAULT_PORT),
            Err(_) => return Err(SpecError::Address(text.to_string())),
        },
    };
    if addr.port() == 0 {
        return Err(SpecError::PortZero(text.to_string()));
    }
    Ok(addr)
}

fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_multicast() || a.is_broadcast() || a.is_unspecified()),
        IpAddr::V6(a) => !(a.is_multicast() || a.is_unspecified()),
    }
}

impl FromStr for UplinkSpec {
    type Err = SpecError;
    /// `<vni>,<local ip>[:port],<remote ip>[:port][,<remote ip>[:port]...]`.
    fn from_str(s: &str) -> Result<UplinkSpec, SpecError> {
        let parts: Vec<&str> = s.split(',').collect();
        if parts.len() < 3 {
            return Err(SpecError::TooFewParts(s.to_string()));
        }
        let vni = parts[0].parse::<Vni>().map_err(|why| SpecError::Vni {
            text: parts[0].to_string(),
            why,
        })?;
        let local = parse_endpoint(parts[1])?;
        let mut remotes = Vec::with_capacity(parts.len() - 2);
        for p in &parts[2..] {
            let remote = parse_endpoint(p)?;
            if remote.is_ipv4() != local.is_ipv4() {
                return Err(SpecError::Family { local, remote });
            }
            if remote == local {
                return Err(SpecError::SelfRemote(remote));
            }
            if !is_unicast(remote.ip()) {
                return Err(SpecError::NotUnicast(remote));
            }
            if remotes.contains(&remote) {
                return Err(SpecError::DuplicateRemote(remote));
            }
            remotes.push(remote);
        }
        Ok(UplinkSpec {
            vni,
            local,
            remotes,
        })
    }
}

impl fmt::Display for UplinkSpec {
    /// The canonical form, every port written out: `42,10.0.0.1:4789,10.0.0.2:4789`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.vni, self.local)?;
        for r in &self.remotes {
            write!(f, ",{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::switchd::vxlan::testing::*;
    use proptest::prelude::*;

    #[test]
    fn spec_defaults_and_canonical_form() {
        let s = spec("42,10.0.0.1,10.0.0.2");
        assert_eq!(s.vni.get(), 42);
        assert_eq!(s.local, sa("10.0.0.1:4789"));
        assert_eq!(s.remotes, vec![sa("10.0.0.2:4789")]);
        assert_eq!(s.to_string(), "42,10.0.0.1:4789,10.0.0.2:4789");
        let s = spec("7,10.0.0.1:5000,10.0.0.2:4790,10.0.0.3");
        assert_eq!(s.local, sa("10.0.0.1:5000"));
        assert_eq!(s.remotes, vec![sa("10.0.0.2:4790"), sa("10.0.0.3:4789")]);
        assert_eq!(s.to_string(), "7,10.0.0.1:5000,10.0.0.2:4790,10.0.0.3:4789");
    }

    #[test]
    fn spec_errors_name_the_part() {
        let err = |s: &str| s.parse::<UplinkSpec>().unwrap_err().to_string();
        assert!(err("42,10.0.0.1").contains("needs <vni>,<local ip>[:port],<remote ip>"));
        assert_eq!(
            err("16777216,10.0.0.1,10.0.0.2"),
            "VNI '16777216': VNI 16777216 does not fit in 24 bits; use 0 to 16777215"
        );
        assert!(err("x,10.0.0.1,10.0.0.2").starts_with("VNI 'x': a VNI is a decimal number"));
        assert!(err("42,host,10.0.0.2").starts_with("'host' is not an address"));
        assert!(err("42,10.0.0.1,10.0.0.2:0").contains("port 0 cannot be used"));
        assert_eq!(
            err("42,10.0.0.1,fd00::2"),
            "remote [fd00::2]:4789 is not of the same address family as the local address \
             10.0.0.1:4789"
        );
        assert_eq!(
            err("42,10.0.0.1,10.0.0.1"),
            "remote 10.0.0.1:4789 is the local address itself"
        );
        assert_eq!(
            err("42,10.0.0.1,10.0.0.2,10.0.0.2:4789"),
            "remote 10.0.0.2:4789 is given twice"
        );
        assert!(err("42,10.0.0.1,239.1.1.1").contains("not a unicast address"));
        assert!(err("42,0.0.0.0,0.0.0.0:4790").contains("not a unicast address"));
    }

    #[test]
    fn ipv6_specs() {
        let s = spec("42,[fd00::1]:4790,fd00::2,[fd00::3]:5000");
        assert_eq!(s.local, sa("[fd00::1]:4790"));
        assert_eq!(s.remotes, vec![sa("[fd00::2]:4789"), sa("[fd00::3]:5000")]);
        assert_eq!(
            s.to_string(),
            "42,[fd00::1]:4790,[fd00::2]:4789,[fd00::3]:5000"
        );
        // The wildcard local address is allowed (the kernel picks the source).
        assert_eq!(spec("1,0.0.0.0,10.0.0.2").local, sa("0.0.0.0:4789"));
    }

    fn any_endpoint() -> impl Strategy<Value = SocketAddr> {
        (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, port)| {
            let ip = std::net::Ipv4Addr::from([10, ip[1], ip[2], ip[3]]);
            SocketAddr::new(IpAddr::V4(ip), port)
        })
    }

    proptest! {
        #[test]
        fn spec_print_then_parse_is_identity(
            vni in 0u32..=0xff_ffff,
            local in any_endpoint(),
            remotes in proptest::collection::vec(any_endpoint(), 1..5),
        ) {
            let mut rs = Vec::new();
            for r in remotes {
                if r != local && !rs.contains(&r) {
                    rs.push(r);
                }
            }
            prop_assume!(!rs.is_empty());
            let s = UplinkSpec { vni: Vni::new(vni).unwrap(), local, remotes: rs };
            prop_assert_eq!(s.to_string().parse::<UplinkSpec>(), Ok(s));
        }

        #[test]
        fn spec_parse_never_panics_and_prints_back(text in "[0-9a-f:.,\\[\\]]{0,40}") {
            if let Ok(s) = text.parse::<UplinkSpec>() {
                prop_assert_eq!(s.to_string().parse::<UplinkSpec>(), Ok(s));
            }
        }
    }
}
