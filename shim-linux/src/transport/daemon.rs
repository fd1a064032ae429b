//! `eth<n>=daemon,<mac>,unix,<ctl-socket>`: a port on a `uml_switch` or `vde_switch`
//! (docs/protocols.md §3.1, §3.3).
//!
//! Attaches as the kernel does, at device creation: a datagram socket bound with
//! addrlen 110 to an abstract `{0, pad, pid, usec}` address, one 124-byte version 3
//! request on a stream connection to the control socket, the switch's 110-byte data
//! address read back, then one frame per datagram sent to that address with addrlen
//! 110. Closing the control connection (dropping the link) detaches the port.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use umlnet_core::cmdline::{DEFAULT_DAEMON_SOCK_TYPE, Daemon};
use umlnet_core::daemon::DataAddr;
use umlnet_core::link::{Link, Medium, SendStatus};

use super::{OpenError, UML_MTU, sent};
use crate::switchd::client::Client;

/// How long a send waits in total for a full switch queue before the frame is dropped.
pub const FULL_QUEUE_PATIENCE: Duration = Duration::from_millis(5);
const FULL_QUEUE_RETRY: Duration = Duration::from_micros(100);

/// An attached switch port.
#[derive(Debug)]
pub struct DaemonLink {
    client: Client,
    sock_type: String,
    ctl: String,
}

impl DaemonLink {
    /// Attaches `eth<index>` to the switch whose control socket `d` names (the Debian
    /// default `/var/run/uml-utilities/uml_switch.ctl` when none is given).
    pub fn open(index: u32, d: &Daemon) -> Result<DaemonLink, OpenError> {
        let ctl = d.ctl_or_default().to_string();
        if d.sock_type.as_str() != DEFAULT_DAEMON_SOCK_TYPE {
            return Err(OpenError::Io {
                index,
                transport: "daemon",
                what: format!("socket type '{}'", d.sock_type),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "only 'unix' switch sockets exist (the kernel fails with EFAULT)",
                ),
            });
        }
        let pid = std::process::id();
        let mut last = None;
        for attempt in 0..8u32 {
            let usec = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_micros())
                .wrapping_add(attempt);
            match Client::attach(Path::new(&ctl), DataAddr::uml_abstract(pid, usec)) {
                Ok(client) => {
                    return Ok(DaemonLink {
                        client,
                        sock_type: d.sock_type.to_string(),
                        ctl,
                    });
                }
                // Two devices of one process in the same microsecond: pick another name.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
                Err(e) => {
                    return Err(OpenError::Io {
                        index,
                        transport: "daemon",
                        what: format!("attach to the switch at '{ctl}'"),
                        source: e,
                    });
                }
            }
        }
        Err(OpenError::Io {
            index,
            transport: "daemon",
            what: "bind the data socket".into(),
            source: last.unwrap_or_else(|| io::ErrorKind::AddrInUse.into()),
        })
    }

    /// `daemon backend (uml_switch version 3) - unix:<path>`, as the kernel prints.
    pub fn banner(&self) -> String {
        format!(
            "daemon backend (uml_switch version 3) - {}:{}",
            self.sock_type, self.ctl
        )
    }

    /// Our data socket's address, as the switch knows the port.
    pub fn addr(&self) -> &DataAddr {
        self.client.addr()
    }

    /// The switch's data address (its reply).
    pub fn switch_addr(&self) -> &DataAddr {
        self.client.switch_addr()
    }
}

impl Link for DaemonLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.client.try_recv(buf)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<SendStatus> {
        // The switch's unconnected data socket queues only `net.unix.max_dgram_qlen`
        // (10) datagrams, and poll cannot say when it drains; a burst (a TCP window)
        // would lose most of its frames. Give the switch a few milliseconds first.
        let mut waited = Duration::ZERO;
        loop {
            match self.client.send(frame) {
                Ok(None) if waited < FULL_QUEUE_PATIENCE => {
                    std::thread::sleep(FULL_QUEUE_RETRY);
                    waited += FULL_QUEUE_RETRY;
                }
                r => return sent(r),
            }
        }
    }
}

impl AsRawFd for DaemonLink {
    fn as_raw_fd(&self) -> RawFd {
        self.client.data().as_raw_fd()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::sys::socket::{DgramSocket, SOCKADDR_UN_LEN};
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    use umlnet_core::daemon::{REQUEST_LEN, RequestRepr};

    #[test]
    fn attaches_with_a_version_3_request_and_moves_frames_with_110_byte_addresses() {
        let dir = std::env::temp_dir().join(format!("umlnet-daemon-link-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let ctl = dir.join("ctl");
        let _ = std::fs::remove_file(&ctl);
        let listener = UnixListener::bind(&ctl).unwrap();
        // A switch's data socket at a uml_switch-like abstract address.
        let switch_addr = DataAddr::uml_abstract(std::process::id(), 0x5eed);
        let switch = DgramSocket::bind_raw(switch_addr.as_bytes(), SOCKADDR_UN_LEN).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut req = [0u8; 256];
            let n = conn.read(&mut req).unwrap();
            conn.write_all(switch_addr.as_bytes()).unwrap();
            (n, req, conn)
        });
        let spec: umlnet_core::cmdline::DeviceSpec = format!("eth0=daemon,,unix,{}", ctl.display())
            .parse()
            .unwrap();
        let umlnet_core::cmdline::Transport::Daemon(d) = &spec.transport else {
            unreachable!()
        };
        let mut link = DaemonLink::open(0, d).unwrap();
        let (n, req, _conn) = server.join().unwrap();
        assert_eq!(n, REQUEST_LEN, "the kernel's request is 124 bytes");
        let RequestRepr::V3 { addr, port, .. } = RequestRepr::parse(&req[..n]).unwrap() else {
            panic!("not a version 3 request")
        };
        assert_eq!((&addr, port), (link.addr(), 0));
        assert!(addr.is_abstract());
        assert_eq!(link.switch_addr(), &switch_addr);
        // Frames go to the switch's address from our full 110-byte one, and back.
        let frame = [0xffu8; 42];
        assert_eq!(link.send(&frame).unwrap(), SendStatus::Sent);
        let mut buf = [0u8; 1600];
        let (k, from, from_len) = switch.recv_from_raw(&mut buf).unwrap().unwrap();
        assert_eq!((&buf[..k], from_len), (&frame[..], SOCKADDR_UN_LEN));
        assert_eq!(&from, addr.as_bytes());
        switch
            .send_to_raw(&[7u8; 60], &from, SOCKADDR_UN_LEN)
            .unwrap();
        crate::sys::socket::wait_readable(link.as_raw_fd(), std::time::Duration::from_secs(1))
            .unwrap();
        assert_eq!(link.recv(&mut buf).unwrap(), Some(60));
        assert_eq!(link.recv(&mut buf).unwrap(), None);
        // A type other than unix is refused, as the kernel cannot connect it.
        let other: umlnet_core::cmdline::DeviceSpec = "eth0=daemon,,inet,/x".parse().unwrap();
        let umlnet_core::cmdline::Transport::Daemon(d) = &other.transport else {
            unreachable!()
        };
        assert!(DaemonLink::open(0, d).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
