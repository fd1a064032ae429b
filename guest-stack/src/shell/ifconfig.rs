//! `ifconfig`: listing interfaces as old net-tools prints them, and setting an
//! interface's address, netmask, MTU, MAC and state.

use super::decimal::scaled;
use super::{CommandOutput, parse_addr_prefix, parse_iface};
use crate::guest::{Guest, GuestError, InterfaceInfo};
use crate::route::prefix_len;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::Ipv4Addr;
use umlnet_core::link::{Link, Medium as LinkMedium};
use umlnet_core::mac::MacAddr;

impl<L: Link> Guest<L> {
    pub(super) fn ifconfig(&mut self, args: &[&str]) -> CommandOutput {
        match args {
            [] => {
                let mut text = String::new();
                for i in self.interface_indices() {
                    let info = self.interface(i).expect("listed interface exists");
                    if info.up {
                        text.push_str(&format_ifconfig(&info));
                    }
                }
                CommandOutput::ok(text)
            }
            ["-a"] => {
                let mut text = String::new();
                for i in self.interface_indices() {
                    text.push_str(&format_ifconfig(
                        &self.interface(i).expect("listed interface exists"),
                    ));
                }
                CommandOutput::ok(text)
            }
            [name] => match parse_iface(name).and_then(|i| self.interface(i)) {
                Some(info) => CommandOutput::ok(format_ifconfig(&info)),
                None => CommandOutput::err(
                    alloc::format!(
                        "{name}: error fetching interface information: Device not found"
                    ),
                    1,
                ),
            },
            [name, rest @ ..] => self.ifconfig_set(name, rest),
        }
    }

    pub(super) fn ifconfig_set(&mut self, name: &str, args: &[&str]) -> CommandOutput {
        let index = parse_iface(name).filter(|&i| self.interface(i).is_some());
        let mut addr: Option<(Ipv4Addr, Option<u8>)> = None;
        let mut netmask: Option<u8> = None;
        let mut broadcast: Option<Ipv4Addr> = None;
        let mut hw: Option<MacAddr> = None;
        let mut updown: Option<bool> = None;
        let mut it = args.iter();
        while let Some(&a) = it.next() {
            match a {
                "up" => updown = Some(true),
                "down" => updown = Some(false),
                "netmask" => {
                    let Some(m) = it.next() else {
                        return ifconfig_usage();
                    };
                    match m.parse().ok().and_then(prefix_len) {
                        Some(len) => netmask = Some(len),
                        None => return CommandOutput::err(alloc::format!("{m}: Unknown host"), 1),
                    }
                }
                "broadcast" => {
                    let Some(b) = it.next() else {
                        return ifconfig_usage();
                    };
                    match b.parse() {
                        Ok(b) => broadcast = Some(b),
                        Err(_) => {
                            return CommandOutput::err(alloc::format!("{b}: Unknown host"), 1);
                        }
                    }
                }
                "hw" => {
                    let (Some(&"ether"), Some(m)) = (it.next(), it.next()) else {
                        return ifconfig_usage();
                    };
                    match MacAddr::parse(m) {
                        Ok(m) => hw = Some(m),
                        Err(e) => {
                            return CommandOutput::err(
                                alloc::format!("{m}: invalid ether address: {e}"),
                                1,
                            );
                        }
                    }
                }
                "arp" | "-arp" | "multicast" | "-multicast" | "promisc" | "-promisc"
                | "running" => {}
                other => {
                    if addr.is_some() {
                        return ifconfig_usage();
                    }
                    match parse_addr_prefix(other) {
                        Some(a) => addr = Some(a),
                        None => {
                            return CommandOutput::err(alloc::format!("{other}: Unknown host"), 1);
                        }
                    }
                }
            }
        }
        let Some(index) = index else {
            let what = if hw.is_some() {
                "SIOCSIFHWADDR: No such device".to_string()
            } else if addr.is_some() {
                "SIOCSIFADDR: No such device".to_string()
            } else {
                alloc::format!("{name}: ERROR while getting interface flags: No such device")
            };
            return CommandOutput::err(what, 255);
        };
        if let Some(m) = hw {
            match self.set_mac(index, m) {
                Ok(()) => {}
                Err(GuestError::MulticastMac(..) | GuestError::ZeroMac(..)) => {
                    return CommandOutput::err(
                        alloc::format!(
                            "SIOCSIFHWADDR: Cannot assign requested address \
                             ({m}: the first byte of a MAC address must be even and the \
                             address not all zeros)"
                        ),
                        255,
                    );
                }
                Err(e) => return CommandOutput::err(alloc::format!("SIOCSIFHWADDR: {e}"), 255),
            }
        }
        // As net-tools does, a refused address is reported and the rest still done.
        let mut refused = None;
        if let Some((a, len)) = addr {
            match self.set_address(index, a, len) {
                Ok(()) if updown.is_none() && !a.is_unspecified() => updown = Some(true),
                Ok(()) => {}
                Err(e) => refused = Some(alloc::format!("SIOCSIFADDR: {e}")),
            }
        }
        if let Some(len) = netmask {
            let _ = self.set_prefix_len(index, len);
        }
        if let Some(b) = broadcast {
            let _ = self.set_broadcast(index, b);
        }
        if let Some(up) = updown {
            let _ = self.set_up(index, up);
        }
        match refused {
            Some(why) => CommandOutput::err(why, 1),
            None => CommandOutput::ok(String::new()),
        }
    }
}

