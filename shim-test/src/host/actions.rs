//! [`HostKernel::apply`]: the core's typed host actions (taps, addresses, links,
//! routes, proxy ARP, published entries, forwarding) carried out on the host's tables.

use super::{HostAddr, HostError, HostKernel, HostRoute, IfKind, mask_addr};
use core::net::Ipv4Addr;
use std::format;
use std::string::ToString;
use umlnet_core::host::{HostAction, Route};

impl HostKernel {
    /// Applies one host action, as the Linux shim does with netlink and sysctls.
    pub fn apply(&mut self, action: &HostAction) -> Result<(), HostError> {
        let r = self.apply_inner(action);
        self.log.push(match &r {
            Ok(()) => format!("{}# {action}", self.name),
            Err(e) => format!("{}# {action}\n    {e}", self.name),
        });
        r
    }

    pub(super) fn apply_inner(&mut self, action: &HostAction) -> Result<(), HostError> {
        match action {
            HostAction::CreateTap(t) => {
                let name = match &t.name {
                    Some(n) => n.to_string(),
                    None => self.free_name("tap"),
                };
                if let Some(i) = self.interface(&name) {
                    // `tunctl` on an existing tap makes it persistent again; in use it
                    // is busy.
                    if i.kind == IfKind::Tap && i.link.is_none() {
                        let i = self.index(&name)?;
                        self.ifaces[i].persistent = true;
                        return Ok(());
                    }
                    return Err(HostError::Busy(name));
                }
                self.add_interface(&name, IfKind::Tap, None)?;
                let i = self.index(&name)?;
                self.ifaces[i].persistent = true;
            }
            HostAction::DeleteTap(t) => {
                let name = t.name.as_deref().unwrap_or("");
                let i = self.index(name)?;
                if self.ifaces[i].link.is_some() {
                    return Err(HostError::Busy(name.into()));
                }
                self.remove_interface(i);
            }
            HostAction::AddAddress(a) => {
                let i = self.index(&a.dev)?;
                let new = HostAddr {
                    addr: a.addr,
                    prefix: a.prefix.bits(),
                    peer: a.peer,
                };
                let iface = &mut self.ifaces[i];
                if iface.addrs.iter().any(|x| x.addr == new.addr) {
                    return Err(HostError::Exists);
                }
                iface.addrs.push(new);
            }
            HostAction::DelAddress(a) => {
                let i = self.index(&a.dev)?;
                let iface = &mut self.ifaces[i];
                let before = iface.addrs.len();
                iface.addrs.retain(|x| x.addr != a.addr);
                if iface.addrs.len() == before {
                    return Err(HostError::NotFound);
                }
            }
            HostAction::FlushAddresses { dev } => {
                let i = self.index(dev)?;
                self.ifaces[i].addrs.clear();
            }
            HostAction::SetMtu { dev, mtu } => {
                let i = self.index(dev)?;
                self.ifaces[i].mtu = *mtu;
            }
            HostAction::LinkUp { dev } => {
                let i = self.index(dev)?;
                self.ifaces[i].up = true;
            }
            HostAction::LinkDown { dev } => {
                let i = self.index(dev)?;
                self.ifaces[i].up = false;
                let name = self.ifaces[i].name.clone();
                // Linux flushes the static routes and neighbours of a device going down.
                self.routes.retain(|r| r.dev != name);
                self.neigh.retain(|(d, _), _| *d != name);
            }
            HostAction::AddRoute(r) => {
                let route = self.route_of(r)?;
                if self
                    .routes
                    .iter()
                    .any(|x| x.dst == route.dst && x.prefix == route.prefix)
                {
                    return Err(HostError::Exists);
                }
                self.routes.push(route);
            }
            HostAction::DelRoute(r) => {
                let (dst, prefix) = match r {
                    Route::Host { dst, .. } => (*dst, 32),
                    Route::Net { net, prefix, .. } => {
                        (mask_addr(*net, prefix.bits()), prefix.bits())
                    }
                    Route::Default { .. } => (Ipv4Addr::UNSPECIFIED, 0),
                };
                let before = self.routes.len();
                self.routes
                    .retain(|x| !(x.dst == dst && x.prefix == prefix));
                if self.routes.len() == before {
                    return Err(HostError::NotFound);
                }
            }
            HostAction::ProxyArp { dev, on } => {
                let i = self.index(dev)?;
                self.ifaces[i].proxy_arp = *on;
            }
            HostAction::AddProxyNeigh { ip, dev } => {
                self.index(dev)?;
                if !self.published.insert((*ip, dev.to_string())) {
                    return Err(HostError::Exists);
                }
            }
            HostAction::DelProxyNeigh { ip, dev } => {
                self.index(dev)?;
                if !self.published.remove(&(*ip, dev.to_string())) {
                    return Err(HostError::NotFound);
                }
            }
            HostAction::IpForward => self.ip_forward = true,
        }
        Ok(())
    }

    pub(super) fn route_of(&self, r: &Route) -> Result<HostRoute, HostError> {
        Ok(match r {
            Route::Host { dst, dev, via } => {
                self.index(dev)?;
                HostRoute {
                    dst: *dst,
                    prefix: 32,
                    via: *via,
                    dev: dev.to_string(),
                    connected: false,
                }
            }
            Route::Net { net, prefix, dev } => {
                self.index(dev)?;
                HostRoute {
                    dst: mask_addr(*net, prefix.bits()),
                    prefix: prefix.bits(),
                    via: None,
                    dev: dev.to_string(),
                    connected: false,
                }
            }
            Route::Default { via } => {
                let (dev, hop) = self
                    .lookup(*via)
                    .ok_or(HostError::GatewayUnreachable(*via))?;
                if hop != *via {
                    return Err(HostError::GatewayUnreachable(*via));
                }
                HostRoute {
                    dst: Ipv4Addr::UNSPECIFIED,
                    prefix: 0,
                    via: Some(*via),
                    dev: self.ifaces[dev].name.clone(),
                    connected: false,
                }
            }
        })
    }
}
