//! The built-in TCP transfers `tcp-recv` and `tcp-send`, and the sockets of finished
//! transfers that are still closing.

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use umlnet_guest::TcpHandle;
use umlnet_guest::smoltcp::socket::tcp;

use super::command::Active;
use super::{GuestHost, TCP_IDLE_TIMEOUT};

pub(super) struct Transfer {
    pub(super) handle: TcpHandle,
    pub(super) file: PathBuf,
    pub(super) data: Vec<u8>,
    pub(super) offset: usize,
    pub(super) last_progress: Instant,
    pub(super) connected: bool,
}

impl GuestHost {
    pub(super) fn step_recv(&mut self, mut t: Box<Transfer>) {
        let sock = self.guest.tcp(t.handle);
        if sock.is_active() {
            t.connected = true;
        }
        let mut buf = [0u8; 16384];
        let mut moved = false;
        while sock.can_recv() {
            match sock.recv_slice(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    t.data.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                Err(_) => break,
            }
        }
        let peer_closed = t.connected
            && !sock.may_recv()
            && !matches!(sock.state(), tcp::State::Listen | tcp::State::SynReceived);
        if moved {
            t.last_progress = Instant::now();
        }
        if peer_closed {
            sock.close();
            let n = t.data.len();
            let r = fs::write(&t.file, &t.data);
            let handle = t.handle;
            match r {
                Ok(()) => self.finish(&format!("tcp-recv: received {n} bytes\n"), 0),
                Err(e) => self.finish(&format!("tcp-recv: {}: {e}\n", t.file.display()), 1),
            }
            self.park_socket(handle);
        } else if t.connected && t.last_progress.elapsed() > TCP_IDLE_TIMEOUT {
            let handle = t.handle;
            self.guest.tcp(handle).abort();
            self.finish(
                &format!("tcp-recv: no data for {TCP_IDLE_TIMEOUT:?}, giving up\n"),
                1,
            );
            self.park_socket(handle);
        } else {
            self.active = Some(Active::Recv(t));
        }
    }

    pub(super) fn step_send(&mut self, mut t: Box<Transfer>) {
        let sock = self.guest.tcp(t.handle);
        let state = sock.state();
        if state == tcp::State::Established {
            t.connected = true;
        }
        if t.connected && sock.can_send() && t.offset < t.data.len() {
            if let Ok(n) = sock.send_slice(&t.data[t.offset..])
                && n > 0
            {
                t.offset += n;
                t.last_progress = Instant::now();
            }
            if t.offset == t.data.len() {
                sock.close();
            }
        }
        let all_acked = t.offset == t.data.len() && sock.send_queue() == 0;
        let closed_early = state == tcp::State::Closed && !all_acked;
        if t.connected
            && all_acked
            && matches!(
                state,
                tcp::State::FinWait2
                    | tcp::State::TimeWait
                    | tcp::State::Closed
                    | tcp::State::Closing
                    | tcp::State::LastAck
            )
        {
            let n = t.data.len();
            let handle = t.handle;
            self.finish(&format!("tcp-send: sent {n} bytes\n"), 0);
            self.park_socket(handle);
        } else if closed_early || t.last_progress.elapsed() > TCP_IDLE_TIMEOUT {
            let why = if closed_early {
                "connection refused or reset"
            } else {
                "timed out"
            };
            let handle = t.handle;
            self.guest.tcp(handle).abort();
            self.finish(
                &format!(
                    "tcp-send: {why} after {} of {} bytes of {}\n",
                    t.offset,
                    t.data.len(),
                    t.file.display()
                ),
                1,
            );
            self.park_socket(handle);
        } else {
            self.active = Some(Active::Send(t));
        }
    }

    /// Leaves a finished socket to complete its close; [`Self::reap_sockets`] frees it.
    pub(super) fn park_socket(&mut self, handle: TcpHandle) {
        self.closing.push(handle);
    }

    /// Frees the parked sockets whose close has completed (or reached TIME-WAIT, where
    /// only a lost final ACK could still need them).
    pub(super) fn reap_sockets(&mut self) {
        let mut keep = Vec::new();
        for h in std::mem::take(&mut self.closing) {
            match self.guest.tcp(h).state() {
                tcp::State::Closed | tcp::State::TimeWait => self.guest.tcp_remove(h),
                _ => keep.push(h),
            }
        }
        self.closing = keep;
    }
}
