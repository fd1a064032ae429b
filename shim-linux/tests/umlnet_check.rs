//! `umlnet check` as a user runs it: the built binary on the UML networking page's example lines and on
//! the mistakes people make, checking exit codes and that messages name the field.

use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_umlnet"))
        .arg("check")
        .arg("--no-host-checks")
        .args(args)
        .output()
        .expect("run umlnet")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `umlnet check <arg>`, expects exit 0 and returns stdout.
fn good(arg: &str) -> String {
    let o = check(&[arg]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{arg}: stdout {} stderr {}",
        stdout(&o),
        stderr(&o)
    );
    assert!(stderr(&o).is_empty(), "{arg}: {}", stderr(&o));
    stdout(&o)
}

/// Runs `umlnet check <arg>`, expects exit 2 and returns stderr.
fn bad(arg: &str) -> String {
    let o = check(&[arg]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{arg} was accepted: {}",
        stdout(&o)
    );
    stderr(&o)
}

#[test]
fn seed_examples_are_accepted_with_their_defaults() {
    let out = good("eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254");
    assert!(
        out.starts_with("eth0=ethertap,tap0,fe:fd:00:00:00:01,192.168.0.254\n"),
        "{out}"
    );
    assert!(out.contains("mac: fe:fd:00:00:00:01 (given)"), "{out}");
    assert!(out.contains("tap0 gets address 192.168.0.254"), "{out}");

    let out = good("eth0=mcast");
    assert!(
        out.contains("mcast group 239.192.168.1 port 1102 ttl 1"),
        "{out}"
    );
    assert!(out.contains("fe:fd:<ip>"), "{out}");

    let out = good("eth0=tuntap,,,192.168.0.254");
    assert!(out.contains("dynamic mode"), "{out}");
    assert!(out.contains("192.168.0.254"), "{out}");

    let out = good("eth0=daemon");
    assert!(out.contains("socket type unix"), "{out}");
    assert!(
        out.contains("/var/run/uml-utilities/uml_switch.ctl"),
        "{out}"
    );
    assert!(out.contains("/tmp/uml.ctl"), "{out}");

    let out = good("eth0=slip,192.168.0.251");
    assert!(
        out.contains("slip") && out.contains("192.168.0.251"),
        "{out}"
    );
}

