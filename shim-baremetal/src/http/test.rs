//! The server between two real guests (the same stack as the firmware's) over an
//! in-memory Ethernet cable: pages answered one connection after another.

use super::*;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::RefCell;
use proptest::prelude::*;
use std::vec;
use umlnet_core::link::{Medium, SendStatus};
use umlnet_guest::smoltcp::time::Instant;
use umlnet_guest::{Buffers, Run};

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

/// One end of a cable.
struct End {
    rx: Queue,
    tx: Queue,
}

impl Link for End {
    type Error = core::convert::Infallible;
    fn medium(&self) -> Medium {
        Medium::Ethernet
    }
    fn mtu(&self) -> usize {
        1500
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        Ok(self.rx.borrow_mut().pop_front().map(|f| {
            buf[..f.len()].copy_from_slice(&f);
            f.len()
        }))
    }
    fn send(&mut self, frame: &[u8]) -> Result<SendStatus, Self::Error> {
        self.tx.borrow_mut().push_back(frame.to_vec());
        Ok(SendStatus::Sent)
    }
}

fn guest(link: End, addr: &str, now: Instant) -> Guest<End> {
    let mut g = Guest::with_buffers(7, now, Buffers::SMALL);
    g.add_interface(0, link, None).unwrap();
    let Run::Done(out) = g.run(
        &std::format!("ifconfig eth0 {addr} netmask 255.255.255.0 up"),
        now,
    ) else {
        panic!("ifconfig is not a job")
    };
    assert_eq!(out.status, 0, "{}", out.text);
    g
}

#[test]
fn pages_are_served_one_connection_after_another() {
    let (a, b): (Queue, Queue) = Default::default();
    let mut now = Instant::from_secs(1);
    let mut client = guest(
        End {
            rx: a.clone(),
            tx: b.clone(),
        },
        "10.0.0.1",
        now,
    );
    let mut server_guest = guest(End { rx: b, tx: a }, "10.0.0.5", now);
    let mut server = HttpServer::new(80);
    let page = "<html><body>hello from the board</body></html>\n".repeat(60);
    for round in 0..3 {
        let c = client.tcp_connect("10.0.0.5".parse().unwrap(), 80).unwrap();
        let mut got = Vec::new();
        let mut asked = false;
        let mut served = None;
        for _ in 0..5000 {
            client.poll(now);
            let s = client.tcp(c);
            if s.may_send() && !asked {
                s.send_slice(b"GET / HTTP/1.0\r\nHost: board\r\n\r\n")
                    .unwrap();
                asked = true;
            }
            while s.can_recv() {
                s.recv(|d| {
                    got.extend_from_slice(d);
                    (d.len(), ())
                })
                .unwrap();
            }
            if asked && !s.may_recv() {
                break;
            }
            server_guest.poll(now);
            if let Some(done) = server
                .poll(&mut server_guest, |_| page.as_bytes().to_vec())
                .unwrap()
            {
                served = Some(done);
            }
            server_guest.poll(now);
            now += Duration::from_millis(1);
        }
        let text = std::string::String::from_utf8(got).unwrap();
        assert!(
            text.starts_with("HTTP/1.0 200 OK\r\n"),
            "round {round}: {text:?}"
        );
        assert!(text.contains(&std::format!("Content-Length: {}\r\n", page.len())));
        assert!(
            text.ends_with(page.as_str()),
            "round {round}: the whole page arrived"
        );
        let served = served.expect("the server reported the request");
        assert_eq!(served.request_line.as_str(), "GET / HTTP/1.0");
        assert_eq!(served.peer.addr.to_string(), "10.0.0.1");
        client.tcp(c).close();
        for _ in 0..50 {
            client.poll(now);
            server_guest.poll(now);
            server.poll(&mut server_guest, |_| vec![]).unwrap();
            now += Duration::from_millis(1);
        }
        client.tcp_remove(c);
        assert_eq!(server.served(), round + 1);
    }
}

#[test]
fn request_lines_are_cut_and_cleaned() {
    assert_eq!(request_line(b"GET / HTTP/1.0\r\n", false), None);
    assert_eq!(
        request_line(b"GET / HTTP/1.0\r\n\r\n", false)
            .unwrap()
            .as_str(),
        "GET / HTTP/1.0"
    );
    assert_eq!(
        request_line(b"GET /\x1b[2J\n\n", false).unwrap().as_str(),
        "GET /?[2J"
    );
    assert_eq!(request_line(b"ping", true).unwrap().as_str(), "ping");
    assert_eq!(request_line(b"", true), None);
    let long = [b'a'; 300];
    let mut req = long.to_vec();
    req.extend_from_slice(b"\n\n");
    assert_eq!(request_line(&req, false).unwrap().len(), REQUEST_LINE_MAX);
}

proptest! {
    #[test]
    fn any_request_bytes_keep_the_rules(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        super::fuzz_one(&data);
        let mut complete = data.clone();
        complete.extend_from_slice(b"\r\n\r\n");
        prop_assert!(request_line(&complete, false).is_some());
    }
}
