//! `eth<n>=vde,<url>,<mac>,<port>,<group>,<mode>,<descr>`: a port on a `vde_switch`
//! (or anything else a vdeplug4 URL names) through `vde_plug`, the program the
//! `vdeplug` package ships. `vde_plug <url>` joins the URL to its standard input and
//! output as a byte stream of frames, each led by its length in 2 bytes big-endian;
//! the link runs it on one end of a socket pair and reads and writes that stream. The
//! group, mode and description fields become `vde_plug`'s `-g`, `-m` and `-D`, the port
//! the URL's `[port]` suffix. `vde_plug` ends when the link is dropped (its input
//! closes).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::process::{Child, Command, Stdio};

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use umlnet_core::cmdline::Vde;
use umlnet_core::link::{Link, Medium, SendStatus};

use super::{OpenError, UML_MTU, sent};
use crate::sys::socket::DgramSocket;

/// The program run for a vde device (found on `PATH`).
pub const VDE_PLUG: &str = "vde_plug";

/// Largest frame taken from the stream (`vde_plug` carries up to 1514 + VLAN tag).
const FRAME_MAX: usize = 1518;

/// An open vde transport: `vde_plug` and our end of its standard input and output.
#[derive(Debug)]
pub struct VdeLink {
    sock: DgramSocket,
    child: Child,
    url: String,
    /// Bytes read from the stream and not yet returned as frames.
    pending: Vec<u8>,
    out: Vec<u8>,
}

impl VdeLink {
    /// Starts `vde_plug` for `eth<index>` on the URL `v` names.
    pub fn open(index: u32, v: &Vde) -> Result<VdeLink, OpenError> {
        let mut url = v.switch.as_deref().unwrap_or("").to_string();
        if let Some(port) = v.port {
            url.push_str(&format!("[{port}]"));
        }
        let err = |what: &str| OpenError::io(index, "vde", format!("{what} ({VDE_PLUG} {url})"));
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| err("socketpair")(e.into()))?;
        let theirs_out: OwnedFd = theirs.try_clone().map_err(err("dup"))?;
        let mut cmd = Command::new(VDE_PLUG);
        if let Some(g) = &v.group {
            cmd.arg("-g").arg(g.as_str());
        }
        if let Some(m) = v.mode {
            cmd.arg("-m").arg(format!("{m:o}"));
        }
        if let Some(d) = &v.descr {
            cmd.arg("-D").arg(d.as_str());
        }
        cmd.arg(&url)
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::from(theirs_out));
        let child = cmd
            .spawn()
            .map_err(err("run (install the vdeplug package)"))?;
        let sock = DgramSocket::from_connected(ours);
        sock.set_nonblocking(true)
            .map_err(err("set non-blocking"))?;
        Ok(VdeLink {
            sock,
            child,
            url,
            pending: Vec::new(),
            out: Vec::with_capacity(2 + FRAME_MAX),
        })
    }

    /// `vde backend - <url>`.
    pub fn banner(&self) -> String {
        format!("vde backend - {}", self.url)
    }

    /// Moves the first whole frame of `pending` into `buf`.
    fn take_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let Some(n) = whole_frame(&self.pending) else {
            return Ok(None);
        };
        if n > buf.len() || n > FRAME_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("vde: {VDE_PLUG} sent a {n}-byte frame (at most {FRAME_MAX})"),
            ));
        }
        buf[..n].copy_from_slice(&self.pending[2..2 + n]);
        self.pending.drain(..2 + n);
        Ok(Some(n))
    }
}

/// The length of the frame at the start of `stream` (2-byte big-endian length, then
/// the frame) once all of it is there.
fn whole_frame(stream: &[u8]) -> Option<usize> {
    let [hi, lo, ..] = *stream else {
        return None;
    };
    let n = usize::from(u16::from_be_bytes([hi, lo]));
    (stream.len() >= 2 + n).then_some(n)
}

impl Link for VdeLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            if let Some(n) = self.take_frame(buf)? {
                return Ok(Some(n));
            }
            let mut chunk = [0u8; 4096];
            match self.sock.recv(&mut chunk)? {
                None => return Ok(None),
                Some(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        format!("vde: {VDE_PLUG} {} exited", self.url),
                    ));
                }
                Some(n) => self.pending.extend_from_slice(&chunk[..n]),
            }
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<SendStatus> {
        let Ok(len) = u16::try_from(frame.len()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("vde: a {}-byte frame is too long", frame.len()),
            ));
        };
        self.out.clear();
        self.out.extend_from_slice(&len.to_be_bytes());
        self.out.extend_from_slice(frame);
        sent(self.sock.send(&self.out))
    }
}

impl AsRawFd for VdeLink {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl Drop for VdeLink {
    fn drop(&mut self) {
        // Our end closes when `sock` drops after this; vde_plug then sees end of input.
        // Reap it so it does not stay a zombie; give it the signal it ends on.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_frame_is_whole_only_once_its_length_and_all_its_bytes_are_there() {
        assert_eq!(whole_frame(&[]), None);
        assert_eq!(whole_frame(&[0]), None);
        assert_eq!(whole_frame(&[0, 3, 1, 2]), None);
        assert_eq!(whole_frame(&[0, 3, 1, 2, 3]), Some(3));
        assert_eq!(whole_frame(&[0, 3, 1, 2, 3, 0, 9]), Some(3));
        let mut long = vec![0x05, 0xea];
        long.resize(2 + 1514, 0);
        assert_eq!(whole_frame(&long), Some(1514));
    }
}