#[test]
fn resolved_modes_and_derived_mac() {
    let out = good("eth0=tuntap,tap7");
    assert!(
        out.contains("fixed mode") && out.contains("no helper runs"),
        "{out}"
    );
    let o = check(&[
        "--guest-ip",
        "eth0=192.168.0.250",
        "eth0=tuntap,,,192.168.0.254",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("fe:fd:c0:a8:00:fa"), "{}", stdout(&o));
    let out = good("eth1=mcast,,239.1.2.3,1234,2");
    assert!(
        out.contains("mcast group 239.1.2.3 port 1234 ttl 2"),
        "{out}"
    );
    let out = good("eth0=slirp,,/usr/bin/slirp,-P_1");
    assert!(out.contains("'/usr/bin/slirp' '-P 1'"), "{out}");
}

#[test]
fn a_whole_command_line_with_warnings() {
    let o = check(&[
        "mem=128M",
        "root=/dev/ubda",
        "eth18=mcast,102:00:00:00:00:12",
        "eth22=mcast,,,0",
        "eth0x1=daemon,00:11:22:33:44:55,inet,/tmp/s,/tmp/d",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("kernel keeps only its low byte and uses 02:00:00:00:00:12"),
        "{out}"
    );
    assert!(out.contains("reuses the mac of eth18"), "{out}");
    assert!(out.contains("port 0 is accepted here"), "{out}");
    assert!(out.contains("eth1=daemon"), "{out}");
    assert!(out.contains("reads it with base 0"), "{out}");
    assert!(
        out.contains("Assigning a globally valid ethernet address"),
        "{out}"
    );
    assert!(out.contains("EFAULT"), "{out}");
    assert!(out.contains("Ignoring data socket"), "{out}");
}

#[test]
fn an_unknown_transport_is_a_warning_because_the_kernel_ignores_it_silently() {
    let o = check(&["eth5=bogus", "eth0=mcast"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "eth5=bogus\n  warning: eth5: transport: expected one of ethertap, tuntap, mcast"
        ) && out.contains("the kernel ignores this argument silently"),
        "{out}"
    );
    assert!(
        out.contains("mcast group 239.192.168.1 port 1102 ttl 1"),
        "{out}"
    );
}

#[test]
fn bad_inputs_exit_2_and_name_device_field_expected_and_found() {
    let cases: &[(&str, &str)] = &[
        (
            "eth0=mcast,,,abc",
            "eth0: mcast port: expected a number 0-65535, found 'abc'",
        ),
        (
            "eth0=mcast,,,1102,x",
            "eth0: mcast ttl: expected a number 0-255, found 'x'",
        ),
        (
            "eth0=mcast,,,70000",
            "eth0: mcast port: expected a number 0-65535, found '70000'",
        ),
        (
            "ethx=mcast",
            "eth: device number: expected a device number after 'eth', found 'x'",
        ),
        (
            "eth0mcast",
            "eth0: device number: expected '=' right after the device number, found 'mcast'",
        ),
        (
            "eth2=mcast,,,,,extra",
            "eth2: mcast extra fields: expected at most 4 fields",
        ),
        (
            "eth4=tuntap,,,,extra",
            "eth4: tuntap extra fields: expected at most 3 fields after the transport name, found 'extra'",
        ),
        (
            "eth3=ethertap",
            "eth3: ethertap device: expected the host tap device name",
        ),
        (
            "eth0=mcast,02:00:00:00:00,239.1.1.1",
            "eth0: mcast mac: expected 6 octets",
        ),
        (
            "eth0=tuntap,,02-00-00-00-00-01",
            "eth0: tuntap mac: expected an Ethernet address",
        ),
        (
            "eth0=mcast,ff:ff:ff:ff:ff:ff",
            "eth0: mcast mac: expected a unicast address",
        ),
        (
            "eth0=mcast,0:0:0:0:0:0",
            "eth0: mcast mac: expected a unicast address",
        ),
        (
            "eth7=slip,10.1.1.1,junk",
            "eth7: slip gate: expected an IPv4 address like 192.168.0.254, found '10.1.1.1,junk'",
        ),
        (
            "eth0=tuntap,,,192.168.0",
            "eth0: tuntap gate: expected an IPv4 address",
        ),
        (
            "eth0=tuntap,averyveryverylongname",
            "eth0: tuntap device: expected an interface name of at most 15 characters",
        ),
        (
            "eth0=tuntap,a/b",
            "eth0: tuntap device: expected an interface name without",
        ),
        ("vec0:ifname=tap0", "vec0: option: expected a transport="),
    ];
    for (arg, expected) in cases {
        let err = bad(arg);
        assert!(
            err.contains(expected),
            "{arg}: got {err:?}, expected {expected:?}"
        );
    }
    let mac = bad("eth0=mcast,ff:ff:ff:ff:ff:ff");
    assert!(mac.contains("odd") && mac.contains("broadcast"), "{mac}");
    let long = format!("eth0=daemon,,unix,/{}", "a".repeat(120));
    assert!(
        bad(&long)
            .contains("eth0: daemon control socket: expected a socket path of at most 107 bytes")
    );
}

#[test]
fn duplicates_are_refused_and_good_devices_still_reported() {
    let o = check(&["eth0=mcast", "eth1=daemon", "eth0=tuntap,,,10.0.0.1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("eth0: device number: expected each device number once, found '0'"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("eth0=mcast") && stdout(&o).contains("eth1=daemon"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn nothing_to_check_and_help() {
    let o = check(&["mem=64M"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no network arguments"),
        "{}",
        stderr(&o)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_umlnet"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    assert!(
        help.contains("Examples:") && help.contains("umlnet check eth0="),
        "{help}"
    );
}

#[test]
fn host_checks_look_at_the_daemon_socket() {
    let dir = std::env::temp_dir().join(format!("umlnet-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("ctl");
    let _ = std::fs::remove_file(&sock);
    let arg = format!("eth0=daemon,,unix,{}", sock.display());
    let run = || {
        let o = Command::new(env!("CARGO_BIN_EXE_umlnet"))
            .args(["check", &arg])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        stdout(&o)
    };
    assert!(run().contains("does not exist here"), "{}", run());
    let _listener = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    assert!(!run().contains("warning"), "{}", run());
    let _ = std::fs::remove_dir_all(&dir);
}
