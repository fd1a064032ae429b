//! Tests of the policy grammar and decisions.

use core::net::Ipv4Addr;

use proptest::prelude::*;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use super::*;

fn rules(text: &str) -> Vec<Rule<'_>> {
    text.lines()
        .filter_map(|l| match parse_line(l).unwrap() {
            Line::Rule(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn every_statement_parses() {
    assert_eq!(parse_line("  # only a comment"), Ok(Line::Empty));
    assert_eq!(parse_line(""), Ok(Line::Empty));
    assert_eq!(
        parse_line("include /etc/umlnet/uml_net.d/a.conf # more"),
        Ok(Line::Include("/etc/umlnet/uml_net.d/a.conf"))
    );
    assert_eq!(
        parse_line("allow user alice op tuntap"),
        Ok(Line::Rule(Rule {
            effect: Effect::Allow,
            subject: Subject::User("alice"),
            grant: Grant::Op(Op::Tuntap),
        }))
    );
    assert_eq!(
        parse_line("deny\tgroup uml-net  gate 10.0.0.0/8"),
        Ok(Line::Rule(Rule {
            effect: Effect::Deny,
            subject: Subject::Group("uml-net"),
            grant: Grant::Gate(Net::new(Ipv4Addr::new(10, 0, 0, 0), 8).unwrap()),
        }))
    );
    assert_eq!(
        parse_line("allow everyone guest 10.0.7.2"),
        Ok(Line::Rule(Rule {
            effect: Effect::Allow,
            subject: Subject::Everyone,
            grant: Grant::Guest(Net::new(Ipv4Addr::new(10, 0, 7, 2), 32).unwrap()),
        }))
    );
    for (line, grant) in [
        ("allow everyone publish eth0", Grant::Publish("eth0")),
        ("allow everyone forward", Grant::Forward),
        ("allow everyone devices 4", Grant::Devices(4)),
    ] {
        match parse_line(line) {
            Ok(Line::Rule(r)) => assert_eq!(r.grant, grant, "{line}"),
            other => panic!("{line}: {other:?}"),
        }
    }
}

#[test]
fn bad_lines_say_what_is_wrong() {
    for (line, err) in [
        ("permit user alice op tuntap", PolicyError::UnknownStatement),
        ("include etc/relative", PolicyError::BadInclude),
        ("include", PolicyError::BadInclude),
        ("include /a /b", PolicyError::BadInclude),
        ("allow alice op tuntap", PolicyError::BadSubject),
        ("allow user", PolicyError::BadSubject),
        ("allow user -rf op all", PolicyError::BadName),
        ("allow user al;ce op all", PolicyError::BadName),
        ("allow user alice", PolicyError::UnknownGrant),
        ("allow user alice root", PolicyError::UnknownGrant),
        ("allow user alice op reboot", PolicyError::BadOp),
        ("allow user alice gate 10.0.0.256", PolicyError::BadPrefix),
        ("allow user alice gate 10.0.0.0/33", PolicyError::BadPrefix),
        (
            "allow user alice guest 10.0.7.1/24",
            PolicyError::HostBitsSet,
        ),
        ("allow user alice publish *", PolicyError::BadDevice),
        ("allow user alice publish a/b", PolicyError::BadDevice),
        ("allow user alice devices 1025", PolicyError::BadCount),
        ("allow user alice devices -1", PolicyError::BadCount),
        ("deny user alice devices 1", PolicyError::DenyDevices),
        ("allow user alice forward now", PolicyError::TrailingWords),
    ] {
        assert_eq!(parse_line(line), Err(err), "{line}");
    }
    assert_eq!(
        parse_line(&"#".repeat(LINE_MAX + 1)),
        Err(PolicyError::TooLong)
    );
}

#[test]
fn default_deny_and_deny_wins() {
    let r = rules(
        "allow group uml-net op all\n\
         allow user alice gate 10.0.0.1\n\
         allow group uml-net devices 2\n\
         allow user alice devices 5\n\
         deny user bob op tuntap\n\
         allow everyone publish lan0\n",
    );
    let alice = Who {
        user: "alice",
        groups: &["uml-net"],
    };
    let bob = Who {
        user: "bob",
        groups: &["uml-net"],
    };
    let eve = Who {
        user: "eve",
        groups: &["users"],
    };
    assert_eq!(
        decide(&r, &alice, &Ask::Op(Op::Tuntap)),
        Decision::Allowed(0)
    );
    assert_eq!(decide(&r, &bob, &Ask::Op(Op::Tuntap)), Decision::Denied(4));
    assert_eq!(decide(&r, &bob, &Ask::Op(Op::Slip)), Decision::Allowed(0));
    assert_eq!(decide(&r, &eve, &Ask::Op(Op::Tuntap)), Decision::NoRule);
    let gate = Ask::Gate(Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(decide(&r, &alice, &gate), Decision::Allowed(1));
    assert_eq!(decide(&r, &bob, &gate), Decision::NoRule);
    assert_eq!(
        decide(&r, &alice, &Ask::Gate(Ipv4Addr::new(10, 0, 0, 2))),
        Decision::NoRule
    );
    assert_eq!(
        decide(&r, &eve, &Ask::Publish("lan0")),
        Decision::Allowed(5)
    );
    assert_eq!(decide(&r, &eve, &Ask::Publish("lan1")), Decision::NoRule);
    assert_eq!(decide(&r, &alice, &Ask::Forward), Decision::NoRule);
    assert_eq!(device_limit(&r, &alice), 5);
    assert_eq!(device_limit(&r, &bob), 2);
    assert_eq!(device_limit(&r, &eve), 0);
    assert_eq!(
        format!("{}", Ask::Guest(Ipv4Addr::new(10, 0, 7, 2))),
        "guest 10.0.7.2"
    );
}

fn arb_name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_.-]{0,31}"
}

fn arb_net() -> impl Strategy<Value = Net> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, len)| {
        let m = if len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(len))
        };
        Net::new(Ipv4Addr::from_bits(a & m), len).unwrap()
    })
}

