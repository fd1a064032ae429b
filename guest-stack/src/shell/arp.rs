//! `arp`: the guest's neighbour cache in net-tools' table or BSD (`-a`) form.

use super::CommandOutput;
use crate::guest::{Guest, iface_name};
use alloc::string::{String, ToString};
use core::fmt::Write;
use umlnet_core::link::Link;

impl<L: Link> Guest<L> {
    pub(super) fn arp(&mut self, args: &[&str]) -> CommandOutput {
        let bsd = args.contains(&"-a");
        if args.iter().any(|a| !a.starts_with('-')) {
            return CommandOutput::err(
                "Usage:\n  arp [-vn]  [<HW>] [-i <if>] [-a] [<hostname>]             <-Display ARP cache",
                255,
            );
        }
        let mut text = String::new();
        let neigh = self.neighbours();
        if !bsd && !neigh.is_empty() {
            text.push_str(
                "Address                  HWtype  HWaddress           Flags Mask            Iface\n",
            );
        }
        for n in neigh {
            let dev = iface_name(n.iface);
            let addr = n.addr.to_string();
            let _ = match (bsd, n.mac) {
                (false, Some(mac)) => writeln!(
                    text,
                    "{:<23.23}  {:<8.8}{:<20.20}{:<6.6}{:<15.15} {}",
                    addr,
                    "ether",
                    mac.to_string(),
                    "C",
                    "",
                    dev
                ),
                (false, None) => writeln!(
                    text,
                    "{:<23.23}  {:<8.8}{:<20.20}{:<6.6}{:<15.15} {}",
                    addr, "", "(incomplete)", "", "", dev
                ),
                (true, Some(mac)) => writeln!(text, "? ({addr}) at {mac} [ether] on {dev}"),
                (true, None) => writeln!(text, "? ({addr}) at <incomplete> on {dev}"),
            };
        }
        CommandOutput::ok(text)
    }
}
