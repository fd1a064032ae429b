//! A one-page HTTP/1.0 server over a guest's TCP: one connection at a time, any
//! request answered with the page, then the connection closed.
//!
//! The server keeps one listening socket; smoltcp turns it into the connection, and
//! once the connection is over (closed, reset, timed out or in `TIME-WAIT`) the socket
//! is freed and a new one listens. A request is read until its blank line (or until
//! the client stops sending, for clients that send less); anything after it is
//! ignored.

use alloc::vec::Vec;
use smoltcp::socket::tcp::State;
use umlnet_core::link::Link;
use umlnet_guest::smoltcp::{self, time::Duration};
use umlnet_guest::{Guest, GuestError, TcpHandle};

/// How long a connection may stay silent before it is dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest request header kept for the log line.
pub const REQUEST_LINE_MAX: usize = 96;

/// One connection that was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The peer's address and port.
    pub peer: smoltcp::wire::IpEndpoint,
    /// The request line (`GET / HTTP/1.1`), cut at [`REQUEST_LINE_MAX`] bytes.
    pub request_line: heapless::String<REQUEST_LINE_MAX>,
}

/// The server.
#[derive(Debug)]
pub struct HttpServer {
    port: u16,
    socket: Option<TcpHandle>,
    request: Vec<u8>,
    response: Option<(Vec<u8>, usize)>,
    served: u32,
}

impl HttpServer {
    /// A server for `port`; it listens from the first [`HttpServer::poll`] on.
    pub fn new(port: u16) -> Self {
        HttpServer {
            port,
            socket: None,
            request: Vec::new(),
            response: None,
            served: 0,
        }
    }

    /// How many requests were answered.
    pub fn served(&self) -> u32 {
        self.served
    }

    /// Moves the connection along; `page` makes the body when a request is complete.
    /// Returns the request just answered, if one was.
    pub fn poll<L: Link>(
        &mut self,
        guest: &mut Guest<L>,
        page: impl FnOnce(&mut Guest<L>) -> Vec<u8>,
    ) -> Result<Option<Served>, GuestError> {
        let handle = match self.socket {
            Some(h) => h,
            None => {
                let h = guest.tcp_listen(self.port)?;
                guest.tcp(h).set_timeout(Some(IDLE_TIMEOUT));
                self.socket = Some(h);
                h
            }
        };
        let s = guest.tcp(handle);
        if matches!(s.state(), State::Closed | State::TimeWait) {
            guest.tcp_remove(handle);
            self.socket = None;
            self.request.clear();
            self.response = None;
            return Ok(None);
        }
        let mut answered = None;
        if self.response.is_none() {
            while s.can_recv() && self.request.len() < 4096 {
                let _ = s.recv(|b| {
                    self.request.extend_from_slice(b);
                    (b.len(), ())
                });
            }
            if let Some(request_line) = request_line(&self.request, !s.may_recv()) {
                let peer = s.remote_endpoint();
                let body = page(guest);
                self.response = Some((response(&body), 0));
                self.served += 1;
                if let Some(peer) = peer {
                    answered = Some(Served { peer, request_line });
                }
            }
        }
        let s = guest.tcp(handle);
        if let Some((bytes, sent)) = &mut self.response {
            while *sent < bytes.len() && s.can_send() {
                match s.send_slice(&bytes[*sent..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => *sent += n,
                }
            }
            if *sent == bytes.len() && matches!(s.state(), State::Established | State::CloseWait) {
                s.close();
            }
        }
        Ok(answered)
    }
}

/// A request as far as it has come: `None` while it is incomplete (no blank line yet
/// and the client still sending), else its first line, printable ASCII only (other
/// bytes become `?`, so a request cannot drive the console), cut at
/// [`REQUEST_LINE_MAX`] bytes.
pub fn request_line(
    request: &[u8],
    client_done: bool,
) -> Option<heapless::String<REQUEST_LINE_MAX>> {
    let complete = request.windows(4).any(|w| w == b"\r\n\r\n")
        || request.windows(2).any(|w| w == b"\n\n")
        || (!request.is_empty() && client_done);
    if !complete {
        return None;
    }
    let first = request
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let mut line = heapless::String::new();
    for &b in first.iter().take(REQUEST_LINE_MAX) {
        let c = if (b' '..=b'~').contains(&b) {
            char::from(b)
        } else {
            '?'
        };
        let _ = line.push(c);
    }
    Some(line)
}

/// Fuzz entry point: any bytes as a request, complete or not. A line comes back exactly
/// when the request is complete, and it is printable ASCII within the limit.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    for done in [false, true] {
        if let Some(line) = request_line(data, done) {
            assert!(line.len() <= REQUEST_LINE_MAX);
            assert!(line.bytes().all(|b| (b' '..=b'~').contains(&b)));
            assert!(done || data.windows(2).any(|w| w == b"\n\n" || w == b"\r\n"));
        } else {
            assert!(!done || data.is_empty());
        }
    }
}

/// The whole HTTP/1.0 response for `body`.
pub fn response(body: &[u8]) -> Vec<u8> {
    use core::fmt::Write as _;
    let mut head = alloc::string::String::new();
    let _ = write!(
        head,
        "HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod test;
