//! The steps of `umlnet up` ([`Step`]) from a [`HostConfig`], and the host's routes
//! they are planned against.

use std::fmt;
use std::net::Ipv4Addr;

use umlnet_core::cmdline::{DeviceSpec, Transport, Tuntap};
use umlnet_core::host::{GuestAddr, HostAction, HostContext, LanRoute, Setup, if_name, plan_for};

use super::error::PlanStepError;
use super::{HostConfig, SwitchConfig};

/// One thing `umlnet up` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A host change.
    Host(HostAction),
    /// Start a switch.
    Switch(SwitchConfig),
}

impl fmt::Display for Step {
    /// The equivalent command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Host(a) => write!(f, "{a}"),
            Step::Switch(s) => {
                if let Some(r) = s.run_as {
                    write!(
                        f,
                        "setpriv --reuid={} --regid={} --groups={} ",
                        r.uid, r.gid, r.gid
                    )?;
                }
                write!(f, "{}", s.program_name())?;
                for a in s.args() {
                    write!(f, " {a}")?;
                }
                f.write_str(" &")
            }
        }
    }
}

impl HostConfig {
    /// The steps of `umlnet up`, in order: per TAP the device (owner, group), its
    /// address, up, forwarding, then per guest a host route, proxy ARP and published ARP
    /// entries on the LAN devices; then the switches. `routes` are the host's routes,
    /// used to find the LAN devices of a TAP without `publish_on`.
    pub fn plan(&self, routes: &[LanRoute]) -> Result<Vec<Step>, PlanStepError> {
        let mut steps = Vec::new();
        for t in &self.taps {
            let err = |error| PlanStepError {
                tap: t.name.clone(),
                error,
            };
            let dev = if_name(&t.name).map_err(err)?;
            let plan = match t.address {
                Some(gate) => {
                    let own: Vec<LanRoute>;
                    let routes = match &t.publish_on {
                        Some(devs) => {
                            own = devs
                                .iter()
                                .flat_map(|d| {
                                    t.guests
                                        .iter()
                                        .map(move |g| LanRoute::new(d, *g, Ipv4Addr::BROADCAST))
                                })
                                .collect::<Result<_, _>>()
                                .map_err(err)?;
                            &own[..]
                        }
                        None => routes,
                    };
                    let guests: Vec<GuestAddr> = t
                        .guests
                        .iter()
                        .map(|ip| GuestAddr {
                            ip: *ip,
                            netmask: None,
                        })
                        .collect();
                    let spec = DeviceSpec {
                        index: 0,
                        transport: Transport::Tuntap(Tuntap {
                            dev: Some(dev.clone()),
                            mac: None,
                            gate: Some(gate),
                        }),
                    };
                    let ctx = HostContext {
                        uid: t.uid,
                        gid: t.gid,
                        setup: Setup::Manual {
                            gate: None,
                            create_tap: true,
                        },
                        ..HostContext::new(None, &guests, routes)
                    };
                    plan_for(&spec, &ctx).map_err(err)?
                }
                None => {
                    let mut p = umlnet_core::host::Plan::new();
                    p.push(HostAction::CreateTap(umlnet_core::host::Tap {
                        name: Some(dev.clone()),
                        owner: t.uid,
                        group: t.gid,
                        persistent: true,
                    }))
                    .map_err(err)?;
                    p.push(HostAction::LinkUp { dev }).map_err(err)?;
                    p
                }
            };
            for a in &plan {
                let keep = match a {
                    HostAction::IpForward => {
                        self.ip_forward && !steps.contains(&Step::Host(HostAction::IpForward))
                    }
                    _ => true,
                };
                if keep {
                    steps.push(Step::Host(a.clone()));
                }
            }
        }
        steps.extend(self.switches.iter().cloned().map(Step::Switch));
        Ok(steps)
    }
}

/// The host's routes as the planner wants them (from `/proc/net/route`).
pub fn host_routes() -> std::io::Result<Vec<LanRoute>> {
    Ok(crate::sys::sysctl::routes()?
        .into_iter()
        .filter_map(|r| LanRoute::new(&r.iface, r.dest, r.mask).ok())
        .collect())
}
