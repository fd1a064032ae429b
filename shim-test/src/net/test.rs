//! Tests of the simulated wires: delivery, the switch, faults, link changes, framings.

use super::*;
use proptest::prelude::*;
use umlnet_core::link::{Link, Medium};

const LAT: Duration = Duration::from_micros(100);

fn eth(dst: u8, src: u8, tag: u8) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, dst]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, src]);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f[14] = tag;
    f
}

fn drain(p: &mut SimPort) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Some(n) = p.recv(&mut buf).unwrap() {
        out.push(buf[..n].to_vec());
    }
    out
}

fn run_all(net: &Net) {
    while let Some(t) = net.next_event() {
        net.advance_to(t);
    }
}

#[test]
fn wire_delivers_after_latency_in_order() {
    let net = Net::new(0);
    let w = net.add_segment("w", SegmentKind::Wire, Framing::Ethernet, LAT);
    let mut a = net.attach(w, "a");
    let mut b = net.attach(w, "b");
    for i in 0..3 {
        a.send(&eth(2, 1, i)).unwrap();
    }
    net.advance_to(EPOCH + Duration::from_micros(99));
    assert!(drain(&mut b).is_empty());
    net.advance_to(EPOCH + LAT);
    let got = drain(&mut b);
    assert_eq!(got.iter().map(|f| f[14]).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(drain(&mut a).is_empty(), "a frame came back to its sender");
    assert_eq!(net.pcap(w).frames(), 3);
    assert_eq!(net.stats(w).delivered, 3);
}

#[test]
fn switch_learns_floods_and_forgets_a_detached_port() {
    let net = Net::new(0);
    let s = net.add_segment(
        "sw",
        SegmentKind::Switch { hub: false },
        Framing::Ethernet,
        LAT,
    );
    let mut a = net.attach(s, "a");
    let mut b = net.attach(s, "b");
    let mut c = net.attach(s, "c");
    a.send(&eth(2, 1, 0)).unwrap(); // b unknown: flood
    run_all(&net);
    assert_eq!((drain(&mut b).len(), drain(&mut c).len()), (1, 1));
    b.send(&eth(1, 2, 0)).unwrap(); // a learned: unicast
    run_all(&net);
    assert_eq!((drain(&mut a).len(), drain(&mut c).len()), (1, 0));
    a.send(&eth(2, 1, 0)).unwrap(); // b learned now
    run_all(&net);
    assert_eq!((drain(&mut b).len(), drain(&mut c).len()), (1, 0));
    net.detach(b.id());
    assert!(b.send(&eth(1, 2, 0)).is_err());
    a.send(&eth(2, 1, 0)).unwrap(); // b forgotten: flood to c
    run_all(&net);
    assert_eq!(drain(&mut c).len(), 1);
    net.set_hub(s, true);
    c.send(&eth(1, 3, 0)).unwrap();
    run_all(&net);
    assert_eq!(drain(&mut a).len(), 1);
}

#[test]
fn restart_empties_the_table_and_down_drops() {
    let net = Net::new(0);
    let s = net.add_segment(
        "sw",
        SegmentKind::Switch { hub: false },
        Framing::Ethernet,
        LAT,
    );
    let mut a = net.attach(s, "a");
    let mut b = net.attach(s, "b");
    let mut c = net.attach(s, "c");
    b.send(&eth(1, 2, 0)).unwrap();
    run_all(&net);
    drain(&mut a);
    drain(&mut c);
    net.schedule_restart(s, net.now() + LAT);
    run_all(&net);
    a.send(&eth(2, 1, 0)).unwrap(); // b forgotten by the restart: flood
    run_all(&net);
    assert_eq!(drain(&mut c).len(), 1);
    assert_eq!(drain(&mut b).len(), 1);
    let t = net.now();
    net.schedule_down(s, t + LAT);
    net.schedule_up(s, t + LAT * 10);
    net.advance_to(t + LAT * 2);
    a.send(&eth(2, 1, 1)).unwrap();
    run_all(&net);
    assert!(drain(&mut b).is_empty());
    a.send(&eth(2, 1, 2)).unwrap();
    run_all(&net);
    assert_eq!(drain(&mut b).len(), 1);
    let t = net.transcript();
    assert!(
        t.contains("sw: switch restarted")
            && t.contains("sw: link down")
            && t.contains("sw: link up")
    );
}

#[test]
fn ethertap_and_slip_framing_round_trip() {
    let net = Net::new(0);
    let w = net.add_segment("tap0", SegmentKind::Wire, Framing::Ethertap, LAT);
    let mut a = EthertapLink::new(net.attach(w, "a"));
    let mut raw = net.attach(w, "raw");
    a.send(&eth(2, 1, 7)).unwrap();
    run_all(&net);
    let got = drain(&mut raw);
    assert_eq!(got[0][..2], [0, 0]);
    assert_eq!(got[0][2..], eth(2, 1, 7)[..]);
    raw.send(&got[0]).unwrap();
    run_all(&net);
    let mut buf = [0u8; 2048];
    assert_eq!(a.recv(&mut buf).unwrap(), Some(60));
    assert_eq!(buf[..60], eth(2, 1, 7)[..]);

    let l = net.add_segment("sl0", SegmentKind::Wire, Framing::Slip, LAT);
    let mut x = SlipLink::new(net.attach(l, "x"));
    let mut y = SlipLink::new(net.attach(l, "y"));
    let packet = [0x45, slip::END, slip::ESC, 1, 2, 3];
    x.send(&packet).unwrap();
    x.send(&[9; 40]).unwrap();
    run_all(&net);
    assert_eq!(y.recv(&mut buf).unwrap(), Some(6));
    assert_eq!(buf[..6], packet);
    assert_eq!(y.recv(&mut buf).unwrap(), Some(40));
    assert_eq!(y.recv(&mut buf).unwrap(), None);
    assert_eq!(y.medium(), Medium::Ip);
    assert_eq!(net.pcap(l).frames(), 2);
}

proptest! {
    #[test]
    fn faults_never_invent_frames(seed in any::<u64>(), loss in 0u32..500_000,
                                  dup in 0u32..500_000, reorder in 0u32..500_000,
                                  n in 1usize..60) {
        let net = Net::new(seed);
        let w = net.add_segment("w", SegmentKind::Wire, Framing::Ethernet, LAT);
        net.set_faults(w, Faults { loss, duplicate: dup, reorder, ..Faults::NONE });
        let mut a = net.attach(w, "a");
        let mut b = net.attach(w, "b");
        for i in 0..n {
            a.send(&eth(2, 1, i as u8)).unwrap();
        }
        run_all(&net);
        let got = drain(&mut b);
        let st = net.stats(w);
        // Every copy is one that was sent, at most twice, and the counters add up.
        let mut seen = vec![0u32; n];
        for f in &got {
            prop_assert_eq!(&f[..14], &eth(2, 1, 0)[..14]);
            seen[usize::from(f[14])] += 1;
        }
        prop_assert!(seen.iter().all(|&c| c <= 2));
        prop_assert_eq!(got.len() as u64, n as u64 - st.lost + st.duplicated);
        // Without reordering or delay, what arrives keeps its order.
        if reorder == 0 {
            let tags: Vec<u8> = got.iter().map(|f| f[14]).collect();
            prop_assert!(tags.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn same_seed_same_fates(seed in any::<u64>()) {
        let fates = |seed| {
            let net = Net::new(seed);
            let w = net.add_segment("w", SegmentKind::Wire, Framing::Ethernet, LAT);
            net.set_faults(w, Faults { loss: 300_000, duplicate: 200_000, reorder: 200_000,
                delay: 200_000, max_delay: Duration::from_millis(1), corrupt: 100_000 });
            let mut a = net.attach(w, "a");
            let mut b = net.attach(w, "b");
            for i in 0..40u8 {
                let mut f = eth(2, 1, i);
                f[12..14].copy_from_slice(&[0x08, 0x00]);
                f[16..18].copy_from_slice(&46u16.to_be_bytes());
                a.send(&f).unwrap();
            }
            run_all(&net);
            (drain(&mut b), net.transcript())
        };
        prop_assert_eq!(fates(seed), fates(seed));
    }
}
