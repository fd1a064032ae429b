//! Guest addresses (`add`/`del` from argv or ethertap messages) and new devices, with
//! the policy and the ledger: what may be added, what is recorded before it is made,
//! and that `del` removes only the caller's own entries.

use std::net::Ipv4Addr;

use umlnet_core::host::{self, GuestAddr, HostAction, Plan};
use umlnet_core::policy::Ask;

use crate::hostapply::Tolerance;
use crate::sys::netlink::Rtnl;
use crate::sys::sysctl;
use crate::sys::tun::Tap;

use super::checks::check_new_guest;
use super::ledger::{Entry, Ledger, What};
use super::policy::POLICY_PATH;
use super::tuntap::lan_routes;
use super::{Helper, Refusal};

impl Helper {
    fn ledger(&mut self) -> Result<&mut Ledger, Refusal> {
        self.ledger
            .as_mut()
            .ok_or_else(|| Refusal("uml_net : no ledger open".into()))
    }

    fn entry(&self, index: u32, dev: &str, what: What) -> Entry {
        Entry {
            uid: self.caller.uid,
            netns: self.ledger.as_ref().map_or(0, Ledger::netns),
            index,
            dev: dev.to_string(),
            what,
        }
    }

    /// Creates a device with `create` (which must make a new one: `IFF_TUN_EXCL`) if
    /// the caller holds fewer than the policy allows, and records it in the ledger.
    /// Returns the device and its index. Nothing is done in a dry run.
    pub(super) fn new_device(
        &mut self,
        create: impl FnOnce() -> std::io::Result<Tap>,
        what: &str,
    ) -> Result<(Tap, u32), Refusal> {
        let uid = self.caller.uid;
        let ledger = self.ledger()?;
        let _lock = ledger.lock()?;
        let held = ledger.devices_of(uid);
        self.keeper.need_device(held)?;
        let tap =
            create().map_err(|e| Refusal(format!("uml_net : creating {what} failed: {e}")))?;
        tap.set_owner(uid)
            .map_err(|e| Refusal(format!("uml_net : TUNSETOWNER failed: {e}")))?;
        let name = tap.name().to_string();
        let index = Rtnl::index(&name)
            .map_err(|e| Refusal(format!("uml_net : the new device {name} has no index: {e}")))?;
        let entry = self.entry(index, &name, What::Device);
        self.ledger()?.record(entry).map_err(|e| {
            Refusal(format!(
                "uml_net : recording {name} in the ledger failed: {e}"
            ))
        })?;
        self.applier.pin(&name, index);
        Ok((tap, index))
    }

    /// Leaves out turning on `ip_forward` when the policy does not grant it (and it is
    /// off), with a note.
    pub(super) fn forward_as_granted(&mut self, plan: Plan) -> Plan {
        let needs = plan.iter().any(|a| *a == HostAction::IpForward);
        if !needs || self.keeper.grants(&Ask::Forward) || sysctl::ip_forward().unwrap_or(false) {
            return plan;
        }
        self.applier.note(&format!(
            "net.ipv4.ip_forward left off: {POLICY_PATH} does not grant 'forward' to this user"
        ));
        let mut out = Plan::new();
        for a in plan.iter().filter(|a| **a != HostAction::IpForward) {
            // At most as many as the plan held.
            let _ = out.push(a.clone());
        }
        out
    }

