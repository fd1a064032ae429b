//! The fuzz entry point of the policy parser.

use core::fmt::Write as _;

use super::decide::{Ask, Who, decide, device_limit};
use super::grammar::{Line, Op, Rule, parse_line};

/// Fuzz entry point: parses every line of `data` (when it is UTF-8); each rule must
/// print as text that parses back to the same rule, and deciding over the rules parsed
/// so far must not panic.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let mut rules: heapless::Vec<Rule<'_>, 32> = heapless::Vec::new();
    for line in text.lines() {
        match parse_line(line) {
            Ok(Line::Rule(r)) => {
                let mut canon = heapless::String::<1200>::new();
                write!(canon, "{r}").expect("a rule prints in under 1200 bytes");
                assert_eq!(parse_line(&canon), Ok(Line::Rule(r)), "{canon}");
                let _ = rules.push(r);
            }
            Ok(Line::Include(p)) => assert!(p.starts_with('/')),
            Ok(Line::Empty) | Err(_) => {}
        }
    }
    let who = Who {
        user: "alice",
        groups: &["uml-net", "users"],
    };
    for ask in [
        Ask::Op(Op::Tuntap),
        Ask::Gate(core::net::Ipv4Addr::new(10, 0, 0, 1)),
        Ask::Guest(core::net::Ipv4Addr::new(10, 0, 7, 2)),
        Ask::Publish("eth0"),
        Ask::Forward,
    ] {
        let _ = decide(&rules, &who, &ask);
    }
    let _ = device_limit(&rules, &who);
}
