//! The UML networking page's paragraphs on the switch daemon, simulated: guests on `eth0=daemon` attach to
//! `uml_switch` on its default control socket; `-hub` makes it a hub.

use umlnet_core::cmdline::DEBIAN_DAEMON_CTL;
use umlnet_core::mac::MacAddr;
use umlnet_sim::scenario::for_each_seed;
use umlnet_sim::world::{GuestId, World};

fn rx(w: &World, g: GuestId) -> u64 {
    w.guest(g).interface(0).unwrap().counters.rx_packets
}
fn tx(w: &World, g: GuestId) -> u64 {
    w.guest(g).interface(0).unwrap().counters.tx_packets
}

#[test]
fn daemon_hub_switch_and_leaving() {
    for_each_seed(
        "sim_daemon",
        "daemon_hub_switch_and_leaving",
        &[0, 3, 99],
        3,
        |seed| {
            let mut w = World::new(seed);
            let sw = w.uml_switch(DEBIAN_DAEMON_CTL, true);
            let names = ["a", "b", "c"];
            let g: Vec<GuestId> = names.iter().map(|n| w.add_guest(n)).collect();
            for (i, &guest) in g.iter().enumerate() {
                w.boot(guest, "eth0=daemon", None).expect("daemon device");
                let out = w.run(guest, &format!("ifconfig eth0 192.168.1.{} up", i + 1));
                assert_eq!(out.status, 0, "{}", out.text);
            }
            let (a, b, c) = (g[0], g[1], g[2]);

            // Hub mode: c hears every frame a and b exchange, addressed to it or not.
            let (rx0, sent0) = (rx(&w, c), tx(&w, a) + tx(&w, b));
            let out = w.run(a, "ping -c 3 192.168.1.2");
            assert!(out.text.contains(", 3 received,"), "{}", out.text);
            let sent = tx(&w, a) + tx(&w, b) - sent0;
            assert!(
                sent >= 8,
                "ARP request and reply plus 3 echoes each way: {sent}"
            );
            assert_eq!(rx(&w, c) - rx0, sent);

            // Switch mode: once learned, a's and b's unicast frames reach only each other.
            w.net().set_hub(sw, false);
            let out = w.run(a, "ping -c 1 192.168.1.2"); // both addresses (re)learned
            assert!(out.text.contains(", 1 received,"), "{}", out.text);
            let rx0 = rx(&w, c);
            let out = w.run(a, "ping -c 3 192.168.1.2");
            assert!(out.text.contains(", 3 received,"), "{}", out.text);
            assert_eq!(rx(&w, c), rx0, "c heard unicast traffic in switch mode");

            // b leaves: the switch frees its address, and frames for it flood again.
            let b_mac = w.guest(b).interface(0).unwrap().mac;
            assert_eq!(b_mac, MacAddr::from_ipv4("192.168.1.2".parse().unwrap()));
            let b_port = w.net().with_switch(sw, |s| s.lookup(b_mac)).unwrap();
            assert!(b_port.is_some());
            w.unplug(b, 0).unwrap();
            assert_eq!(w.net().with_switch(sw, |s| s.lookup(b_mac)).unwrap(), None);
            assert!(
                w.transcript().contains("a:eth0 attached")
                    && w.transcript()
                        .contains("b:eth0 detached, 1 learned address(es) freed"),
                "{}",
                w.transcript()
            );
            let rx0 = rx(&w, c);
            let out = w.run(a, "ping -c 2 192.168.1.2");
            assert!(out.text.contains(", 0 received,"), "{}", out.text);
            assert!(
                rx(&w, c) >= rx0 + 2,
                "a's frames to the departed b were not flooded"
            );
        },
    );
}

#[test]
fn daemon_without_switch_is_refused() {
    let mut w = World::new(1);
    let a = w.add_guest("a");
    let e = w.boot(a, "eth0=daemon", None).unwrap_err();
    assert!(e.to_string().contains("control connect failed"), "{e}");
    assert!(w.guest(a).interface(0).is_none());
    // A switch on another socket is not the default one.
    w.uml_switch("/tmp/other.ctl", false);
    assert!(w.boot(a, "eth0=daemon", None).is_err());
    w.boot(a, "eth0=daemon,,unix,/tmp/other.ctl", None).unwrap();
    assert!(w.guest(a).interface(0).is_some());
}