fn ifconfig_usage() -> CommandOutput {
    CommandOutput::err(
        "Usage:\n  ifconfig [-a] [-v] [-s] <interface> [[<AF>] <address>]\n  \
         [netmask <address>]  [broadcast <address>]  [hw ether <address>]  [up|down]",
        1,
    )
}

/// One interface as old net-tools `ifconfig` prints it, blank line included.
pub fn format_ifconfig(info: &InterfaceInfo) -> String {
    let mut s = String::new();
    let ether = info.medium == LinkMedium::Ethernet;
    if ether {
        let _ = writeln!(
            s,
            "{:<9.9} Link encap:Ethernet  HWaddr {}",
            info.name, info.mac
        );
    } else {
        let _ = writeln!(s, "{:<9.9} Link encap:Serial Line IP", info.name);
    }
    if let Some(a) = info.addr {
        match (ether, info.broadcast) {
            (true, Some(b)) => {
                let _ = writeln!(
                    s,
                    "          inet addr:{a}  Bcast:{b}  Mask:{}",
                    info.netmask
                );
            }
            _ => {
                let _ = writeln!(s, "          inet addr:{a}  Mask:{}", info.netmask);
            }
        }
    }
    let mut flags: Vec<&str> = Vec::new();
    if info.up {
        flags.push("UP");
    }
    flags.push(if ether { "BROADCAST" } else { "POINTOPOINT" });
    if info.up {
        flags.push("RUNNING");
    }
    flags.push(if ether { "MULTICAST" } else { "NOARP" });
    let c = &info.counters;
    let _ = writeln!(
        s,
        "          {}  MTU:{}  Metric:1",
        flags.join(" "),
        info.mtu
    );
    let _ = writeln!(
        s,
        "          RX packets:{} errors:{} dropped:{} overruns:0 frame:0",
        c.rx_packets, c.rx_errors, c.rx_dropped
    );
    let _ = writeln!(
        s,
        "          TX packets:{} errors:{} dropped:{} overruns:0 carrier:0",
        c.tx_packets, c.tx_errors, c.tx_dropped
    );
    let _ = writeln!(s, "          collisions:0 txqueuelen:1000");
    let _ = writeln!(
        s,
        "          RX bytes:{} ({})  TX bytes:{} ({})",
        c.rx_bytes,
        scaled(c.rx_bytes),
        c.tx_bytes,
        scaled(c.tx_bytes)
    );
    s.push('\n');
    s
}
