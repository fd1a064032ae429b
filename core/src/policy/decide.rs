//! Deciding a request against a list of rules: default deny, deny wins.

use core::fmt;
use core::net::Ipv4Addr;

use super::grammar::{Effect, Grant, Op, Rule, Subject};

/// The caller as the rules name it: login name and the names of all its groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who<'a> {
    /// The login name of the real uid.
    pub user: &'a str,
    /// The names of the real gid and the supplementary groups.
    pub groups: &'a [&'a str],
}

impl Who<'_> {
    fn is(&self, subject: &Subject<'_>) -> bool {
        match subject {
            Subject::User(n) => *n == self.user,
            Subject::Group(g) => self.groups.contains(g),
            Subject::Everyone => true,
        }
    }
}

/// One thing a request needs the policy to grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask<'a> {
    /// An operation ([`Op::All`] is never asked).
    Op(Op),
    /// A gate (host-side) address.
    Gate(Ipv4Addr),
    /// A guest address to route and publish.
    Guest(Ipv4Addr),
    /// A LAN device to publish a guest's ARP entry on.
    Publish(&'a str),
    /// Turning on `net.ipv4.ip_forward`.
    Forward,
}

/// The rule that would grant the request (`op tuntap`, `gate 10.0.0.1`, …): what the
/// refusal tells the administrator to add.
impl fmt::Display for Ask<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ask::Op(op) => write!(f, "op {}", op.word()),
            Ask::Gate(ip) => write!(f, "gate {ip}"),
            Ask::Guest(ip) => write!(f, "guest {ip}"),
            Ask::Publish(d) => write!(f, "publish {d}"),
            Ask::Forward => f.write_str("forward"),
        }
    }
}

/// The outcome, with the index of the deciding rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The first matching allow rule (and no deny matched).
    Allowed(usize),
    /// The first matching deny rule.
    Denied(usize),
    /// No rule matched: refused.
    NoRule,
}

fn covers(grant: &Grant<'_>, ask: &Ask<'_>) -> bool {
    match (grant, ask) {
        (Grant::Op(g), Ask::Op(a)) => *g == Op::All || g == a,
        (Grant::Gate(n), Ask::Gate(ip)) | (Grant::Guest(n), Ask::Guest(ip)) => n.contains(*ip),
        (Grant::Publish(g), Ask::Publish(d)) => g == d,
        (Grant::Forward, Ask::Forward) => true,
        _ => false,
    }
}

/// Decides `ask` for `who`: denied when any matching deny rule covers it, allowed when
/// an allow rule does, refused otherwise.
pub fn decide(rules: &[Rule<'_>], who: &Who<'_>, ask: &Ask<'_>) -> Decision {
    let mut allowed = None;
    for (i, r) in rules.iter().enumerate() {
        if !who.is(&r.subject) || !covers(&r.grant, ask) {
            continue;
        }
        match r.effect {
            Effect::Deny => return Decision::Denied(i),
            Effect::Allow => {
                allowed.get_or_insert(i);
            }
        }
    }
    allowed.map_or(Decision::NoRule, Decision::Allowed)
}

/// How many devices `who` may hold: the largest `allow … devices N` that matches, 0
/// without one.
pub fn device_limit(rules: &[Rule<'_>], who: &Who<'_>) -> u16 {
    rules
        .iter()
        .filter(|r| r.effect == Effect::Allow && who.is(&r.subject))
        .filter_map(|r| match r.grant {
            Grant::Devices(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}
