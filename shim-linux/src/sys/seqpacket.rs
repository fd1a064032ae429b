//! Unix `SOCK_SEQPACKET` listeners: connection-oriented sockets that keep message
//! boundaries, as the UML vector driver's `bess` transport connects to.
//!
//! An accepted connection is handed on as a [`super::socket::DgramSocket`]: once
//! connected, a seqpacket socket takes `recvmmsg`/`sendmmsg` batches exactly as a
//! connected datagram socket does (one message per frame).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, UnixAddr, accept4, bind, listen, socket,
};

use super::socket::DgramSocket;

/// A listening unix seqpacket socket, non-blocking and close-on-exec, closed on drop.
#[derive(Debug)]
pub struct SeqpacketListener {
    fd: OwnedFd,
}

impl SeqpacketListener {
    /// Binds `path` (a filesystem name) and listens on it.
    pub fn bind(path: &Path) -> io::Result<SeqpacketListener> {
        let fd = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        let addr = UnixAddr::new(path)?;
        bind(fd.as_raw_fd(), &addr)?;
        listen(&fd, Backlog::new(128).unwrap_or(Backlog::MAXCONN))?;
        Ok(SeqpacketListener { fd })
    }

    /// The next waiting connection (non-blocking, close-on-exec), or `None` when
    /// there is none.
    pub fn accept(&self) -> io::Result<Option<DgramSocket>> {
        match accept4(
            self.fd.as_fd(),
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        ) {
            Ok(fd) => Ok(Some(DgramSocket::from_connected(fd))),
            Err(nix::errno::Errno::EAGAIN) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsFd for SeqpacketListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for SeqpacketListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A blocking, close-on-exec seqpacket connection to the listener at `path` (what
/// the UML kernel's `bess` transport makes at ifup).
pub fn connect(path: &Path) -> io::Result<DgramSocket> {
    let fd = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    nix::sys::socket::connect(fd.as_raw_fd(), &UnixAddr::new(path)?)?;
    Ok(DgramSocket::from_connected(fd))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_connection_keeps_message_boundaries_both_ways_and_reports_its_end() {
        let dir = std::env::temp_dir().join(format!("seqpacket-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("l");
        let _ = std::fs::remove_file(&path);
        let l = SeqpacketListener::bind(&path).unwrap();
        assert!(l.accept().unwrap().is_none());
        let client = connect(&path).unwrap();
        let s = l.accept().unwrap().expect("the connection waits");
        let mut scratch = super::super::mmsg::SendBatch::new();
        assert_eq!(
            client
                .send_batch_connected(&mut scratch, &[&[1u8; 42][..], &[2u8; 60][..]])
                .unwrap(),
            2
        );
        let mut batch = super::super::socket::RecvBatch::new(8, 1518);
        assert_eq!(s.recv_batch(&mut batch).unwrap(), 2);
        assert_eq!(batch.get(0).unwrap().data, &[1u8; 42][..]);
        assert_eq!(batch.get(1).unwrap().data, &[2u8; 60][..]);
        s.send_batch_connected(&mut scratch, &[&[3u8; 64][..]])
            .unwrap();
        let mut b = [0u8; 100];
        assert_eq!(client.recv(&mut b).unwrap(), Some(64));
        drop(client);
        // The peer's end: readable with nothing in it.
        let mut one = [0u8; 8];
        assert_eq!(s.recv(&mut one).unwrap(), Some(0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
