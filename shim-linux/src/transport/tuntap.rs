//! `eth<n>=tuntap,<dev>,<mac>,<gate-ip>`: a host TAP device (docs/protocols.md §2.3).
//!
//! With a device name the TAP is opened directly (`TUNSETIFF`, `IFF_TAP|IFF_NO_PI`)
//! and no helper runs. Without one, `uml_net 4 tuntap up [<gate>]` creates it: its
//! stdout is our end of a `SOCK_DGRAM` socketpair and the answer is one datagram, the
//! 16-byte interface name and the helper's text, with the TAP fd attached by
//! `SCM_RIGHTS`. Addresses the guest takes are then announced with
//! `uml_net 4 add|del <tap> <ip> <netmask>` (host route, proxy ARP, published ARP).

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::process::Stdio;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use umlnet_core::cmdline::Tuntap;
use umlnet_core::helper::{AddrOp, Command as HelperCommand, TuntapUpReply};
use umlnet_core::link::{Link, Medium, SendStatus};

use super::helper::{HELPER_TIMEOUT, command, run_address, wait, wait_answer};
use super::{OpenError, OpenOptions, UML_MTU, sent};
use crate::sys::fdpass::recv_with_fd;
use crate::sys::socket::set_nonblocking;
use crate::sys::tun::Tap;

/// An open TAP: a plain Ethernet frame per read and write.
#[derive(Debug)]
pub struct TuntapLink {
    fd: std::fs::File,
    name: String,
    gate: Option<Ipv4Addr>,
    /// The helper to tell about addresses (dynamic mode only).
    helper: Option<PathBuf>,
    /// What the helper printed when it made the TAP.
    helper_text: String,
}

impl TuntapLink {
    /// Opens `eth<index>`'s TAP: the named one, or a new one from the helper.
    pub fn open(index: u32, t: &Tuntap, opts: &OpenOptions) -> Result<TuntapLink, OpenError> {
        match &t.dev {
            Some(dev) => {
                let tap = Tap::open(dev).map_err(OpenError::io(
                    index,
                    "tuntap",
                    format!("open TAP device '{dev}' (TUNSETIFF)"),
                ))?;
                let name = tap.name().to_string();
                Ok(TuntapLink {
                    fd: file_of(tap),
                    name,
                    gate: t.gate,
                    helper: None,
                    helper_text: String::new(),
                })
            }
            None => Self::open_dynamic(index, t.gate, opts),
        }
    }

    fn open_dynamic(
        index: u32,
        gate: Option<Ipv4Addr>,
        opts: &OpenOptions,
    ) -> Result<TuntapLink, OpenError> {
        let io_err = |what: &str| OpenError::io(index, "tuntap", what.to_string());
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::Datagram,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| io_err("socketpair")(e.into()))?;
        let mut cmd = command(&opts.helper, &HelperCommand::TuntapUp { gate });
        cmd.stdout(Stdio::from(theirs));
        let mut child = cmd.spawn().map_err(io_err(&format!(
            "failed to exec {} on host",
            cmd.get_program().display()
        )))?;
        drop(cmd);
        let ready =
            wait_answer(&ours, &mut child, HELPER_TIMEOUT).map_err(io_err("wait for uml_net"))?;
        if !ready {
            let _ = wait(&mut child, std::time::Duration::ZERO);
            return Err(OpenError::Helper {
                index,
                transport: "tuntap",
                text: "tuntap_open_tramp : didn't receive a message".into(),
            });
        }
        let mut buf = vec![0u8; 4095];
        let (n, fd) = recv_with_fd(ours.as_fd(), &mut buf).map_err(io_err("recvmsg"))?;
        let _ = wait(&mut child, HELPER_TIMEOUT);
        let reply =
            TuntapUpReply::parse(&buf[..n], fd.is_some()).map_err(|e| OpenError::Helper {
                index,
                transport: "tuntap",
                text: e.to_string(),
            })?;
        match (reply, fd) {
            (TuntapUpReply::Ready { name, text }, Some(fd)) => {
                set_nonblocking(fd.as_raw_fd(), true).map_err(io_err("O_NONBLOCK"))?;
                Ok(TuntapLink {
                    fd: std::fs::File::from(fd),
                    name: name.to_string(),
                    gate,
                    helper: Some(opts.helper.clone()),
                    helper_text: String::from_utf8_lossy(text).into_owned(),
                })
            }
            (TuntapUpReply::Failed { text }, _) | (TuntapUpReply::Ready { text, .. }, None) => {
                Err(OpenError::Helper {
                    index,
                    transport: "tuntap",
                    text: String::from_utf8_lossy(text).trim_end().to_string(),
                })
            }
        }
    }

    /// `TUN/TAP backend - [IP = <gate>]`, with the host device's name.
    pub fn banner(&self) -> String {
        match self.gate {
            Some(g) => format!("TUN/TAP backend - {} IP = {g}", self.name),
            None => format!("TUN/TAP backend - {}", self.name),
        }
    }

    /// The host TAP device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What `uml_net` printed when it made the TAP (empty for a named TAP).
    pub fn helper_text(&self) -> &str {
        &self.helper_text
    }

    /// Runs `uml_net 4 add|del <tap> <ip> <netmask>` for a helper-made TAP, refusing
    /// (as the kernel does) an address equal to the gate. A named TAP runs nothing.
    pub fn address_changed(
        &mut self,
        op: AddrOp,
        ip: Ipv4Addr,
        netmask: Ipv4Addr,
    ) -> io::Result<String> {
        let Some(helper) = &self.helper else {
            return Ok(String::new());
        };
        if self.gate == Some(ip) {
            return Ok("The tap IP address and the UML eth IP address must be different\n".into());
        }
        let (text, ok) = run_address(helper, "TAP name", &self.name, op, ip, netmask)?;
        if ok {
            Ok(text)
        } else {
            Err(io::Error::other(format!(
                "uml_net {} failed: {}",
                if op == AddrOp::Add { "add" } else { "del" },
                text.trim_end()
            )))
        }
    }
}

fn file_of(tap: Tap) -> std::fs::File {
    let fd: OwnedFd = tap
        .as_fd()
        .try_clone_to_owned()
        .expect("dup of an open TAP");
    std::fs::File::from(fd)
}

impl Link for TuntapLink {
    type Error = io::Error;

    fn medium(&self) -> Medium {
        Medium::Ethernet
    }

    fn mtu(&self) -> usize {
        UML_MTU
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        use std::io::Read;
        crate::sys::none_if_would_block((&self.fd).read(buf))
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<SendStatus> {
        use std::io::Write;
        sent(crate::sys::none_if_would_block((&self.fd).write(frame)))
    }
}

impl AsRawFd for TuntapLink {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
