//! A client of the daemon protocol that attaches exactly as the UML kernel does
//! (docs/protocols.md §3.1): a datagram socket bound to a 110-byte abstract address, one 124-byte
//! version 3 request on a stream connection to the control socket, the switch's
//! 110-byte data address read back, then frames sent with `sendto` to that address
//! (the data socket is never connected). Used by the tests and the benchmark.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use umlnet_core::daemon::{DataAddr, REPLY_LEN, REQUEST_LEN, RequestRepr};

use crate::sys::socket::{DgramSocket, SOCKADDR_UN_LEN, wait_readable};

/// An attached port: the control connection (closing it detaches) and the data socket.
#[derive(Debug)]
pub struct Client {
    ctl: UnixStream,
    data: DgramSocket,
    addr: DataAddr,
    switch: DataAddr,
}

/// An abstract address shaped like the UML kernel's: `{0, pad, pid, usec}` and, where
/// the kernel leaves heap garbage, bytes derived from `salt` (so the whole 108 bytes
/// matter, as with the real kernel).
pub fn uml_like_addr(pid: u32, tag: u32, salt: u64) -> DataAddr {
    let mut b = *DataAddr::uml_abstract(pid, tag).as_bytes();
    let mut x = salt | 1;
    for byte in b[14..].iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = x as u8;
    }
    DataAddr::from_array(b)
}

impl Client {
    /// Binds a data socket at `addr`, sends a version 3 request to the switch at
    /// `ctl_path` and reads its data address (waiting up to 5 s).
    pub fn attach(ctl_path: &Path, addr: DataAddr) -> io::Result<Client> {
        let data = DgramSocket::bind_raw(addr.as_bytes(), SOCKADDR_UN_LEN)?;
        let mut ctl = UnixStream::connect(ctl_path)?;
        let mut req = [0u8; REQUEST_LEN];
        let n = RequestRepr::V3 {
            addr,
            port: 0,
            description: b"",
        }
        .emit(&mut req)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        ctl.write_all(&req[..n])?;
        ctl.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut reply = [0u8; REPLY_LEN];
        ctl.read_exact(&mut reply)?;
        let switch = DataAddr::from_bytes(&reply)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        Ok(Client {
            ctl,
            data,
            addr,
            switch,
        })
    }

    /// Our data address.
    pub fn addr(&self) -> &DataAddr {
        &self.addr
    }

    /// The switch's data address (its reply).
    pub fn switch_addr(&self) -> &DataAddr {
        &self.switch
    }

    /// The data socket (non-blocking unless changed).
    pub fn data(&self) -> &DgramSocket {
        &self.data
    }

    /// The control connection.
    pub fn control(&self) -> &UnixStream {
        &self.ctl
    }

    /// Sends one frame to the switch. `Ok(None)` if the switch's queue is full.
    pub fn send(&self, frame: &[u8]) -> io::Result<Option<usize>> {
        self.data
            .send_to_raw(frame, self.switch.as_bytes(), SOCKADDR_UN_LEN)
    }

    /// Receives one frame if one is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.data.recv(buf)
    }

    /// Receives one frame, waiting up to `timeout`.
    pub fn recv_timeout(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        let end = std::time::Instant::now() + timeout;
        loop {
            if let Some(n) = self.data.recv(buf)? {
                return Ok(Some(n));
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || !wait_readable(self.data.as_raw_fd(), left)? {
                return Ok(None);
            }
        }
    }
}
