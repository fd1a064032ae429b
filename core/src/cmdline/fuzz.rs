//! The fuzz entry point: every accepted argument prints to a canonical form that parses
//! back to the same spec.

use core::fmt;

use super::{CmdlineChecker, DeviceSpec, Warning, parse};

/// Fuzz entry point: parses arbitrary bytes as an argument (and as a command line of
/// NUL-separated arguments); every accepted spec must print to a canonical string that
/// parses back to the same spec with no warnings about the MAC, and printing that again
/// gives the same string.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let mut checker = CmdlineChecker::new();
    for arg in text.split('\0') {
        let _ = checker.check(arg);
        match parse(arg) {
            Ok(p) => assert_round_trip(&p.spec),
            Err(e) => {
                assert!(e.found.start <= e.found.end && e.found.end <= arg.len());
                let mut buf = heapless::String::<1024>::new();
                let _ = fmt::write(&mut buf, format_args!("{}", e.display(arg)));
            }
        }
    }
}

pub(super) fn assert_round_trip(spec: &DeviceSpec) {
    let mut printed = heapless::String::<1024>::new();
    fmt::write(&mut printed, format_args!("{spec}")).expect("a spec prints in 1024 bytes");
    let again = parse(&printed).expect("the canonical form parses");
    assert_eq!(
        &again.spec, spec,
        "parse(print(spec)) differs for {printed}"
    );
    assert!(
        !again
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::MacReadDifferently { .. }))
    );
    let mut printed2 = heapless::String::<1024>::new();
    fmt::write(&mut printed2, format_args!("{}", again.spec)).expect("prints again");
    assert_eq!(printed, printed2);
}
