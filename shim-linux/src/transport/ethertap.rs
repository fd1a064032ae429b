//! `eth<n>=ethertap,<dev>,<mac>,<gate-ip>`: a host tap through the helper (docs/protocols.md §2.5).
//!
//! As the kernel does it: a data `SOCK_DGRAM` socketpair whose far end the helper
//! inherits at the fd number given in argv, a control `SOCK_STREAM` socketpair on the
//! helper's stdout, `uml_net 4 ethertap <dev> <data-fd> [<gate>]`, then one status
//! byte (1 = ready) and an output block. Every datagram carries 2 bytes of prefix in
//! front of the Ethernet frame. Address changes go to the helper as 12-byte control
//! messages, each answered with an output block. Dropping the link closes both
//! sockets; the helper sees EOF and stops.

use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use umlnet_core::cmdline::Ethertap;
use umlnet_core::ethernet::{ETHERTAP_PREFIX_LEN, prefix_ethertap, strip_ethertap};
use umlnet_core::helper::{
    ADDR_CHANGE_LEN, AddrChange, AddrChangeRepr, AddrOp, ChangeOp, Command as HelperCommand,
    EthertapStatus, parse_tap_name,
};
use umlnet_core::link::{Link, Medium, SendStatus};

use super::helper::{HELPER_TIMEOUT, command, read_output_block, wait};
use super::{OpenError, OpenOptions, UML_MTU, sent};
use crate::sys::none_if_would_block;

/// A running ethertap helper and our ends of its sockets.
#[derive(Debug)]
pub struct EthertapLink {
    data: UnixDatagram,
    control: UnixStream,
    helper: Child,
    dev: String,
    gate: Option<Ipv4Addr>,
    helper_text: String,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl EthertapLink {
    /// Runs the helper for `eth<index>` and waits for its status byte.
    pub fn open(index: u32, t: &Ethertap, opts: &OpenOptions) -> Result<EthertapLink, OpenError> {
        let io_err = |what: &str| OpenError::io(index, "ethertap", what.to_string());
        let Some((dev, _)) = parse_tap_name(&t.dev) else {
            return Err(OpenError::Io {
                index,
                transport: "ethertap",
                what: format!("device '{}'", t.dev),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an ethertap device is named tap<N>",
                ),
            });
        };
        // The far end of the data pair must survive exec: no CLOEXEC on it.
        let (data_ours, data_theirs) = socketpair(
            AddressFamily::Unix,
            SockType::Datagram,
            None,
            SockFlag::empty(),
        )
        .map_err(|e| io_err("data socketpair")(e.into()))?;
        set_cloexec(&data_ours).map_err(io_err("FD_CLOEXEC"))?;
        let (control, control_theirs) = UnixStream::pair().map_err(io_err("control socketpair"))?;
        let data_fd = data_theirs.as_raw_fd();
        let data_fd_arg = u16::try_from(data_fd).map_err(|_| OpenError::Io {
            index,
            transport: "ethertap",
            what: "data socket".into(),
            source: io::Error::other(format!("fd {data_fd} is too large for the helper")),
        })?;
        let mut cmd = command(
            &opts.helper,
            &HelperCommand::Ethertap {
                dev,
                data_fd: data_fd_arg,
                gate: t.gate,
            },
        );
        cmd.stdout(Stdio::from(OwnedFd::from(control_theirs)));
        let mut child = cmd.spawn().map_err(io_err(&format!(
            "failed to exec {} on host",
            cmd.get_program().display()
        )))?;
        drop(cmd);
        drop(data_theirs);
        let mut control = control;
        control
            .set_read_timeout(Some(HELPER_TIMEOUT))
            .map_err(io_err("SO_RCVTIMEO"))?;
        let mut status = [0u8; 1];
        let got = control
            .read(&mut status)
            .map_err(io_err("read status byte"))?;
        let text = if got == 1 {
            read_output_block(&mut control).unwrap_or_default()
        } else {
            String::new()
        };
        if got != 1 || EthertapStatus::from_byte(status[0]) != EthertapStatus::Ready {
            let _ = wait(&mut child, Duration::from_secs(2));
            return Err(OpenError::Helper {
                index,
                transport: "ethertap",
                text: format!("etap_tramp : uml_net failed: {}", text.trim_end()),
            });
        }
        let data = UnixDatagram::from(data_ours);
        data.set_nonblocking(true).map_err(io_err("O_NONBLOCK"))?;
        Ok(EthertapLink {
            data,
            control,
            helper: child,
            dev: t.dev.to_string(),
            gate: t.gate,
            helper_text: text,
            tx: vec![0; UML_MTU + 14 + ETHERTAP_PREFIX_LEN],
            rx: vec![0; UML_MTU + 14 + ETHERTAP_PREFIX_LEN + 16],
        })
    }

    /// `ethertap backend - <dev>[, IP = <gate>]`, as the kernel prints.
    pub fn banner(&self) -> String {
        match self.gate {
            Some(g) => format!("ethertap backend - {}, IP = {g}", self.dev),
            None => format!("ethertap backend - {}", self.dev),
        }
    }

    /// What the helper printed when it started.
    pub fn helper_text(&self) -> &str {
        &self.helper_text
    }

    /// Sends the 12-byte ADD or DEL control message and returns the helper's answer.
    pub fn address_changed(
        &mut self,
        op: AddrOp,
        ip: Ipv4Addr,
        netmask: Ipv4Addr,
    ) -> io::Result<String> {
        let mut msg = [0u8; ADDR_CHANGE_LEN];
        let repr = AddrChangeRepr {
            op: match op {
                AddrOp::Add => ChangeOp::Add,
                AddrOp::Del => ChangeOp::Del,
            },
            addr: ip,
            netmask,
        };
        repr.emit(&mut AddrChange::new_unchecked(&mut msg[..]));
        self.control.write_all(&msg)?;
        read_output_block(&mut self.control)
    }
}

fn set_cloexec(fd: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok(())
}

impl Drop for EthertapLink {
    fn drop(&mut self) {
        let _ = self.control.shutdown(std::net::Shutdown::Both);
        let _ = wait(&mut self.helper, Duration::from_secs(2));
    }
}

impl Link for EthertapLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            let Some(n) = none_if_would_block(self.data.recv(&mut self.rx))? else {
                return Ok(None);
            };
            // A datagram too short for its prefix carries no frame.
            let Ok(frame) = strip_ethertap(&self.rx[..n]) else {
                continue;
            };
            let k = frame.len().min(buf.len());
            buf[..k].copy_from_slice(&frame[..k]);
            return Ok(Some(k));
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<SendStatus> {
        if self.tx.len() < frame.len() + ETHERTAP_PREFIX_LEN {
            self.tx.resize(frame.len() + ETHERTAP_PREFIX_LEN, 0);
        }
        let n = prefix_ethertap(frame, &mut self.tx)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        sent(none_if_would_block(self.data.send(&self.tx[..n])))
    }
}

impl AsRawFd for EthertapLink {
    fn as_raw_fd(&self) -> RawFd {
        self.data.as_raw_fd()
    }
}
