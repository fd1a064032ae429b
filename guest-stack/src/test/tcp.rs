//! TCP between two guests: one mebibyte moved intact.

use super::*;
use smoltcp::time::Duration;
use std::vec::Vec;

#[test]
fn tcp_moves_one_mebibyte_intact() {
    let mut w = two_on_a_segment();
    w.ok(0, "ifconfig eth0 192.168.0.254 up");
    w.ok(1, "ifconfig eth0 192.168.0.253 up");
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
