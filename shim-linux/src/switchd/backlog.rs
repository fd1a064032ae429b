//! Backlogs: frames held, in order and bounded, for a port whose receive queue was
//! full, sent as soon as the kernel reports room (`EPOLLOUT` on the port's own socket,
//! every millisecond on the shared one).

use std::io;
use std::os::fd::AsRawFd;

use umlnet_core::switch::PortId;

use super::daemon::SwitchDaemon;
use super::forward::RECV_BATCH;
use super::ports::PortKind;
use super::token::Token;
use crate::sys::epoll::Poller;
use crate::sys::socket::{SOCKADDR_UN_LEN, SendBatch};

/// Frames held per port whose receive queue was full (a UML kernel's queue holds only
/// about 11 datagrams, `net.unix.max_dgram_qlen`), sent in order when it has room;
/// beyond this the frame is dropped and counted. Other ports never wait for it. It
/// covers a burst as deep as a client's send buffer (a few hundred small frames, which
/// a port socket of our own takes in at once).
pub const BACKLOG_FRAMES: usize = 512;

/// All ports' backlogs together stay below this many bytes.
pub const BACKLOG_BYTES: usize = 32 << 20;

impl SwitchDaemon {
    /// Holds a frame for a port whose receive queue is full, or drops it when the
    /// port's (or the switch's) backlog is full.
    pub(super) fn enqueue(&mut self, p: u16, f: &[u8]) {
        let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
            return;
        };
        if port.backlog.len() >= BACKLOG_FRAMES || self.backlog_bytes + f.len() > BACKLOG_BYTES {
            self.stats.tx_queue_full += 1;
            self.sw.record_tx_error(PortId(p));
            return;
        }
        if port.backlog.is_empty() {
            if !port.listed {
                port.listed = true;
                self.backlogged.push(p);
            }
            if port.kind.tx_socket().is_some() && !port.armed {
                self.to_arm.push(p);
            }
        }
        port.backlog.push_back(f.to_vec());
        self.backlog_bytes += f.len();
        self.stats.tx_deferred += 1;
    }

    /// Retries every backlog in order until its receiver's queue is full again; ports
    /// watched for room (`armed`) wait for the kernel to say so.
    pub(super) fn flush_backlogs(&mut self) {
        let mut i = 0;
        while i < self.backlogged.len() {
            let p = self.backlogged[i];
            let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
                self.backlogged.swap_remove(i);
                continue;
            };
            if port.backlog.is_empty() {
                port.listed = false;
                self.backlogged.swap_remove(i);
                continue;
            }
            if port.armed {
                i += 1;
                continue;
            }
            if self.flush_port(p) {
                if let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) {
                    port.listed = false;
                }
                self.backlogged.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Sends what one port's backlog holds until its receiver's queue is full again;
    /// returns whether the backlog is now empty.
    pub(super) fn flush_port(&mut self, p: u16) -> bool {
        let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
            return true;
        };
        if let Some(sock) = port.kind.tx_socket() {
            let mut scratch = SendBatch::new();
            while !port.backlog.is_empty() {
                let frames: Vec<&[u8]> = port
                    .backlog
                    .iter()
                    .take(RECV_BATCH)
                    .map(|f| &f[..])
                    .collect();
                let n = match sock.send_batch_connected(&mut scratch, &frames) {
                    Ok(n) => {
                        self.stats.tx_frames += n as u64;
                        n
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        self.stats.tx_refused += 1;
                        self.sw.record_tx_error(PortId(p));
                        1
                    }
                };
                for f in port.backlog.drain(..n) {
                    self.backlog_bytes -= f.len();
                }
            }
            return port.backlog.is_empty();
        }
        while let Some(f) = port.backlog.front() {
            let r = match &port.kind {
                PortKind::Client { addr, .. } => {
                    self.data.send_to_raw(f, addr.as_bytes(), SOCKADDR_UN_LEN)
                }
                PortKind::Tap | PortKind::Vxlan(_) => Ok(Some(f.len())),
            };
            match r {
                Ok(None) => break,
                Ok(Some(_)) => self.stats.tx_frames += 1,
                Err(_) => {
                    self.stats.tx_refused += 1;
                    self.sw.record_tx_error(PortId(p));
                }
            }
            let len = f.len();
            port.backlog.pop_front();
            self.backlog_bytes -= len;
        }
        port.backlog.is_empty()
    }

    /// Watches the sockets of ports whose backlog just started for room in their
    /// client's queue.
    pub(super) fn arm_ports(&mut self, poller: &Poller) {
        for p in std::mem::take(&mut self.to_arm) {
            let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
                continue;
            };
            if let Some(sock) = port.kind.tx_socket()
                && !port.armed
                && !port.backlog.is_empty()
                && poller
                    .want_writable(sock.as_raw_fd(), u64::from(Token::PortData(p)), true)
                    .is_ok()
            {
                port.armed = true;
            }
        }
    }

    /// A port's socket has room in its client's queue: sends its backlog, and stops
    /// watching for room once the backlog is empty.
    pub(super) fn port_writable(&mut self, poller: &Poller, p: u16) {
        let empty = self.flush_port(p);
        let Some(port) = self.ports.get_mut(usize::from(p)).and_then(Option::as_mut) else {
            return;
        };
        if empty {
            // A port's socket is watched for room only while it has a backlog.
            if port.armed
                && let Some(sock) = port.kind.tx_socket()
            {
                let _ =
                    poller.want_writable(sock.as_raw_fd(), u64::from(Token::PortData(p)), false);
                port.armed = false;
            }
        }
    }
}
