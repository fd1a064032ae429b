//! The `uml_net` helper: what the UML kernel runs (setuid root, found through `PATH`)
//! to set up the host side of its `tuntap`, `ethertap` and `slip` devices, and again
//! when a guest address appears or goes (docs/protocols.md §2).
//!
//! * `4 tuntap up [<gate>]`: create a TAP (owned by the caller), give the host side
//!   `<gate>/32`, turn on forwarding, and send the kernel the interface name, the
//!   output text and the TAP fd in one datagram. Without a gate the TAP is passed back
//!   unconfigured (the original helper fails there).
//! * `4 add|del <dev> <ip> <netmask>`: host route to the guest, proxy ARP on `<dev>`,
//!   published ARP entries on the LAN devices whose routes hold the guest.
//! * `4 ethertap <dev> <data-fd> [<gate>]`: hosts lost the ethertap driver, so it is
//!   emulated on a modern TAP device of that name: frames are relayed between the TAP
//!   and the kernel's data socket (with the 2-byte ethertap prefix), the status byte
//!   and output block go on fd 1, and address messages on fd 1 are honoured until the
//!   guest closes the device.
//! * `4 slip up <gate>` / `4 slip down <name>`: with the host's `N_SLIP` line
//!   discipline where there is one; otherwise the pty on stdin is bridged in user space
//!   ([`crate::slipbridge`]) to a TUN device, whose name the output text reports. The
//!   6.1 kernel then asks the pty itself for the interface name (`SIOCGIFNAME`), which
//!   a pty without `N_SLIP` cannot answer, so with that kernel the device still fails
//!   to come up (`get_ifname failed, err = 25`), the kernel closes the pty and the
//!   bridge goes away. The kernel's `slirp` transport with `umlnet slip-bridge` gives a
//!   real UML a working SLIP link instead.
//!
//! Host changes are [`umlnet_core::host`] plans applied by [`crate::hostapply`]
//! (netlink, ioctls, `/proc/sys`) — no shell, no external program. `--dry-run` as the
//! first argument (or `UML_NET_DRY_RUN=1`) prints the plan and changes nothing.
//!
//! Safe as setuid root: the argv is parsed strictly ([`HelperCall::parse`]); the
//! environment is not read (except the dry-run switch, which can only make the helper
//! do less); only fixed paths are opened; inherited descriptors are checked to be the
//! kind of socket the protocol says before anything is created. A caller whose real
//! uid is not 0 may do only what the administrator's policy grants ([`policy`]:
//! operations, gate addresses, guest prefixes, LAN devices for published entries,
//! `ip_forward`, a number of devices), and default is nothing. What the helper makes is
//! recorded first in a root-owned [`ledger`]: `del` removes only the caller's own
//! entries, and entries whose device vanished are cleaned up. Devices are touched only
//! if the helper made them (always a new device: `IFF_TUN_EXCL`) or they are TUN/TAP
//! devices of the caller (root may name any), and are looked up once and then acted on
//! by interface index. Guest and gate addresses may not be special, the host's own, or
//! another machine's (a route's gateway, a neighbour, a host route elsewhere). The
//! process becomes the caller with only `CAP_NET_ADMIN` as soon as the devices are
//! open, and drops that too where it is no longer needed; a drop that fails is a
//! refusal. Every refusal is one line on the reply channel and a non-zero exit, before
//! anything on the host was changed.
//!
//! This module holds the entry point ([`main`]); `reply` writes the answers, `checks`
//! refuses what is not allowed, `guests` adds and removes guest addresses with the
//! ledger, and `tuntap`, `ethertap` and `slip` do the commands.

/// Returns `Err(Refusal(format!(...)))` from the enclosing function (defined before the
/// modules that use it).
macro_rules! refuse {
    ($($t:tt)*) => { return Err(Refusal(format!($($t)*))) };
}

mod checks;
mod ethertap;
mod guests;
pub mod ledger;
pub mod policy;
mod reply;
mod slip;
mod tuntap;

use std::ffi::OsString;

use umlnet_core::helper::{Command, HelperCall};
use umlnet_core::policy::{Ask, Op};

use crate::hostapply::{Applier, Tolerance};
use crate::sys::privilege::{self, Caller};

use self::ledger::{LEDGER_PATH, Ledger};
use self::policy::Gatekeeper;

use self::reply::{channel_for, refuse_on};

#[cfg(test)]
mod test;

