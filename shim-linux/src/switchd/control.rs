//! The control socket: accepting connections, reading each one's request, answering
//! it and turning it into a port; a port's control connection closing detaches it.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use umlnet_core::daemon::{DataAddr, REPLY_LEN, RequestRepr};

use super::daemon::SwitchDaemon;
use super::ports::{Port, PortKind, addr_label};
use super::token::Token;
use super::trust::PORT_SOCKET_PREFIX;
use crate::sys::epoll::Poller;
use crate::sys::socket::{DgramSocket, SOCKADDR_UN_LEN};

/// The largest request read from a new control connection (vde2 adds a description).
pub const MAX_REQUEST_READ: usize = umlnet_core::daemon::MAX_REQUEST_LEN;

impl SwitchDaemon {
    /// Accepts every waiting control connection; each waits for its request.
    pub(super) fn accept_all(&mut self, poller: &Poller) {
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    self.stats.connections += 1;
                    if let Err(e) = s.set_nonblocking(true) {
                        if self.admission.log.allow() {
                            tracing::warn!("O_NONBLOCK on a new connection: {e}; closing it");
                        }
                        continue;
                    }
                    tracing::debug!("New connection (fd {})", s.as_raw_fd());
                    self.admit(poller, s);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and friends: close one waiting connection, rest the listener.
                    self.out_of_descriptors(poller, Token::Listener, &e);
                    return;
                }
            }
        }
    }

    /// Counts, logs and closes a control connection whose request is refused.
    pub(super) fn refuse(&mut self, poller: &Poller, fd: RawFd, why: &str) {
        self.stats.requests_refused += 1;
        if self.admission.log.allow() {
            tracing::warn!("refusing control connection (fd {fd}): {why}; connection closed");
        }
        self.drop_pending(poller, fd);
    }

    /// Reads the one request of a new control connection and answers it: a new
    /// port, or a refusal that closes the connection.
    pub(super) fn read_request(&mut self, poller: &Poller, fd: RawFd) {
        let Some(stream) = self.pending.get_mut(&fd) else {
            return;
        };
        let mut buf = [0u8; MAX_REQUEST_READ];
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                return;
            }
            Err(e) => {
                let why = format!("read error {e}");
                return self.refuse(poller, fd, &why);
            }
        };
        if n == 0 {
            if self.admission.log.allow() {
                tracing::info!("EOF from new port (fd {fd})");
            }
            self.drop_pending(poller, fd);
            return;
        }
        let req = match RequestRepr::parse(&buf[..n]) {
            Ok(r) => r,
            Err(e) => return self.refuse(poller, fd, &e.to_string()),
        };
        let addr = *req.addr();
        if let Some(&other) = self.by_addr.get(&addr) {
            let why = format!(
                "its data address {} is already attached as port {other}",
                addr_label(&addr)
            );
            return self.refuse(poller, fd, &why);
        }
        let peer = match crate::sys::access::peer_cred(fd) {
            Ok(c) => c,
            Err(e) => return self.refuse(poller, fd, &format!("SO_PEERCRED: {e}")),
        };
        if let Err(why) = self.check_port_quota(peer.uid) {
            return self.refuse(poller, fd, &format!("{why} (pid {})", peer.pid));
        }
        let handle = match self.check_data_addr(&addr, peer) {
            Ok(h) => h,
            Err(why) => {
                let why = format!("{why} (pid {}, uid {})", peer.pid, peer.uid);
                return self.refuse(poller, fd, &why);
            }
        };
        let layout = match req {
            RequestRepr::V3 { .. } => "v3",
            RequestRepr::V1 { .. } => "v1",
            RequestRepr::V0 { .. } => "v0",
        };
        // vde2's libvdeplug (it sends a description) connects its data socket to the
        // address we reply with and then unlinks its own socket file, so it can only be
        // reached through a socket connected to it *now*, and it only accepts datagrams
        // from the address it connected to. Serve it as vde_switch does: a socket of its
        // own, bound, connected to the client, and named in the reply.
        //
        // A UML kernel gets one too: it sends its frames to whatever address we reply
        // with and receives on its own address without checking the source (docs/protocols.md §3.1).
        // Connected, the socket spares the kernel's name lookup on every frame we send,
        // takes datagrams from the client only, and the ingress port is the socket a
        // frame came in on. (A sender to a socket connected back to it is held back by
        // its send buffer rather than by the receiving queue's length limit, so frames
        // arrive in larger batches; each wake-up reads a bounded number of batches per
        // port, so one fast sender cannot crowd the others out.)
        // Should one not be available (out of descriptors), a UML kernel is served
        // from the shared data socket instead; a v0 client, which gets no reply, always
        // is, and so is everybody but vde2 with -compat-v0, where the reply names the
        // filesystem data socket as the original's does.
        //
        // A filesystem socket checked for an ordinary user is reached only through a
        // socket connected to the inode that was checked, never by its name again (the
        // user could put a link there afterwards), even where the reply names the shared
        // data socket (-compat-v0) or there is no reply (v0): `pinned`.
        let is_vde = matches!(req, RequestRepr::V3 { description, .. } if !description.is_empty());
        let trusted = peer.uid == 0 || peer.uid == crate::sys::access::effective_uid();
        let pinned = handle.is_some() && !trusted;
        let shared_reply = !is_vde && self.cfg.data.is_some();
        let own = if is_vde || pinned || (req.wants_reply() && self.cfg.data.is_none()) {
            match self.port_socket(&addr, handle.as_ref()) {
                Ok(s) => Some(s),
                Err(e) if is_vde || pinned => {
                    let why = format!(
                        "cannot connect to its data socket {}: {e}",
                        addr_label(&addr)
                    );
                    return self.refuse(poller, fd, &why);
                }
                Err(e) => {
                    tracing::warn!(
                        "no data socket of its own for {} ({e}); served from the shared one",
                        addr_label(&addr)
                    );
                    None
                }
            }
        } else {
            None
        };
        if req.wants_reply() {
            let own_addr = match &own {
                Some((_, a)) if !shared_reply => *a,
                _ => self.data_addr,
            };
            let reply: &[u8; REPLY_LEN] = own_addr.as_bytes();
            let stream = self.pending.get_mut(&fd).expect("present above");
            match stream.write(reply) {
                Ok(REPLY_LEN) => {}
                Ok(k) => {
                    return self.refuse(
                        poller,
                        fd,
                        &format!("short write of the reply ({k} of {REPLY_LEN} bytes)"),
                    );
                }
                Err(e) => return self.refuse(poller, fd, &format!("writing the reply: {e}")),
            }
        }
        let stream = self.drop_pending(poller, fd).expect("present above");
        let own = own.map(|(s, _)| s);
        let kind = PortKind::Client {
            ctl: stream,
            addr,
            layout,
            own,
        };
        let id = match self.alloc_user_port(kind, peer.uid) {
            Ok(id) => id,
            Err(why) => {
                self.stats.requests_refused += 1;
                if self.admission.log.allow() {
                    tracing::warn!(
                        "no port for {}: {why}; connection closed",
                        addr_label(&addr)
                    );
                }
                return;
            }
        };
        let Some(Port {
            kind: PortKind::Client { ctl, own, .. },
            ..
        }) = &self.ports[usize::from(id)]
        else {
            unreachable!("just attached as a client")
        };
        let watched = poller
            .add(ctl.as_raw_fd(), u64::from(Token::PortControl(id)))
            .and_then(|()| match own {
                Some(s) => poller.add(s.as_raw_fd(), u64::from(Token::PortData(id))),
                None => Ok(()),
            });
        if let Err(e) = watched {
            tracing::warn!("watching port {id}: {e}; detaching it");
            self.detach(poller, id);
            return;
        }
        self.stats.ports_attached += 1;
        if !self.admission.log.allow() {
            return;
        }
        if let RequestRepr::V3 { description, .. } = req
            && !description.is_empty()
        {
            let d = String::from_utf8_lossy(description.split(|b| *b == 0).next().unwrap_or(&[]));
            tracing::info!(
                "New port {id} ({layout}) data socket {} \"{d}\"",
                addr_label(&addr)
            );
        } else {
            tracing::info!("New port {id} ({layout}) data socket {}", addr_label(&addr));
        }
    }

    /// The socket of one client port: bound to a fresh abstract name of ours (which
    /// goes in the reply) and connected to the client's data socket (through `handle`,
    /// an `O_PATH` descriptor of it, when it is a checked filesystem socket).
    pub(super) fn port_socket(
        &mut self,
        client: &DataAddr,
        handle: Option<&std::fs::File>,
    ) -> io::Result<(DgramSocket, DataAddr)> {
        self.port_socket_seq = self.port_socket_seq.wrapping_add(1);
        let name = format!(
            "{PORT_SOCKET_PREFIX}{}-port-{}",
            std::process::id(),
            self.port_socket_seq
        );
        let own = DataAddr::abstract_from(name.as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let s = DgramSocket::bind_raw(own.as_bytes(), SOCKADDR_UN_LEN)?;
        match handle {
            Some(h) => {
                let via = format!("/proc/self/fd/{}", h.as_raw_fd());
                let raw = crate::sys::socket::path_addr_bytes(std::path::Path::new(&via))?;
                s.connect_raw(&raw, SOCKADDR_UN_LEN)?;
            }
            None => s.connect_raw(client.as_bytes(), SOCKADDR_UN_LEN)?,
        }
        let _ = s.set_send_buffer(1 << 20);
        Ok((s, own))
    }

    /// Something happened on a port's control connection: EOF or an error detaches
    /// the port; stray bytes are ignored.
    pub(super) fn port_control_event(&mut self, poller: &Poller, id: u16) {
        let Some(Port {
            kind: PortKind::Client { ctl, .. },
            ..
        }) = &mut self.ports[usize::from(id)]
        else {
            return;
        };
        let mut buf = [0u8; 512];
        match ctl.read(&mut buf) {
            Ok(0) => {
                if self.admission.log.allow() {
                    tracing::info!("Disconnect port {id}");
                }
                self.detach(poller, id);
            }
            Ok(n) => tracing::debug!("port {id}: ignoring {n} stray control bytes"),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                if self.admission.log.allow() {
                    tracing::info!("Disconnect port {id} ({e})");
                }
                self.detach(poller, id);
            }
        }
    }
}
