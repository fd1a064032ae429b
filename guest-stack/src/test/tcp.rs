//! TCP between two guests: one mebibyte moved intact, with a host's buffers and with a
//! microcontroller's.

use super::*;
use smoltcp::time::Duration;
use std::vec::Vec;

#[test]
fn tcp_moves_one_mebibyte_intact() {
    move_one_mebibyte(two_on_a_segment());
}

/// [`Buffers::SMALL`] (2 KiB windows) still moves the data, and a full-size ping
/// fits its ping buffers.
#[test]
fn small_buffers_move_one_mebibyte_and_ping() {
    let mut w = World::with_buffers(2, crate::Buffers::SMALL);
    let s = w.segment(umlnet_core::link::Medium::Ethernet);
    w.plug(0, 0, s, None);
    w.plug(1, 0, s, None);
    w.ok(0, "ifconfig eth0 192.168.0.254 up");
    w.ok(1, "ifconfig eth0 192.168.0.253 up");
    let out = w.ok(0, "ping -c 2 -s 1472 192.168.0.253");
    assert!(out.contains("2 received"), "{out}");
    move_one_mebibyte(w);
}

fn move_one_mebibyte(mut w: World) {
    if w.guests[0].interface(0).unwrap().addr.is_none() {
        w.ok(0, "ifconfig eth0 192.168.0.254 up");
        w.ok(1, "ifconfig eth0 192.168.0.253 up");
    }
    let server = w.guests[1].tcp_listen(8080).unwrap();
    let client = w.guests[0].tcp_connect(ip("192.168.0.253"), 8080).unwrap();
    let data: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let limit = w.now() + Duration::from_secs(60);
    while got.len() < data.len() {
        assert!(w.now() < limit, "transfer stalled at {} bytes", got.len());
        let c = w.guests[0].tcp(client);
        if c.can_send() && sent < data.len() {
            sent += c.send_slice(&data[sent..]).unwrap();
        }
        let s = w.guests[1].tcp(server);
        while s.can_recv() {
            s.recv(|b| {
                got.extend_from_slice(b);
                (b.len(), ())
            })
            .unwrap();
        }
        let step = w.now() + Duration::from_millis(1);
        w.advance_to(step);
    }
    assert!(got == data, "received bytes differ from sent bytes");
    w.guests[0].tcp(client).close();
    w.advance(Duration::from_millis(50));
    assert!(
        !w.guests[1].tcp(server).may_recv(),
        "FIN reached the server"
    );
}