/// The environment variable that turns on dry-run mode (`UML_NET_DRY_RUN=1`).
pub const DRY_RUN_ENV: &str = "UML_NET_DRY_RUN";
/// The name pattern of the TUN device of a user-space SLIP bridge.
pub const SLIP_TUN_PATTERN: &str = "umlsl%d";

/// A refusal or failure: one line for the reply channel.
#[derive(Debug)]
pub struct Refusal(pub String);

impl<E: std::fmt::Display> From<E> for Refusal {
    fn from(e: E) -> Refusal {
        Refusal(e.to_string())
    }
}

/// Runs the helper on `args` (without `argv[0]`); returns the exit status.
pub fn main(args: &[OsString]) -> i32 {
    let caller = Caller::current();
    if args.first().is_some_and(|a| a == "--check-policy") {
        return policy::check_command(&args[1..], &caller);
    }
    let mut args: Vec<OsString> = args.to_vec();
    let mut dry_run = std::env::var_os(DRY_RUN_ENV).is_some_and(|v| v == "1");
    if args.first().is_some_and(|a| a == "--dry-run") {
        dry_run = true;
        args.remove(0);
    }
    let strs: Option<Vec<&str>> = args.iter().map(|a| a.to_str()).collect();
    let channel = channel_for(&args);
    let Some(strs) = strs else {
        return refuse_on(
            channel,
            "uml_net : an argument is not valid UTF-8; refusing",
        );
    };
    let call = match HelperCall::parse(&strs) {
        Ok(c) => c,
        Err(e) => return refuse_on(channel, &format!("uml_net : {e}")),
    };
    // A dry run changes nothing, so it needs no privilege at all.
    if dry_run && let Err(e) = privilege::drop_all(&caller) {
        return refuse_on(
            channel,
            &format!("uml_net : could not drop privileges: {e}"),
        );
    }
    let (keeper, ledger) = if dry_run {
        (Gatekeeper::unrestricted_for(&caller), None)
    } else {
        let keeper = match Gatekeeper::for_caller(&caller) {
            Ok(k) => k,
            Err(Refusal(line)) => return refuse_on(channel, &line),
        };
        if let Some(op) = op_of(&call.command)
            && let Err(Refusal(line)) = keeper.need(&Ask::Op(op))
        {
            return refuse_on(channel, &line);
        }
        match Ledger::open() {
            Ok(l) => (keeper, Some(l)),
            Err(e) => {
                return refuse_on(
                    channel,
                    &format!("uml_net : the ledger {LEDGER_PATH} cannot be used: {e}"),
                );
            }
        }
    };
    let mut helper = Helper {
        caller,
        applier: Applier::new(dry_run, Tolerance::Idempotent),
        keeper,
        ledger,
    };
    let result = match &call.command {
        Command::TuntapUp { gate } => helper.tuntap_up(*gate),
        Command::Address {
            op,
            dev,
            ip,
            netmask,
        } => helper.address(*op, dev, *ip, *netmask),
        Command::TuntapChange {
            op,
            dev,
            ip,
            netmask: Some(netmask),
        } => helper.address(*op, dev, *ip, *netmask),
        Command::Ethertap { dev, data_fd, gate } => {
            helper.ethertap(dev, *data_fd, *gate, call.version)
        }
        Command::SlipUp { gate } => helper.slip_up(*gate),
        Command::SlipDown { name } => helper.slip_down(name),
        other => Err(Refusal(format!(
            "uml_net : the version {} form of '{}' is not supported by this helper; the 6.1 kernel sends version 4",
            call.version,
            other.transport()
        ))),
    };
    match result {
        Ok(code) => code,
        Err(Refusal(line)) => {
            let mut text = helper.applier.take_transcript();
            // A failed host change is already in the transcript (followed by its
            // rollback); say it once.
            if !text.contains(&format!("{line}\n")) {
                text.push_str(&line);
            }
            refuse_on(channel, &text)
        }
    }
}

/// The policy operation a command needs.
fn op_of(command: &Command) -> Option<Op> {
    Some(match command {
        Command::TuntapUp { .. } => Op::Tuntap,
        Command::Address { .. } | Command::TuntapChange { .. } => Op::Address,
        Command::Ethertap { .. } => Op::Ethertap,
        Command::SlipUp { .. } | Command::SlipDown { .. } => Op::Slip,
        _ => return None,
    })
}

struct Helper {
    caller: Caller,
    applier: Applier,
    keeper: Gatekeeper,
    /// `None` in a dry run.
    ledger: Option<Ledger>,
}