proptest! {
    /// Every rule prints as text that parses back to the same rule.
    #[test]
    fn rules_round_trip(
        deny in any::<bool>(),
        kind in 0u8..3,
        name in arb_name(),
        g in 0u8..6,
        op in 0u8..5,
        net in arb_net(),
        dev in "[a-z][a-z0-9]{0,14}",
        n in 0u16..=DEVICES_MAX,
    ) {
        let subject = match kind {
            0 => Subject::User(&name),
            1 => Subject::Group(&name),
            _ => Subject::Everyone,
        };
        let ops = [Op::Tuntap, Op::Ethertap, Op::Slip, Op::Address, Op::All];
        let grant = match g {
            0 => Grant::Op(ops[usize::from(op)]),
            1 => Grant::Gate(net),
            2 => Grant::Guest(net),
            3 => Grant::Publish(&dev),
            4 => Grant::Forward,
            _ => Grant::Devices(n),
        };
        let effect = if deny && g != 5 { Effect::Deny } else { Effect::Allow };
        let rule = Rule { effect, subject, grant };
        let text = rule.to_string();
        prop_assert_eq!(parse_line(&text), Ok(Line::Rule(rule)));
    }

    /// A prefix holds exactly the addresses that share its first `len` bits.
    #[test]
    fn nets_contain_their_addresses(net in arb_net(), ip in any::<u32>()) {
        let ip = Ipv4Addr::from_bits(ip);
        let shift = 32 - u32::from(net.prefix_len());
        let same = net.prefix_len() == 0 || ip.to_bits() >> shift == net.addr().to_bits() >> shift;
        prop_assert_eq!(net.contains(ip), same);
    }

    /// A matching deny always wins, wherever it is.
    #[test]
    fn a_matching_deny_always_wins(at in 0usize..5, ip in any::<u32>()) {
        let mut r = rules("allow everyone guest 0.0.0.0/0\nallow user alice op all\nallow group g guest 10.0.0.0/8\nallow everyone forward\n");
        let deny = Rule { effect: Effect::Deny, subject: Subject::Group("g"), grant: Grant::Guest(Net::new(Ipv4Addr::UNSPECIFIED, 0).unwrap()) };
        r.insert(at.min(r.len()), deny);
        let who = Who { user: "alice", groups: &["g"] };
        let d = decide(&r, &who, &Ask::Guest(Ipv4Addr::from_bits(ip)));
        prop_assert!(matches!(d, Decision::Denied(_)));
    }

    /// Arbitrary text never panics the parser or the decisions.
    #[test]
    fn arbitrary_text_is_handled(s in "[ -~\t\n]{0,300}") {
        fuzz_one(s.as_bytes());
    }

    /// Rule-shaped text with random words never panics either.
    #[test]
    fn rule_shaped_text_is_handled(
        words in proptest::collection::vec(
            prop_oneof![
                Just("allow"), Just("deny"), Just("user"), Just("group"), Just("everyone"),
                Just("op"), Just("gate"), Just("guest"), Just("publish"), Just("forward"),
                Just("devices"), Just("all"), Just("10.0.0.0/8"), Just("eth0"), Just("4"),
                Just("include"), Just("/etc/x"), Just("#"),
            ],
            0..8,
        ),
    ) {
        fuzz_one(words.join(" ").as_bytes());
    }
}
