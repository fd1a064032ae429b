//! The grammar without the `vec<n>:` part (`--no-default-features`, as the bare-metal
//! firmware builds it): `vec<n>:` is refused by name, `eth<n>=` is unchanged.

extern crate std;
use std::string::ToString;

use super::{CmdlineChecker, ErrorKind, parse};

#[test]
fn vec_argument_refused_without_the_vector_grammar() {
    for arg in [
        "vec0:transport=tap,ifname=tap0",
        "vec3:",
        "vec1:transport=raw",
    ] {
        let e = parse(arg).unwrap_err();
        assert_eq!(e.kind, ErrorKind::VectorNotBuilt, "{arg}");
        assert!(e.vector);
        let text = e.display(arg).to_string();
        assert!(
            text.starts_with("vec") && text.contains("vec<n>:"),
            "{text}"
        );
    }
    // The number and the ':' are still read first.
    assert_eq!(parse("vec0=x").unwrap_err().kind, ErrorKind::MissingColon);
}

#[test]
fn eth_arguments_unchanged_without_the_vector_grammar() {
    let mut checker = CmdlineChecker::new();
    let p = checker
        .check("eth0=daemon,fe:fd:0a:00:00:05")
        .unwrap()
        .unwrap();
    assert_eq!(p.spec.index, 0);
    let e = checker.check("eth0=daemon").unwrap().unwrap_err();
    assert_eq!(e.kind, ErrorKind::DeviceAlreadyConfigured);
    let e = parse("eth1=daemon,ff:fd:00:00:00:01").unwrap_err();
    assert!(
        e.display("eth1=daemon,ff:fd:00:00:00:01")
            .to_string()
            .contains("unicast")
    );
}
