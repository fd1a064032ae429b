//! The world's hosts: applying host actions and plans (logged to the transcript),
//! LAN cards, and the routes the helper reads from a host.

use super::{HostId, World};
use crate::host::{HostError, IfKind};
use crate::net::{SegmentId, SimLink};
use core::net::Ipv4Addr;
use std::format;
use std::vec::Vec;
use umlnet_core::host::{self as plan, HostAction, LanRoute, Plan};

impl World {
    /// Applies one host action, logging the command it stands for.
    pub fn host_apply(&mut self, h: HostId, action: &HostAction) -> Result<(), HostError> {
        let r = self.hosts[h.0].apply(action);
        self.flush_host_logs();
        r
    }

    /// Applies a plan action by action, stopping at the first failure.
    pub fn host_plan(&mut self, h: HostId, plan: &Plan) -> Result<(), HostError> {
        plan.iter().try_for_each(|a| self.host_apply(h, a))
    }

    /// Gives host `h` a LAN card `dev` on segment `seg` with address `addr/prefix`, up.
    pub fn host_nic(
        &mut self,
        h: HostId,
        dev: &str,
        seg: SegmentId,
        addr: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), HostError> {
        let name = format!("{}:{dev}", self.hosts[h.0].name());
        self.hosts[h.0].add_interface(dev, IfKind::Ethernet, None)?;
        let port = self.net.attach(seg, &name);
        self.hosts[h.0].attach(dev, SimLink::Port(port))?;
        let ifname = plan::if_name(dev).map_err(|_| HostError::NoSuchDevice(dev.into()))?;
        self.host_apply(
            h,
            &HostAction::AddAddress(plan::IfAddr {
                dev: ifname.clone(),
                addr,
                prefix: plan::Prefix::new(prefix).unwrap_or(plan::Prefix::HOST),
                peer: None,
            }),
        )?;
        self.host_apply(h, &HostAction::LinkUp { dev: ifname })
    }

    /// The host's routes as the helper reads them from `/proc/net/route`.
    pub fn lan_routes(&self, h: HostId) -> Vec<LanRoute> {
        self.hosts[h.0]
            .routes()
            .iter()
            .filter_map(|r| {
                let mask = plan::Prefix::new(r.prefix)?.netmask();
                LanRoute::new(&r.dev, r.dst, mask).ok()
            })
            .collect()
    }

    pub(super) fn flush_host_logs(&mut self) {
        for h in &mut self.hosts {
            for l in h.take_log() {
                self.net.log(l);
            }
        }
    }
}
