//! Applying a host plan ([`umlnet_core::host::Plan`]) to the real host: each
//! [`HostAction`] becomes an rtnetlink request, a `/dev/net/tun` ioctl or a
//! `/proc/sys/net` write — never a shell or an external command.
//!
//! An [`Applier`] applies actions one at a time and keeps a transcript in the style of
//! the original `uml_net` output block: each action echoed as `* <command>` (the
//! equivalent `ip`/`sysctl` line), followed by a line naming the error when it failed.
//! [`Applier::apply`] stops at the first failure and undoes what it had applied of
//! that plan, so a failed plan leaves nothing behind (except the changes that have no
//! inverse, see [`HostAction::undo`]). In dry-run mode nothing is touched and the
//! transcript is the plan.
//!
//! With [`Tolerance::Idempotent`], adding something that is already there (`EEXIST`)
//! and removing something that is already gone count as done: the kernel replays
//! address notifications, and the helper must not fail on a replay (`uml_net` asks for
//! it only when its ledger says the thing is the caller's; otherwise
//! [`Tolerance::Strict`]).
//!
//! A device [`Applier::pin`]ned to an interface index is acted on by that index (proxy
//! ARP too, through netlink), never looked up by name again.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use umlnet_core::host::{HostAction, Plan, Route};

use crate::sys::netlink::Rtnl;
use crate::sys::sysctl;
use crate::sys::tun::{Tap, TunMode};

/// The TUN/TAP clone device.
pub const TUN_CLONE: &str = "/dev/net/tun";

/// Whether repeats count as failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// Every error is a failure.
    Strict,
    /// "Already exists" on an add and "not found" on a delete count as done.
    Idempotent,
}

/// Why an action failed: the action and the system error.
#[derive(Debug)]
pub struct ApplyError {
    /// The action, printed as its command line.
    pub action: String,
    /// The system error.
    pub error: io::Error,
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}' failed: {}", self.action, self.error)
    }
}

impl std::error::Error for ApplyError {}

/// Applies host actions and records a transcript.
#[derive(Debug)]
pub struct Applier {
    rtnl: Option<Rtnl>,
    dry_run: bool,
    tolerance: Tolerance,
    transcript: String,
    held: Vec<Tap>,
    pins: Vec<(String, u32)>,
}

fn is_already(add: bool, e: &io::Error) -> bool {
    match e.raw_os_error() {
        Some(libc::EEXIST) => add,
        Some(libc::ESRCH | libc::ENOENT | libc::EADDRNOTAVAIL | libc::ENXIO) => !add,
        _ => false,
    }
}

fn is_add(a: &HostAction) -> bool {
    matches!(
        a,
        HostAction::CreateTap(_)
            | HostAction::AddAddress(_)
            | HostAction::AddRoute(_)
            | HostAction::AddProxyNeigh { .. }
    )
}

impl Applier {
    /// An applier that changes the host (`dry_run == false`) or only records.
    pub fn new(dry_run: bool, tolerance: Tolerance) -> Applier {
        Applier {
            rtnl: None,
            dry_run,
            tolerance,
            transcript: String::new(),
            held: Vec::new(),
            pins: Vec::new(),
        }
    }

    /// From now on, actions naming `dev` act on the interface with index `index`,
    /// whatever carries the name `dev` by then: the device is looked up once and then
    /// pinned, so that a rename in between cannot redirect an action to another
    /// device. An action on a pinned device that has gone fails with `ENODEV`.
    pub fn pin(&mut self, dev: &str, index: u32) {
        self.pins.retain(|(d, _)| d != dev);
        self.pins.push((dev.to_string(), index));
    }

    /// The pinned index of `dev`, or its index now.
    pub fn index(&self, dev: &str) -> io::Result<u32> {
        match self.pins.iter().find(|(d, _)| d == dev) {
            Some((_, i)) => Ok(*i),
            None => Rtnl::index(dev),
        }
    }

    /// Changes whether repeats count as failures.
    pub fn set_tolerance(&mut self, tolerance: Tolerance) {
        self.tolerance = tolerance;
    }

    /// Whether nothing is applied.
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The transcript so far (`* <command>` lines and error lines).
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// Adds a line of text to the transcript.
    pub fn note(&mut self, line: &str) {
        self.transcript.push_str(line);
        if !line.ends_with('\n') {
            self.transcript.push('\n');
        }
    }

    /// Takes the transcript, leaving it empty.
    pub fn take_transcript(&mut self) -> String {
        std::mem::take(&mut self.transcript)
    }

    /// Non-persistent TAP devices this applier created and keeps open (they vanish
    /// when it is dropped).
    pub fn held(&self) -> &[Tap] {
        &self.held
    }

    fn rtnl(&mut self) -> io::Result<&mut Rtnl> {
        if self.rtnl.is_none() {
            self.rtnl = Some(Rtnl::open()?);
        }
        Ok(self.rtnl.as_mut().expect("just opened"))
    }

    /// Applies one action (or, in dry-run mode, records it).
    pub fn apply_one(&mut self, action: &HostAction) -> Result<(), ApplyError> {
        let line = action.to_string();
        let _ = writeln!(self.transcript, "* {line}");
        if self.dry_run {
            return Ok(());
        }
        match self.execute(action) {
            Ok(()) => Ok(()),
            Err(e) if self.tolerance == Tolerance::Idempotent && is_already(is_add(action), &e) => {
                let _ = writeln!(self.transcript, "({e}: already done)");
                Ok(())
            }
            Err(error) => {
                let err = ApplyError {
                    action: line,
                    error,
                };
                let _ = writeln!(self.transcript, "{err}");
                Err(err)
            }
        }
    }

