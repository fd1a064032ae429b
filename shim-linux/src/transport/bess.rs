//! `vec<n>:transport=bess,dst=<path>[,src=<path>]`: one Ethernet frame per message on
//! a unix `SOCK_SEQPACKET` connection to `dst`, no handshake and no header
//! (docs/protocols.md, the vector section). As the 6.1 kernel does, `src` is bound
//! before connecting and never unlinked, so reopening with the same `src` fails with
//! `EADDRINUSE` until the file is removed.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, bind, connect, socket};
use umlnet_core::cmdline::BessVector;
use umlnet_core::link::{Link, Medium, SendStatus};

use super::{OpenError, UML_MTU, sent};
use crate::sys::socket::DgramSocket;

/// An open bess transport.
#[derive(Debug)]
pub struct BessLink {
    sock: DgramSocket,
    dst: String,
}

impl BessLink {
    /// Connects `vec<index>` to the listener at `b.dst` (after binding `b.src`).
    pub fn open(index: u32, b: &BessVector) -> Result<BessLink, OpenError> {
        let err = |what: String| OpenError::io(index, "bess", what);
        let fd = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(|e| err("socket".into())(e.into()))?;
        if let Some(src) = &b.src {
            let addr = UnixAddr::new(Path::new(src.as_str()))
                .map_err(|e| err(format!("src={src}"))(e.into()))?;
            bind(fd.as_raw_fd(), &addr).map_err(|e| err(format!("bind src={src}"))(e.into()))?;
        }
        let dst = b.dst.as_str();
        let addr =
            UnixAddr::new(Path::new(dst)).map_err(|e| err(format!("dst={dst}"))(e.into()))?;
        connect(fd.as_raw_fd(), &addr).map_err(|e| err(format!("connect dst={dst}"))(e.into()))?;
        let sock = DgramSocket::from_connected(fd);
        sock.set_nonblocking(true)
            .map_err(err("set non-blocking".into()))?;
        Ok(BessLink {
            sock,
            dst: dst.to_string(),
        })
    }

    /// `bess backend - <dst>`.
    pub fn banner(&self) -> String {
        format!("bess backend - {}", self.dst)
    }
}

impl Link for BessLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.sock.recv(buf)? {
            Some(0) => Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                format!("bess: {} closed the connection", self.dst),
            )),
            r => Ok(r),
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<SendStatus> {
        sent(self.sock.send(frame))
    }
}

impl AsRawFd for BessLink {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::sys::seqpacket::SeqpacketListener;

    fn path_of(p: &Path) -> umlnet_core::cmdline::SocketPath {
        p.to_str().unwrap().try_into().unwrap()
    }

    #[test]
    fn frames_cross_both_ways_a_src_stays_bound_and_a_closed_switch_is_an_error() {
        let dir = std::env::temp_dir().join(format!("bess-link-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let listener = SeqpacketListener::bind(&dir.join("sw")).unwrap();
        let spec = BessVector {
            dst: path_of(&dir.join("sw")),
            src: Some(path_of(&dir.join("me"))),
        };
        let mut link = BessLink::open(0, &spec).unwrap();
        let port = listener.accept().unwrap().expect("the link connected");
        assert_eq!(link.send(&[7u8; 42]).unwrap(), SendStatus::Sent);
        let mut buf = [0u8; 1514];
        assert_eq!(port.recv(&mut buf).unwrap(), Some(42));
        assert_eq!(link.recv(&mut buf).unwrap(), None);
        port.send(&[9u8; 60]).unwrap();
        assert_eq!(link.recv(&mut buf).unwrap(), Some(60));
        assert_eq!(&buf[..60], &[9u8; 60]);
        // As in the kernel, `src` is never unlinked: a second open with it fails.
        let again = BessLink::open(1, &spec).unwrap_err().to_string();
        assert!(
            again.contains("bind src=") && again.contains("in use"),
            "{again}"
        );
        drop(port);
        let closed = link.recv(&mut buf).unwrap_err().to_string();
        assert!(closed.contains("closed the connection"), "{closed}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_listener_names_the_path() {
        let spec = BessVector {
            dst: "/nonexistent/umlnet-bess".try_into().unwrap(),
            src: None,
        };
        let e = BessLink::open(3, &spec).unwrap_err().to_string();
        assert!(e.contains("connect dst=/nonexistent/umlnet-bess"), "{e}");
    }
}
