//! [`World::tcp_transfer`]: moving bytes over TCP between two guests.

use super::{GuestId, World};
use crate::net::stamp;
use core::net::Ipv4Addr;
use smoltcp::time::Duration;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;
use umlnet_guest::TcpHandle;

impl World {
    /// Moves `data` over TCP from guest `from` to guest `to` (listening on `addr:port`)
    /// and returns what arrived, or why it did not within `timeout`.
    pub fn tcp_transfer(
        &mut self,
        from: GuestId,
        to: GuestId,
        addr: Ipv4Addr,
        port: u16,
        data: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, String> {
        self.net.log(format!(
            "tcp: {} bytes from {} to {addr}:{port}",
            data.len(),
            self.guests[from.0].name
        ));
        let server: TcpHandle = self.guests[to.0]
            .guest
            .tcp_listen(port)
            .map_err(|e| e.to_string())?;
        let client: TcpHandle = self.guests[from.0]
            .guest
            .tcp_connect(addr, port)
            .map_err(|e| e.to_string())?;
        let limit = self.now() + timeout;
        let mut sent = 0;
        let mut closed = false;
        let mut got = Vec::with_capacity(data.len());
        loop {
            {
                let s = self.guests[from.0].guest.tcp(client);
                if s.can_send() && sent < data.len() {
                    sent += s.send_slice(&data[sent..]).unwrap_or(0);
                }
                if sent == data.len() && !closed {
                    s.close();
                    closed = true;
                }
            }
            {
                let s = self.guests[to.0].guest.tcp(server);
                while s.can_recv() {
                    let n = s
                        .recv(|b| {
                            got.extend_from_slice(b);
                            (b.len(), b.len())
                        })
                        .unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                }
            }
            if got.len() >= data.len() {
                self.net.log(format!("tcp: {} bytes arrived", got.len()));
                return Ok(got);
            }
            if !self.step(limit) {
                let msg = format!(
                    "TCP transfer stalled: {} of {} bytes sent, {} arrived by {}",
                    sent,
                    data.len(),
                    got.len(),
                    stamp(self.now())
                );
                self.net.log(&msg);
                return Err(msg);
            }
        }
    }
}