    /// Adds guest address `guest` on `dev` (pinned as `index`): policy (`guest`,
    /// `publish`), free address, not held by anyone on another device, recorded before
    /// it is made. A replay of the caller's own address is tolerated; anything already
    /// there that is not the caller's is a failure (no `EEXIST`-as-success).
    pub(super) fn guest_add(
        &mut self,
        dev: &str,
        index: u32,
        guest: GuestAddr,
    ) -> Result<(), Refusal> {
        let ip = guest.ip;
        if guest.netmask == Some(Ipv4Addr::UNSPECIFIED) {
            refuse!(
                "uml_net : refusing guest address {ip} with netmask 0.0.0.0: it would be published on every LAN device"
            );
        }
        let restricted = !self.keeper.unrestricted();
        if restricted {
            self.keeper.need(&Ask::Guest(ip))?;
        }
        check_new_guest(dev, ip)?;
        let uid = self.caller.uid;
        let ledger = self.ledger()?;
        let _lock = ledger.lock()?;
        if let Some(e) = ledger.holder_elsewhere(index, ip) {
            refuse!(
                "uml_net : refusing guest address {ip}: uid {} already has it on {}",
                e.uid,
                e.dev
            );
        }
        let recorded = ledger.for_guest(index, ip);
        if restricted && recorded.iter().any(|e| e.uid != uid) {
            refuse!("uml_net : refusing guest address {ip} on {dev}: it is another user's");
        }
        let replay = recorded
            .iter()
            .any(|e| e.uid == uid && e.what == What::Route(ip));
        let plan = host::address_add(dev, guest, &lan_routes())?;
        let mut entries = vec![self.entry(index, dev, What::Route(ip))];
        for a in &plan {
            if let HostAction::AddProxyNeigh { dev: lan, .. } = a {
                if restricted {
                    self.keeper.need(&Ask::Publish(lan.as_str()))?;
                }
                let lan_index = Rtnl::index(lan)
                    .map_err(|e| Refusal(format!("uml_net : no LAN device '{lan}': {e}")))?;
                self.applier.pin(lan, lan_index);
                entries.push(self.entry(
                    index,
                    dev,
                    What::Publish {
                        ip,
                        lan_index,
                        lan: lan.to_string(),
                    },
                ));
            }
        }
        let new: Vec<Entry> = entries
            .into_iter()
            .filter(|e| !recorded.contains(e))
            .collect();
        for e in &new {
            self.ledger()?.record(e.clone())?;
        }
        self.applier.set_tolerance(if replay {
            Tolerance::Idempotent
        } else {
            Tolerance::Strict
        });
        let applied = self.applier.apply(&plan);
        self.applier.set_tolerance(Tolerance::Idempotent);
        if let Err(e) = applied {
            for x in &new {
                let _ = self.ledger()?.forget(x);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Removes guest address `guest` from `dev` (pinned as `index`): a caller the policy
    /// restricts removes only the route and published entries the ledger records as
    /// theirs; root removes what is there.
    pub(super) fn guest_del(
        &mut self,
        dev: &str,
        index: u32,
        guest: GuestAddr,
    ) -> Result<(), Refusal> {
        let ip = guest.ip;
        let restricted = !self.keeper.unrestricted();
        let uid = self.caller.uid;
        let ledger = self.ledger()?;
        let _lock = ledger.lock()?;
        let recorded: Vec<Entry> = ledger
            .for_guest(index, ip)
            .into_iter()
            .filter(|e| !restricted || e.uid == uid)
            .collect();
        if restricted && !recorded.iter().any(|e| e.what == What::Route(ip)) {
            refuse!(
                "uml_net : refusing to remove {ip} from {dev}: the ledger holds no route of uid {uid} for it (a user removes only what they added)"
            );
        }
        let planned = host::address_del(dev, guest, &lan_routes())?;
        let published: Vec<(String, u32)> = recorded
            .iter()
            .filter_map(|e| match &e.what {
                What::Publish { lan, lan_index, .. } => Some((lan.clone(), *lan_index)),
                _ => None,
            })
            .collect();
        let mut plan = Plan::new();
        for (lan, lan_index) in &published {
            self.applier.pin(lan, *lan_index);
            plan.push_unique(HostAction::DelProxyNeigh {
                ip,
                dev: host::if_name(lan)?,
            })?;
        }
        for a in &planned {
            let keep = match a {
                HostAction::DelProxyNeigh { dev: lan, .. } => {
                    !restricted || published.iter().any(|(l, _)| l == lan.as_str())
                }
                _ => true,
            };
            if keep {
                plan.push_unique(a.clone())?;
            }
        }
        self.applier.apply(&plan)?;
        for e in &recorded {
            self.ledger()?.forget(e)?;
        }
        Ok(())
    }
}
