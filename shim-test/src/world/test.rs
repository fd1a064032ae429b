//! Tests of the world: artifacts of a run, the helper following address changes.

use super::*;

#[test]
fn artifacts_are_written_and_readable() {
    let mut w = World::new(12);
    let sw = w.uml_switch("/tmp/t.ctl", false);
    let a = w.add_guest("a");
    let b = w.add_guest("b");
    w.boot(a, "eth0=daemon,,unix,/tmp/t.ctl", None).unwrap();
    w.boot(b, "eth0=daemon,,unix,/tmp/t.ctl", None).unwrap();
    w.run(a, "ifconfig eth0 10.0.0.1 up");
    w.run(b, "ifconfig eth0 10.0.0.2 up");
    let out = w.run(a, "ping -c 2 10.0.0.2");
    assert!(out.text.contains(", 2 received,"), "{}", out.text);
    let base = std::env::temp_dir().join(format!("umlnet-sim-test-{}", std::process::id()));
    let dir = w.write_artifacts(&base).unwrap();
    let t = std::fs::read_to_string(dir.join("transcript.txt")).unwrap();
    assert_eq!(t, w.transcript());
    let pcap = std::fs::read(dir.join("00-uml_switch__tmp_t.ctl.pcap")).unwrap();
    assert_eq!(pcap, w.net().pcap(sw).bytes());
    assert_eq!(w.net().pcap(sw).frames(), 6);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn helper_follows_address_changes() {
    let mut w = World::new(3);
    let h = w.add_host("host");
    let g = w.add_guest("uml");
    w.boot(g, "eth0=tuntap,,,10.0.0.254", Some(h)).unwrap();
    w.run(g, "ifconfig eth0 10.0.0.1 up");
    let has = |w: &World, s: &str| w.host(h).routes().iter().any(|r| r.to_string() == s);
    assert!(has(&w, "10.0.0.1 dev tap0"));
    w.run(g, "ifconfig eth0 10.0.0.2");
    assert!(!has(&w, "10.0.0.1 dev tap0") && has(&w, "10.0.0.2 dev tap0"));
    w.run(g, "ifconfig eth0 down");
    assert!(!has(&w, "10.0.0.2 dev tap0"));
    assert!(w.transcript().contains("uml_net del tap0 10.0.0.2"));
    // The guest goes: its tap goes with it.
    w.unplug(g, 0).unwrap();
    assert!(w.host(h).interface("tap0").is_none());
}
