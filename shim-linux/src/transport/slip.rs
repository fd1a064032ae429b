//! `eth<n>=slip,<gate-ip>`: bare IPv4 packets, SLIP-framed on a pty or any byte stream
//! (docs/protocols.md §2.6, §5).
//!
//! [`SlipLink::open`] does what the kernel does: a pty in raw mode, and with a gate
//! `uml_net 4 slip up <gate>` with the slave on the helper's stdin (the helper puts the
//! host end up, with `N_SLIP` or, on hosts without it, a user-space bridge to a TUN
//! device). Without a gate the kernel sets `N_SLIP` itself; so does this, and where the
//! host has no `N_SLIP` the line is left to whatever reads the slave. Frames are
//! encoded and decoded with [`umlnet_core::slip`]; [`SlipLink::from_stream`] runs the
//! same codec over any stream (a socket to a slirp-like program, a serial line).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::Duration;

use umlnet_core::cmdline::Slip;
use umlnet_core::helper::{self, AddrOp, Command as HelperCommand, IfName};
use umlnet_core::link::{Link, Medium, SendStatus};
use umlnet_core::slip::{Decoder, UML_MTU, encode, max_encoded_len};

use super::helper::{run_address, run_with_output};
use super::{OpenError, OpenOptions};
use crate::sys::none_if_would_block;
use crate::sys::pty;
use crate::sys::socket::set_nonblocking;

/// A SLIP line.
pub struct SlipLink {
    stream: File,
    /// The pty slave we handed to the helper (kept open, as the kernel keeps it).
    slave: Option<OwnedFd>,
    gate: Option<Ipv4Addr>,
    host_name: Option<String>,
    helper: Option<PathBuf>,
    helper_text: String,
    decoder: Decoder<[u8; UML_MTU]>,
    pending: Vec<u8>,
    pos: usize,
    enc: Vec<u8>,
}

impl std::fmt::Debug for SlipLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlipLink")
            .field("fd", &self.stream.as_raw_fd())
            .field("gate", &self.gate)
            .field("host_name", &self.host_name)
            .finish()
    }
}

impl SlipLink {
    /// Opens `eth<index>`'s pty and brings the host end up through the helper.
    pub fn open(index: u32, s: &Slip, opts: &OpenOptions) -> Result<SlipLink, OpenError> {
        let io_err = |what: &str| OpenError::io(index, "slip", what.to_string());
        let (master, slave) = pty::open_pair().map_err(io_err("open a pty"))?;
        let mut link = SlipLink::from_stream(master).map_err(io_err("O_NONBLOCK"))?;
        link.gate = s.gate;
        match s.gate {
            Some(gate) => {
                let stdin = slave.try_clone().map_err(io_err("dup the pty slave"))?;
                let (text, ok) =
                    run_with_output(&opts.helper, &HelperCommand::SlipUp { gate }, Some(stdin))
                        .map_err(io_err("uml_net slip up"))?;
                if !ok {
                    return Err(OpenError::Helper {
                        index,
                        transport: "slip",
                        text: text.trim_end().to_string(),
                    });
                }
                link.host_name = pty::if_name(slave.as_fd())
                    .ok()
                    .or_else(|| bridge_name(&text));
                link.helper = Some(opts.helper.clone());
                link.helper_text = text;
            }
            None => {
                // As the kernel: N_SLIP without a helper (needs CAP_NET_ADMIN). A host
                // without N_SLIP leaves the raw line to whoever reads the slave.
                link.host_name = pty::set_slip(slave.as_fd()).ok();
                link.helper = Some(opts.helper.clone());
            }
        }
        link.slave = Some(slave);
        Ok(link)
    }

    /// A SLIP link over any byte stream (made non-blocking here).
    pub fn from_stream(stream: OwnedFd) -> io::Result<SlipLink> {
        set_nonblocking(stream.as_raw_fd(), true)?;
        Ok(SlipLink {
            stream: File::from(stream),
            slave: None,
            gate: None,
            host_name: None,
            helper: None,
            helper_text: String::new(),
            decoder: Decoder::new([0; UML_MTU]),
            pending: Vec::new(),
            pos: 0,
            enc: vec![0; max_encoded_len(UML_MTU)],
        })
    }

    /// `SLIP backend - SLIP IP = <gate or (null)>`, as the kernel prints.
    pub fn banner(&self) -> String {
        match self.gate {
            Some(g) => format!("SLIP backend - SLIP IP = {g}"),
            None => "SLIP backend - SLIP IP = (null)".into(),
        }
    }

    /// The host interface of the line, when the host made one.
    pub fn host_name(&self) -> Option<&str> {
        self.host_name.as_deref()
    }

    /// What the helper printed at `slip up`.
    pub fn helper_text(&self) -> &str {
        &self.helper_text
    }

