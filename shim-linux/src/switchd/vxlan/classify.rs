//! Taking a received datagram apart: is it VXLAN, for a VNI served here, from a known
//! endpoint ([`classify`]); why not ([`RxDrop`]).

use std::net::SocketAddr;

use umlnet_core::mac::MacAddr;
use umlnet_core::time::Instant;
use umlnet_core::vxlan::{self, Vni};

use super::{Uplink, VxlanStats};

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxDrop {
    /// Shorter than the VXLAN header plus an Ethernet header.
    Short,
    /// The I flag was clear.
    BadFlags,
    /// No uplink on that socket serves its VNI.
    WrongVni(Vni),
    /// The sender is not a remote endpoint of the uplink serving its VNI.
    UnknownEndpoint(SocketAddr),
}

/// Reads one datagram received from `src` on a socket serving the uplinks `serving`
/// (indices into `uplinks`): on success, the index of the uplink it belongs to and the
/// inner frame; the source MAC is learned behind its endpoint. Counts into `stats`.
pub fn classify<'d>(
    uplinks: &mut [Uplink],
    serving: &[usize],
    src: SocketAddr,
    datagram: &'d [u8],
    now: Instant,
    stats: &mut VxlanStats,
) -> Result<(usize, &'d [u8]), RxDrop> {
    stats.rx_datagrams += 1;
    let res = classify_inner(uplinks, serving, src, datagram, now);
    match res {
        Ok(_) => {
            stats.rx_frames += 1;
            let p = vxlan::Packet::new_unchecked(datagram);
            if p.reserved_flags() != 0 || p.reserved() != 0 {
                stats.reserved_bits_ignored += 1;
            }
        }
        Err(RxDrop::Short) => stats.drops_short += 1,
        Err(RxDrop::BadFlags) => stats.drops_bad_flags += 1,
        Err(RxDrop::WrongVni(_)) => stats.drops_wrong_vni += 1,
        Err(RxDrop::UnknownEndpoint(_)) => stats.drops_unknown_endpoint += 1,
    }
    res
}

fn classify_inner<'d>(
    uplinks: &mut [Uplink],
    serving: &[usize],
    src: SocketAddr,
    datagram: &'d [u8],
    now: Instant,
) -> Result<(usize, &'d [u8]), RxDrop> {
    let (vni, frame) = match vxlan::decapsulate(datagram) {
        Ok(v) => v,
        Err(vxlan::Error::VniFlagClear { .. }) => return Err(RxDrop::BadFlags),
        Err(_) => return Err(RxDrop::Short),
    };
    let mut vni_served = false;
    for &u in serving {
        let Some(up) = uplinks.get_mut(u) else {
            continue;
        };
        if up.spec().vni != vni {
            continue;
        }
        vni_served = true;
        if let Some(e) = up.endpoint_of(src) {
            let mut s = [0u8; 6];
            s.copy_from_slice(&frame[6..12]);
            up.learn(MacAddr(s), e, now);
            return Ok((u, frame));
        }
    }
    if vni_served {
        Err(RxDrop::UnknownEndpoint(src))
    } else {
        Err(RxDrop::WrongVni(vni))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::switchd::vxlan::Destinations;
    use crate::switchd::vxlan::testing::*;
    use proptest::prelude::*;
    use std::net::IpAddr;

    #[test]
    fn kernel_datagram_is_taken_and_its_sender_learned() {
        let mut ups = vec![Uplink::new(spec("42,10.212.0.2,10.212.0.1"))];
        let mut st = VxlanStats::default();
        let now = Instant::from_secs(5);
        let (u, frame) = classify(
            &mut ups,
            &[0],
            sa("10.212.0.1:44889"),
            &KERNEL_ARP_REQUEST,
            now,
            &mut st,
        )
        .unwrap();
        assert_eq!(u, 0);
        assert_eq!(frame, &KERNEL_ARP_REQUEST[8..]);
        assert_eq!(
            ups[0].destinations(KERNEL_MAC, now),
            Destinations::One(sa("10.212.0.1:4789")),
            "answers go to the endpoint's VXLAN port, not to its source port"
        );
        assert_eq!((st.rx_datagrams, st.rx_frames), (1, 1));
    }

    #[test]
    fn malformed_and_foreign_datagrams_are_counted_apart() {
        let mut ups = vec![
            Uplink::new(spec("42,10.0.0.1,10.0.0.2")),
            Uplink::new(spec("43,10.0.0.1,10.0.0.3")),
        ];
        let mut st = VxlanStats::default();
        let now = Instant::ZERO;
        let from2 = sa("10.0.0.2:40000");
        let mut c = |d: &[u8], src| classify(&mut ups, &[0, 1], src, d, now, &mut st).map(|r| r.0);
        assert_eq!(c(&KERNEL_ARP_REQUEST[..7], from2), Err(RxDrop::Short));
        assert_eq!(c(&KERNEL_ARP_REQUEST[..21], from2), Err(RxDrop::Short));
        let mut bad = KERNEL_ARP_REQUEST;
        bad[0] = 0;
        assert_eq!(c(&bad, from2), Err(RxDrop::BadFlags));
        let mut other = KERNEL_ARP_REQUEST;
        other[6] = 44;
        assert_eq!(
            c(&other, from2),
            Err(RxDrop::WrongVni(Vni::new(44).unwrap()))
        );
        // VNI 43 is served, but by the uplink to 10.0.0.3, not 10.0.0.2.
        other[6] = 43;
        assert_eq!(c(&other, from2), Err(RxDrop::UnknownEndpoint(from2)));
        assert_eq!(c(&other, sa("10.0.0.3:1")), Ok(1));
        let mut gbp = KERNEL_ARP_REQUEST;
        gbp[0] = 0x88;
        gbp[2] = 0x10;
        assert_eq!(c(&gbp, from2), Ok(0));
        assert_eq!(
            st,
            VxlanStats {
                rx_datagrams: 7,
                rx_frames: 2,
                drops_short: 2,
                drops_bad_flags: 1,
                drops_wrong_vni: 1,
                drops_unknown_endpoint: 1,
                reserved_bits_ignored: 1,
                ..VxlanStats::default()
            }
        );
        assert!(st.lines().contains(&("vxlan_drops_wrong_vni", 1)));
    }

    proptest! {
        #[test]
        fn classify_never_panics(d in proptest::collection::vec(any::<u8>(), 0..64), port in any::<u16>()) {
            let mut ups = vec![Uplink::new(spec("42,10.0.0.1,10.0.0.2"))];
            let mut st = VxlanStats::default();
            let src = SocketAddr::new(IpAddr::V4([10, 0, 0, 2].into()), port);
            let r = classify(&mut ups, &[0], src, &d, Instant::ZERO, &mut st);
            prop_assert_eq!(st.rx_datagrams, 1);
            prop_assert_eq!(r.is_ok(), st.rx_frames == 1);
        }
    }
}