    /// Applies a plan in order. On a failure, the actions of this plan already applied
    /// are undone (last first) and the error is returned.
    pub fn apply(&mut self, plan: &Plan) -> Result<(), ApplyError> {
        let mut done = Plan::new();
        for action in plan {
            if let Err(e) = self.apply_one(action) {
                self.rollback(&done);
                return Err(e);
            }
            // At most as many as the plan itself holds.
            let _ = done.push(action.clone());
        }
        Ok(())
    }

    /// Undoes the applied `plan` (its [`Plan::undo`]), best effort: every inverse is
    /// tried, failures are only recorded.
    pub fn rollback(&mut self, plan: &Plan) {
        let saved = self.tolerance;
        self.tolerance = Tolerance::Idempotent;
        for a in &plan.undo() {
            let _ = self.apply_one(a);
        }
        self.tolerance = saved;
    }

    fn execute(&mut self, action: &HostAction) -> io::Result<()> {
        match action {
            HostAction::CreateTap(t) => {
                let name = t.name.as_deref().unwrap_or("");
                let tap = Tap::open_device(Path::new(TUN_CLONE), name, TunMode::Tap, true)?;
                tap.set_owner(t.owner)?;
                if let Some(g) = t.group {
                    tap.set_group(g)?;
                }
                if t.persistent {
                    tap.set_persist(true)?;
                } else {
                    self.held.push(tap);
                }
                Ok(())
            }
            HostAction::DeleteTap(t) => {
                let name = t.name.as_deref().unwrap_or("");
                if let Some(i) = self.held.iter().position(|h| h.name() == name) {
                    self.held.remove(i);
                    return Ok(());
                }
                Rtnl::index(name)?;
                let tap = Tap::open_device(Path::new(TUN_CLONE), name, TunMode::Tap, true)?;
                tap.set_persist(false)
            }
            HostAction::AddAddress(a) | HostAction::DelAddress(a) => {
                let add = matches!(action, HostAction::AddAddress(_));
                let idx = self.index(&a.dev)?;
                self.rtnl()?
                    .address(add, idx, a.addr, a.prefix.bits(), a.peer)
            }
            HostAction::FlushAddresses { dev } => {
                let idx = self.index(dev)?;
                let nl = self.rtnl()?;
                for a in nl.addresses(Some(idx))? {
                    nl.address(false, idx, a.local, a.prefix, a.peer)?;
                }
                Ok(())
            }
            HostAction::SetMtu { dev, mtu } => {
                let idx = self.index(dev)?;
                self.rtnl()?.set_mtu(idx, u32::from(*mtu))
            }
            HostAction::LinkUp { dev } | HostAction::LinkDown { dev } => {
                let idx = self.index(dev)?;
                let up = matches!(action, HostAction::LinkUp { .. });
                self.rtnl()?.set_link_up(idx, up)
            }
            HostAction::AddRoute(r) | HostAction::DelRoute(r) => {
                let add = matches!(action, HostAction::AddRoute(_));
                let (dst, len, dev, via) = match r {
                    Route::Host { dst, dev, via } => (*dst, 32, Some(dev), *via),
                    Route::Net { net, prefix, dev } => {
                        let m = prefix.netmask().to_bits();
                        (
                            std::net::Ipv4Addr::from_bits(net.to_bits() & m),
                            prefix.bits(),
                            Some(dev),
                            None,
                        )
                    }
                    Route::Default { via } => {
                        (std::net::Ipv4Addr::UNSPECIFIED, 0, None, Some(*via))
                    }
                };
                let idx = dev.map(|d| self.index(d)).transpose()?;
                self.rtnl()?.route(add, dst, len, idx, via)
            }
            HostAction::ProxyArp { dev, on } => {
                let idx = self.index(dev)?;
                self.rtnl()?.set_proxy_arp(idx, *on)
            }
            HostAction::AddProxyNeigh { ip, dev } | HostAction::DelProxyNeigh { ip, dev } => {
                let add = matches!(action, HostAction::AddProxyNeigh { .. });
                let idx = self.index(dev)?;
                self.rtnl()?.proxy_neigh(add, *ip, idx)
            }
            HostAction::IpForward => sysctl::set_ip_forward(),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::net::Ipv4Addr;
    use umlnet_core::host;

    #[test]
    fn dry_run_records_the_plan_and_touches_nothing() {
        let plan = host::tuntap_up("umlnetdry0", Ipv4Addr::new(10, 9, 0, 1)).unwrap();
        let mut a = Applier::new(true, Tolerance::Strict);
        a.apply(&plan).unwrap();
        assert_eq!(
            a.transcript(),
            "* ip addr add 10.9.0.1/32 dev umlnetdry0\n\
             * ip link set dev umlnetdry0 up\n\
             * sysctl -w net.ipv4.ip_forward=1\n"
        );
        assert!(Rtnl::index("umlnetdry0").is_err());
    }

    #[test]
    fn a_failing_action_names_itself_and_its_error() {
        let plan = host::tuntap_up("umlnetnone0", Ipv4Addr::new(10, 9, 0, 1)).unwrap();
        let mut a = Applier::new(false, Tolerance::Strict);
        let e = a.apply(&plan).unwrap_err();
        assert_eq!(e.action, "ip addr add 10.9.0.1/32 dev umlnetnone0");
        assert_eq!(e.error.raw_os_error(), Some(libc::ENODEV));
        assert!(a.transcript().ends_with(&format!("{e}\n")));
    }
}