    /// The pty slave (the host end of the line), if this link made a pty.
    pub fn slave(&self) -> Option<&OwnedFd> {
        self.slave.as_ref()
    }

    /// Runs `uml_net 4 add|del <sl> <ip> <netmask>` when a gate was set and the host
    /// interface is known, as the kernel does while the line is open.
    pub fn address_changed(
        &mut self,
        op: AddrOp,
        ip: Ipv4Addr,
        netmask: Ipv4Addr,
    ) -> io::Result<String> {
        let (Some(helper), Some(_), Some(name)) = (&self.helper, self.gate, &self.host_name) else {
            return Ok(String::new());
        };
        let (text, ok) = run_address(helper, "SLIP interface name", name, op, ip, netmask)?;
        if ok {
            Ok(text)
        } else {
            Err(io::Error::other(text.trim_end().to_string()))
        }
    }
}

/// The TUN device a user-space SLIP bridge reports in the helper's text (`umlsl<N>`).
fn bridge_name(text: &str) -> Option<String> {
    let at = text.find("umlsl")?;
    let digits: String = text[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("umlsl{digits}"))
}

impl Drop for SlipLink {
    fn drop(&mut self) {
        // The kernel runs `slip down` on every close, with the slave on stdin.
        if let (Some(helper), Some(slave)) = (&self.helper, &self.slave)
            && let Ok(stdin) = slave.try_clone()
        {
            let name: IfName = self
                .host_name
                .as_deref()
                .and_then(helper::parse_if_name)
                .unwrap_or_default();
            let _ = run_with_output(helper, &HelperCommand::SlipDown { name }, Some(stdin));
        }
    }
}

impl Link for SlipLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ip
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            while self.pos < self.pending.len() {
                let (used, event) = self.decoder.feed(&self.pending[self.pos..]);
                self.pos += used;
                if let Some(Ok(frame)) = event {
                    let k = frame.len().min(buf.len());
                    buf[..k].copy_from_slice(&frame[..k]);
                    return Ok(Some(k));
                }
            }
            self.pending.clear();
            self.pos = 0;
            self.pending.resize(4096, 0);
            match none_if_would_block((&self.stream).read(&mut self.pending)) {
                Ok(Some(0)) => {
                    self.pending.clear();
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the SLIP line was closed",
                    ));
                }
                Ok(Some(n)) => self.pending.truncate(n),
                Ok(None) => {
                    self.pending.clear();
                    return Ok(None);
                }
                Err(e) => {
                    self.pending.clear();
                    return Err(e);
                }
            }
        }
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<SendStatus> {
        let n = encode(packet, &mut self.enc)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut done = match none_if_would_block((&self.stream).write(&self.enc[..n]))? {
            None => return Ok(SendStatus::Full),
            Some(k) => k,
        };
        // A stream may take part of a frame; the rest must follow, or the line desyncs.
        let mut waited = Duration::ZERO;
        while done < n {
            match none_if_would_block((&self.stream).write(&self.enc[done..n]))? {
                Some(k) => done += k,
                None => {
                    if waited > Duration::from_secs(1) {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the SLIP line stopped taking bytes mid-frame",
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    waited += Duration::from_millis(1);
                }
            }
        }
        Ok(SendStatus::Sent)
    }
}

impl AsRawFd for SlipLink {
    fn as_raw_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn packets_cross_a_stream_framed_as_the_kernel_frames_them() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut link = SlipLink::from_stream(OwnedFd::from(a)).unwrap();
        let mut peer = b;
        // An IPv4-looking packet with both special bytes in it.
        let packet = [0x45, 0, 0xc0, 0xdb, 1, 2, 3];
        assert_eq!(link.send(&packet).unwrap(), SendStatus::Sent);
        let mut wire = [0u8; 32];
        let n = peer.read(&mut wire).unwrap();
        assert_eq!(
            &wire[..n],
            &[0xc0, 0x45, 0, 0xdb, 0xdc, 0xdb, 0xdd, 1, 2, 3, 0xc0]
        );
        let mut buf = [0u8; 1500];
        assert_eq!(link.recv(&mut buf).unwrap(), None);
        // Two frames in one write, the second split over two writes.
        peer.write_all(&[0xc0, 9, 8, 0xc0, 0xc0, 7]).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(link.recv(&mut buf).unwrap(), Some(2));
        assert_eq!(&buf[..2], &[9, 8]);
        assert_eq!(link.recv(&mut buf).unwrap(), None);
        peer.write_all(&[0xdb, 0xdc, 0xc0]).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(link.recv(&mut buf).unwrap(), Some(2));
        assert_eq!(&buf[..2], &[7, 0xc0]);
        drop(peer);
        assert_eq!(
            link.recv(&mut buf).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
