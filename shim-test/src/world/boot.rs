//! Giving a guest its devices: [`World::boot`] from an `eth<n>=` argument over the
//! simulated transports, plain LAN cards, and unplugging a device again.

use super::{GuestId, Hook, HostId, LATENCY, World};
use crate::host::{HostError, IfKind};
use crate::net::{EthertapLink, Framing, SegmentId, SegmentKind, SimLink, SimPort, SlipLink};
use core::fmt;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;
use umlnet_core::cmdline::{self, Transport};
use umlnet_core::host::PlanError;
use umlnet_core::mac::MacAddr;
use umlnet_guest::GuestError;

/// Why [`World::boot`] could not give the guest its device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootError {
    /// The argument does not parse (the kernel's message).
    Parse(String),
    /// The guest refused the device (a multicast or zero MAC, a duplicate).
    Guest(GuestError),
    /// The transport needs a host and none was given.
    NoHost,
    /// No `uml_switch` listens on that control socket.
    NoSwitch(String),
    /// The transport is not simulated (ucast, vde, slirp, vector).
    Unsupported(&'static str),
    /// The helper's plan could not be made.
    Plan(PlanError),
    /// The host refused the plan or the device.
    Host(HostError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::Parse(e) => f.write_str(e),
            BootError::Guest(e) => e.fmt(f),
            BootError::NoHost => f.write_str("this transport needs a host"),
            BootError::NoSwitch(ctl) => write!(
                f,
                "daemon_open : control connect failed, errno = 111 (no uml_switch on {ctl})"
            ),
            BootError::Unsupported(t) => write!(f, "the {t} transport is not simulated"),
            BootError::Plan(e) => e.fmt(f),
            BootError::Host(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for BootError {}

/// What [`World::boot`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    /// The segment the device is on.
    pub segment: SegmentId,
    /// The host device at the other end (`tap0`, `sl0`), for host transports.
    pub host_dev: Option<String>,
}

impl World {
    /// Plugs a plain Ethernet interface `eth<index>` of guest `g` into segment `seg`
    /// (for the other machines of a LAN).
    pub fn guest_nic(
        &mut self,
        g: GuestId,
        index: u32,
        seg: SegmentId,
        mac: Option<MacAddr>,
    ) -> Result<(), GuestError> {
        let name = format!("{}:eth{index}", self.guests[g.0].name);
        let port = self.net.attach(seg, &name);
        let id = port.id();
        let r = self.guests[g.0]
            .guest
            .add_interface(index, SimLink::Port(port), mac);
        if r.is_err() {
            self.net.detach(id);
        }
        r
    }

    /// Gives guest `g` the device an `eth<n>=` argument describes, as the UML kernel
    /// does at boot, with host `host` at the far end of host transports.
    pub fn boot(&mut self, g: GuestId, arg: &str, host: Option<HostId>) -> Result<Boot, BootError> {
        let gname = self.guests[g.0].name.clone();
        self.net.log(format!("{gname}: boot {arg}"));
        let parsed = cmdline::parse(arg).map_err(|e| BootError::Parse(e.display(arg).to_string()));
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                self.net.log(format!("{gname}: {e}"));
                return Err(e);
            }
        };
        let spec = parsed.spec;
        let index = spec.index;
        let mac = spec.transport.mac();
        let r = self.boot_spec(g, index, &spec, mac, host);
        if let Err(e) = &r {
            self.net.log(format!("{gname}: eth{index}: {e}"));
        }
        r
    }

    pub(super) fn boot_spec(
        &mut self,
        g: GuestId,
        index: u32,
        spec: &cmdline::DeviceSpec,
        mac: Option<MacAddr>,
        host: Option<HostId>,
    ) -> Result<Boot, BootError> {
        let gname = self.guests[g.0].name.clone();
        let me = format!("{gname}:eth{index}");
        // The guest refuses a bad MAC before anything is opened on the host.
        if let Some(m) = mac
            && (m.is_multicast() || m.is_zero())
        {
            let e = if m.is_multicast() {
                GuestError::MulticastMac(index, m)
            } else {
                GuestError::ZeroMac(index, m)
            };
            return Err(BootError::Guest(e));
        }
        match &spec.transport {
            Transport::Mcast(m) => {
                let key = (m.group, m.port);
                let seg = match self.groups.get(&key) {
                    Some(s) => *s,
                    None => {
                        let s = self.net.add_segment(
                            &format!("mcast {}:{}", m.group, m.port),
                            SegmentKind::Hub,
                            Framing::Ethernet,
                            LATENCY,
                        );
                        self.groups.insert(key, s);
                        s
                    }
                };
                let port = self.net.attach(seg, &me);
                self.add_to_guest(g, index, SimLink::Port(port), mac)?;
                Ok(Boot {
                    segment: seg,
                    host_dev: None,
                })
            }
            Transport::Daemon(d) => {
                let ctl = d.ctl_or_default().to_string();
                let seg = *self
                    .switches
                    .get(&ctl)
                    .ok_or_else(|| BootError::NoSwitch(ctl.clone()))?;
                let port = self.net.attach(seg, &me);
                self.add_to_guest(g, index, SimLink::Port(port), mac)?;
                Ok(Boot {
                    segment: seg,
                    host_dev: None,
                })
            }
            Transport::Tuntap(t) => {
                let h = host.ok_or(BootError::NoHost)?;
                let dev = match &t.dev {
                    // A fixed tap must exist (tunctl); the kernel runs no helper.
                    Some(d) => {
                        if self.hosts[h.0].interface(d).is_none() {
                            return Err(BootError::Host(HostError::NoSuchDevice(d.to_string())));
                        }
                        d.to_string()
                    }
                    None => {
                        let name = self.hosts[h.0].free_name("tap");
                        self.hosts[h.0]
                            .add_interface(&name, IfKind::Tap, None)
                            .map_err(BootError::Host)?;
                        name
                    }
                };
                let seg = self.host_wire(g, index, h, &dev, Framing::Ethernet, mac)?;
                if t.dev.is_none() && t.gate.is_some() {
                    self.helper_setup(g, index, h, spec, &dev)?;
                }
                Ok(Boot {
                    segment: seg,
                    host_dev: Some(dev),
                })
            }
            Transport::Ethertap(e) => {
                let h = host.ok_or(BootError::NoHost)?;
                let dev = e.dev.to_string();
                if self.hosts[h.0].interface(&dev).is_none() {
                    // The helper makes the tap that stands in for the ethertap device.
                    self.hosts[h.0]
                        .add_interface(&dev, IfKind::Tap, None)
                        .map_err(BootError::Host)?;
                }
                let seg = self.host_wire(g, index, h, &dev, Framing::Ethertap, mac)?;
                if e.gate.is_some() {
                    self.helper_setup(g, index, h, spec, &dev)?;
                }
                Ok(Boot {
                    segment: seg,
                    host_dev: Some(dev),
                })
            }
            Transport::Slip(s) => {
                let h = host.ok_or(BootError::NoHost)?;
                let dev = self.hosts[h.0].free_name("sl");
                self.hosts[h.0]
                    .add_interface(&dev, IfKind::Slip, None)
                    .map_err(BootError::Host)?;
                self.slip_lines += 1;
                let seg = self.host_wire(g, index, h, &dev, Framing::Slip, None)?;
                if s.gate.is_some() {
                    self.helper_setup(g, index, h, spec, &dev)?;
                }
                Ok(Boot {
                    segment: seg,
                    host_dev: Some(dev),
                })
            }
            Transport::Ucast(_) => Err(BootError::Unsupported("ucast")),
            Transport::Vde(_) => Err(BootError::Unsupported("vde")),
            Transport::Slirp(_) => Err(BootError::Unsupported("slirp")),
            Transport::Vector(_) => Err(BootError::Unsupported("vector")),
        }
    }

    /// A new wire from guest `g`'s `eth<index>` to host `h`'s interface `dev`, each end
    /// in the link that `framing` needs (a SLIP line's segment is named after its pty).
    fn host_wire(
        &mut self,
        g: GuestId,
        index: u32,
        h: HostId,
        dev: &str,
        framing: Framing,
        mac: Option<MacAddr>,
    ) -> Result<SegmentId, BootError> {
        let me = format!("{}:eth{index}", self.guests[g.0].name);
        let name = match framing {
            Framing::Slip => format!("{dev} (pty)"),
            Framing::Ethernet | Framing::Ethertap => dev.to_string(),
        };
        let seg = self
            .net
            .add_segment(&name, SegmentKind::Wire, framing, LATENCY);
        let guest_end = self.net.attach(seg, &me);
        let host_end = self
            .net
            .attach(seg, &format!("{}:{dev}", self.hosts[h.0].name()));
        self.hosts[h.0]
            .attach(dev, framed(framing, host_end))
            .map_err(BootError::Host)?;
        self.add_to_guest(g, index, framed(framing, guest_end), mac)?;
        Ok(seg)
    }

    pub(super) fn add_to_guest(
        &mut self,
        g: GuestId,
        index: u32,
        link: SimLink,
        mac: Option<MacAddr>,
    ) -> Result<(), BootError> {
        let ep = link.endpoint();
        let r = self.guests[g.0].guest.add_interface(index, link, mac);
        if let Err(e) = r {
            self.net.detach(ep);
            return Err(BootError::Guest(e));
        }
        Ok(())
    }

    /// Removes `eth<index>` from guest `g` (mconsole `remove`): its endpoint leaves the
    /// segment (a switch forgets its addresses), and a tap the guest opened goes.
    pub fn unplug(&mut self, g: GuestId, index: u32) -> Result<(), GuestError> {
        let link = self.guests[g.0].guest.remove_interface(index)?;
        self.net.detach(link.endpoint());
        let hooks = core::mem::take(&mut self.guests[g.0].hooks);
        let (gone, keep): (Vec<Hook>, Vec<Hook>) =
            hooks.into_iter().partition(|k| k.iface == index);
        self.guests[g.0].hooks = keep;
        for hook in gone {
            if let Some(l) = self.hosts[hook.host].detach(&hook.dev) {
                self.net.detach(l.endpoint());
            }
        }
        Ok(())
    }
}

/// An endpoint in the link its segment's framing needs.
fn framed(framing: Framing, port: SimPort) -> SimLink {
    match framing {
        Framing::Ethernet => SimLink::Port(port),
        Framing::Ethertap => SimLink::Ethertap(EthertapLink::new(port)),
        Framing::Slip => SimLink::Slip(SlipLink::new(port)),
    }
}
