//! The administrator's policy for the setuid `uml_net` helper: who may have it create
//! which devices and change which host state.
//!
//! In the spirit of QEMU's `qemu-bridge-helper` (`bridge.conf`): one statement per
//! line, default deny, a deny that matches wins over any allow, and `include` pulls
//! in another file. Richer than `bridge.conf` because `uml_net` changes L3 state on
//! the host, so rules grant single things:
//!
//! ```text
//! # comment (from '#' to the end of the line)
//! include /etc/umlnet/uml_net.d/lab.conf
//! allow user alice op tuntap          # operations: tuntap ethertap slip address all
//! allow group uml-net gate 10.0.0.1   # gate (host-side) addresses, a.b.c.d[/len]
//! allow group uml-net guest 10.0.7.0/24   # guest addresses for `add`
//! allow user alice publish eth0       # LAN devices that may carry published ARP
//! allow everyone forward              # may turn on net.ipv4.ip_forward
//! allow group uml-net devices 4       # devices a user may hold at once
//! deny user mallory op all
//! ```
//!
//! Subjects are `user NAME`, `group NAME` or `everyone`. Prefixes must have their host
//! bits clear (`10.0.7.0/24`, not `10.0.7.1/24`). `devices N` is allow-only (the
//! largest matching N counts; none means 0); to take devices away, deny the operations.
//! `publish` names one device: there is no wildcard.
//!
//! This module only parses lines ([`parse_line`]) and decides ([`decide`],
//! [`device_limit`]) over rules it is given; reading files, following `include`,
//! checking file ownership and modes, and resolving the caller's names is the shim's
//! job (no allocation here).
//!
//! ```
//! use core::net::Ipv4Addr;
//! use umlnet_core::policy::{Ask, Decision, Line, Who, decide, parse_line};
//!
//! let text = "allow group uml-net guest 10.0.7.0/24\ndeny user bob guest 10.0.7.128/25\n";
//! let rules: Vec<_> = text
//!     .lines()
//!     .filter_map(|l| match parse_line(l).unwrap() {
//!         Line::Rule(r) => Some(r),
//!         _ => None,
//!     })
//!     .collect();
//! let alice = Who { user: "alice", groups: &["uml-net"] };
//! let bob = Who { user: "bob", groups: &["uml-net"] };
//! let ask = Ask::Guest(Ipv4Addr::new(10, 0, 7, 200));
//! assert_eq!(decide(&rules, &alice, &ask), Decision::Allowed(0));
//! assert_eq!(decide(&rules, &bob, &ask), Decision::Denied(1));
//! assert_eq!(decide(&rules, &bob, &Ask::Forward), Decision::NoRule);
//! ```

mod decide;
mod fuzz;
mod grammar;
#[cfg(test)]
mod test;

pub use decide::{Ask, Decision, Who, decide, device_limit};
pub use fuzz::fuzz_one;
pub use grammar::{
    DEVICES_MAX, Effect, Grant, LINE_MAX, Line, NAME_MAX, Net, Op, PolicyError, Rule, Subject,
    parse_line,
};
