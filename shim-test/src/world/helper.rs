//! The helper (`uml_net`) in the world: the host setup it makes when a device comes
//! up with a gate address, the watch through which it follows the guest's addresses,
//! and the by-hand setup of the UML networking page.

use super::BootError;
use super::{GuestId, Hook, HostId, World};
use core::net::Ipv4Addr;
use std::format;
use std::string::ToString;
use std::vec::Vec;
use umlnet_core::cmdline;
use umlnet_core::host::{self as plan, GuestAddr, HostContext, Plan, Setup};

impl World {
    /// What `uml_net` does when the kernel brings the device up with a gate address,
    /// and the watch through which it hears of the guest's addresses.
    pub(super) fn helper_setup(
        &mut self,
        g: GuestId,
        index: u32,
        h: HostId,
        spec: &cmdline::DeviceSpec,
        dev: &str,
    ) -> Result<(), BootError> {
        let routes = self.lan_routes(h);
        let ctx = HostContext::new(Some(dev), &[], &routes);
        let p = plan::plan_for(spec, &ctx).map_err(BootError::Plan)?;
        self.net
            .log(format!("uml_net: {} actions for {dev}", p.len()));
        self.host_plan(h, &p).map_err(BootError::Host)?;
        self.guests[g.0].hooks.push(Hook {
            iface: index,
            host: h.0,
            dev: dev.into(),
            known: None,
        });
        Ok(())
    }

    /// The by-hand host setup of the UML networking page for a device (`tunctl`, addresses, route,
    /// proxy ARP, published entry, forwarding), for guest addresses `guests`.
    pub fn manual_setup(
        &mut self,
        h: HostId,
        arg: &str,
        dev: Option<&str>,
        gate: Option<Ipv4Addr>,
        create_tap: bool,
        guests: &[Ipv4Addr],
    ) -> Result<Plan, BootError> {
        let spec = cmdline::parse(arg)
            .map_err(|e| BootError::Parse(e.display(arg).to_string()))?
            .spec;
        let routes = self.lan_routes(h);
        let guests: Vec<GuestAddr> = guests
            .iter()
            .map(|&ip| GuestAddr { ip, netmask: None })
            .collect();
        let ctx = HostContext {
            setup: Setup::Manual { gate, create_tap },
            ..HostContext::new(dev, &guests, &routes)
        };
        let p = plan::plan_for(&spec, &ctx).map_err(BootError::Plan)?;
        self.host_plan(h, &p).map_err(BootError::Host)?;
        Ok(p)
    }

    /// Tells the helpers of guest `g` about address changes (the kernel's `uml_net
    /// add`/`del` on every address the guest sets on a helper-managed device).
    pub(super) fn sync_hooks(&mut self, g: GuestId) {
        let mut hooks = core::mem::take(&mut self.guests[g.0].hooks);
        for hook in &mut hooks {
            let now = self.guests[g.0].guest.interface(hook.iface).and_then(|i| {
                let ip = i.addr?;
                i.up.then_some(GuestAddr {
                    ip,
                    netmask: Some(i.netmask),
                })
            });
            if now == hook.known {
                continue;
            }
            let h = HostId(hook.host);
            let routes = self.lan_routes(h);
            if let Some(old) = hook.known
                && let Ok(p) = plan::address_del(&hook.dev, old, &routes)
            {
                self.net.log(format!("uml_net del {} {}", hook.dev, old.ip));
                let _ = self.host_plan(h, &p);
            }
            if let Some(new) = now
                && let Ok(p) = plan::address_add(&hook.dev, new, &routes)
            {
                self.net.log(format!("uml_net add {} {}", hook.dev, new.ip));
                let _ = self.host_plan(h, &p);
            }
            hook.known = now;
        }
        self.guests[g.0].hooks = hooks;
    }
}
