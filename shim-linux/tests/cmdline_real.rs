//! Our command-line checker against the real UML kernel (`linux.uml`, Debian 6.1).
//!
//! One guest boots in a network namespace of its own with a set of `eth<n>=` arguments,
//! good and bad (nothing is sent: mcast opens only at ifup, and the daemon devices talk
//! to a real `uml_switch` over unix sockets in a temp dir). The guest lists the devices
//! the kernel created with their MACs; the console holds the kernel's messages. For every
//! argument, what `CmdlineChecker` says must match what the kernel did:
//!
//! * accepted → the kernel created `eth<n>`, with the MAC given (or inherited, where we
//!   warn of the inheritance bug), and for mcast with the group/port/ttl we resolved;
//! * refused with a kind the kernel also refuses → no device, and the kernel's message
//!   of that kind;
//! * refused where we are stricter than the kernel → the kernel created the device but
//!   not as written, and says so (random MAC, truncated port, unsplit slip gate);
//! * accepted with a warning that the device cannot be created (socket type not unix,
//!   a control socket that does not exist, which `umlnet check` reports) → no device.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use umlnet_core::cmdline::{CmdlineChecker, ErrorKind, Parsed, Transport, Warning};
use umlnet_core::mac::{MacAddr, MacError};
use umlnet_testkit::{Daemon, Netns, TempDir, UmlBoot, UmlGuest, bin, real, run_cases, wait_for};

fn main() {
    run_cases(vec![
        real(
            "the_arguments_we_accept_make_the_devices_and_messages_we_predict",
            NEEDS,
            the_arguments_we_accept_make_the_devices_and_messages_we_predict,
        ),
        real(
            "the_arguments_we_refuse_fail_in_the_kernel_as_our_errors_say",
            NEEDS,
            the_arguments_we_refuse_fail_in_the_kernel_as_our_errors_say,
        ),
        real(
            "the_kernel_creates_no_device_that_no_argument_describes",
            NEEDS,
            the_kernel_creates_no_device_that_no_argument_describes,
        ),
    ]);
}

/// What every case needs: one boot of the real kernel.
const NEEDS: &[&str] = &["linux.uml", "uml_switch"];

/// What the one boot showed, next to our verdicts: the cases share it (the guest boots
/// once, the first case to ask waits for it).
struct Boot {
    /// The `eth<n>=`/`vec<n>` arguments, in command-line order.
    args: Vec<String>,
    /// `CmdlineChecker`'s verdict on each argument.
    verdicts: Vec<Result<Parsed, umlnet_core::cmdline::Error>>,
    /// `umlnet check`'s standard output.
    report: String,
    /// `umlnet check`'s standard error.
    cli_errors: String,
    /// The kernel's own messages, without its echo of the command line.
    console: String,
    /// eth<n> → its MAC (`None` for slip, which has no link-layer address).
    devices: BTreeMap<u32, Option<MacAddr>>,
    /// The `vec<n>` devices the kernel created.
    vec_devices: Vec<u32>,
    /// Everything above, for assertion messages.
    ctx: String,
}

impl Boot {
    /// Whether the kernel's console says `needle`.
    fn has(&self, needle: &str) -> bool {
        self.console.contains(needle)
    }
}

/// The shared boot, made by the first case that asks.
fn boot() -> &'static Boot {
    static BOOT: OnceLock<Boot> = OnceLock::new();
    BOOT.get_or_init(boot_once)
}

/// Checks every argument with `CmdlineChecker` and `umlnet check`, then boots one guest
/// with all of them in a namespace of its own, next to a real `uml_switch`, and lists
/// the devices it made. The namespace and files are gone when it returns.
fn boot_once() -> Boot {
    let ns = Netns::new("cmdline");
    let dir = TempDir::new("cmdline");
    let ctl = dir.join("switch.ctl");
    let _switch = Daemon::spawn(
        "uml_switch",
        ns.command("/usr/bin/uml_switch").arg("-unix").arg(&ctl),
        &dir.join("switch.log"),
    );
    wait_for("uml_switch control socket", Duration::from_secs(10), || {
        ctl.exists()
    });
    let ctl = ctl.display().to_string();

    let args: Vec<String> = [
        "eth0=mcast",
        "eth1=mcast,,239.1.2.3,1234,2",
        "eth2=mcast,,,abc",
        "eth3=ethertap",
        "eth4=tuntap,,,,extra",
        "eth5=bogus",
        "eth6=daemon,,,/nonexistent/uml.ctl",
        "eth7=slip,10.1.1.1,junk",
        &format!("eth8=daemon,,,{ctl}"),
        "eth9=tuntap",
        "eth10=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254",
        "eth11=mcast,02:00:00:00:00,239.1.1.1",
        "eth12=mcast,102:00:00:00:00:12",
        "eth13=mcast,,,0",
        "eth14=ucast,,10.0.0.2,1103,1104",
        &format!("eth15=daemon,00:11:22:33:44:55,,{ctl}"),
        &format!("eth16=daemon,,inet,{ctl}"),
        &format!("eth17=daemon,,,{ctl},{ctl}.data"),
        "eth0x12=slip",
        "eth019=slip",
        "eth20=mcast,,,70000",
        "eth21=mcast,,,1102,x",
        "eth22=tuntap,,fe:fd:0:0:0:22,192.168.0.254",
        "eth23=mcast,03:00:00:00:00:01",
        "eth24=slirp,,/bin/true,-x_y",
        "eth25=ucast,,,1102,abc",
        "ethx=mcast",
        "eth26mcast",
        "eth27=pcap,eth0",
        "eth1=slip",
        "vec0:transport=tap,ifname=umlvec0",
        "vec1:ifname=x",
        "vec2=transport=tap",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();

    // Our verdicts.
    let mut checker = CmdlineChecker::new();
    let verdicts: Vec<_> = args
        .iter()
        .map(|a| {
            checker
                .check(a)
                .expect("every argument is a network argument")
        })
        .collect();

    // What `umlnet check` says about the host (the one part that needs it).
    let out = ns.sh_output(&format!(
        "{} check {}",
        bin!("umlnet").display(),
        args.iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "umlnet check refuses some: {report}"
    );
    let cli_errors = String::from_utf8_lossy(&out.stderr).into_owned();

    // What the kernel does (with its informational messages on the console).
    let mut boot_args = args.clone();
    boot_args.push("loglevel=8".into());
    let mut guest = UmlGuest::boot(UmlBoot {
        netns: &ns,
        dir: dir.path(),
        name: "cmdline",
        eth: &boot_args,
        script: "for d in /sys/class/net/eth* /sys/class/net/vec*; do \
                   say \"DEV $(basename $d) $(cat $d/address) $(cat $d/type)\"; done",
        path_prefix: None,
    });
    let said = guest.finish(Duration::from_secs(60));
    // The kernel's own messages, without its echo of the command line.
    let console: String = guest
        .console()
        .lines()
        .filter(|l| !l.contains("Kernel command line"))
        .map(|l| format!("{l}\n"))
        .collect();
    // eth<n> → its MAC (`None` for slip, which has no link-layer address).
    let devices: BTreeMap<u32, Option<MacAddr>> = said
        .iter()
        .filter_map(|l| l.strip_prefix("DEV eth"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let mac = (f.len() == 3).then(|| f[1].parse::<MacAddr>().unwrap());
            (f[0].parse().unwrap(), mac)
        })
        .collect();
    let vec_devices: Vec<u32> = said
        .iter()
        .filter_map(|l| l.strip_prefix("DEV vec"))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    let ctx =
        format!("devices {devices:?}\nconsole:\n{console}\numlnet check:\n{report}{cli_errors}");
    Boot {
        args,
        verdicts,
        report,
        cli_errors,
        console,
        devices,
        vec_devices,
        ctx,
    }
}

/// Device numbers given twice: at boot the kernel keeps whichever transport registers
/// first (slip before mcast), not the first on the command line.
fn duplicated(verdicts: &[Result<Parsed, umlnet_core::cmdline::Error>]) -> Vec<u32> {
    verdicts
        .iter()
        .filter_map(|v| match v {
            Err(e) if e.kind == ErrorKind::DeviceAlreadyConfigured => e.index,
            _ => None,
        })
        .collect()
}

/// Accepted → the kernel created `eth<n>`, with the MAC given (or inherited, where we
/// warn of the inheritance bug), and for mcast with the group/port/ttl we resolved;
/// accepted with a warning that the device cannot be created → no device.
fn the_arguments_we_accept_make_the_devices_and_messages_we_predict() {
    let b = boot();
    let Boot {
        args,
        verdicts,
        report,
        devices,
        vec_devices,
        ctx,
        ..
    } = b;
    let has = |needle: &str| b.has(needle);
    let duplicated = duplicated(verdicts);
    let mut accepted = 0;
    for (arg, verdict) in args.iter().zip(verdicts) {
        let Ok(Parsed { spec, warnings }) = verdict else {
            continue;
        };
        accepted += 1;
        let n = spec.index;
        if let Transport::Vector(_) = spec.transport {
            assert!(vec_devices.contains(&n), "{arg}: no vec{n}\n{ctx}");
            continue;
        }
        let cannot_be_created = warnings.contains(&Warning::SockTypeNotUnix)
            || report.contains(&format!("creates no eth{n}"));
        if cannot_be_created {
            assert!(
                !devices.contains_key(&n),
                "{arg}: the kernel created eth{n}\n{ctx}"
            );
            continue;
        }
        let Some(mac) = devices.get(&n) else {
            panic!("{arg}: we accept it but the kernel created no eth{n}\n{ctx}")
        };
        // What the kernel says it configured is what we resolved.
        match &spec.transport {
            Transport::Mcast(m) => assert!(
                has(&format!(
                    "Configured mcast device: {}:{}-{}",
                    m.group, m.port, m.ttl
                )),
                "{arg}\n{ctx}"
            ),
            Transport::Ucast(u) => assert!(
                has(&format!(
                    "Configured ucast device: :{} -> {}:{}",
                    u.lport,
                    u.remote.unwrap(),
                    u.rport
                )),
                "{arg}\n{ctx}"
            ),
            Transport::Slirp(sl) => {
                for a in sl.args() {
                    assert!(has(&format!(" '{a}'")), "{arg}: slirp argument {a}\n{ctx}");
                }
            }
            _ => {}
        }
        if warnings
            .iter()
            .any(|w| matches!(w, Warning::GloballyAdministeredMac(_)))
        {
            assert!(
                has("Warning: Assigning a globally valid ethernet address"),
                "{arg}\n{ctx}"
            );
        }
        if warnings.contains(&Warning::DataSocketIgnored) {
            assert!(
                has("daemon_setup : Ignoring data socket specification"),
                "{arg}\n{ctx}"
            );
        }
        if duplicated.contains(&n) {
            continue; // which of the two survived is the kernel's choice
        }
        let Some(mac) = mac else {
            // slip and slirp devices have no link-layer address.
            assert!(
                matches!(spec.transport, Transport::Slip(_) | Transport::Slirp(_)),
                "{arg}: no MAC\n{ctx}"
            );
            continue;
        };
        let inherited = warnings.iter().find_map(|w| match w {
            Warning::MacInherited { mac, .. } => Some(*mac),
            _ => None,
        });
        match (spec.transport.mac(), inherited) {
            (Some(given), _) => assert_eq!(*mac, given, "{arg}\n{ctx}"),
            (None, Some(Some(from_earlier))) => {
                assert_eq!(*mac, from_earlier, "{arg}: inherited MAC\n{ctx}")
            }
            _ => assert!(
                mac.is_locally_administered() && mac.is_unicast(),
                "{arg}: {mac}"
            ),
        }
    }
    assert!(accepted >= 12, "{accepted} accepted");
}

/// Refused with a kind the kernel also refuses → no device, and the kernel's message of
/// that kind; refused where we are stricter than the kernel → the kernel created the
/// device but not as written, and says so. `umlnet check` names the same problem.
fn the_arguments_we_refuse_fail_in_the_kernel_as_our_errors_say() {
    let b = boot();
    let Boot {
        args,
        verdicts,
        report,
        cli_errors,
        devices,
        vec_devices,
        ctx,
        ..
    } = b;
    let has = |needle: &str| b.has(needle);
    let mut refused = 0;
    for (arg, verdict) in args.iter().zip(verdicts) {
        let Err(e) = verdict else {
            continue;
        };
        refused += 1;
        let found = e.found.of(arg);
        // The CLI names the same problem: as a refusal, or as a warning where the
        // kernel ignores the argument silently (an unknown transport).
        let named = if e.kind == ErrorKind::UnknownTransport {
            report.contains(&format!("{arg}\n  warning: {}", e.display(arg)))
        } else {
            cli_errors.contains(&e.display(arg).to_string())
        };
        assert!(named, "{arg}\n{ctx}");
        let n = e.index;
        let absent = |n: Option<u32>| n.is_none_or(|n| !devices.contains_key(&n));
        match e.kind {
            ErrorKind::BadPort => {
                assert!(absent(n), "{arg}\n{ctx}");
                assert!(
                    has(&format!("Bad port : '{found}'"))
                        || has(&format!("Bad remote port : '{found}'")),
                    "{arg}\n{ctx}"
                );
            }
            ErrorKind::BadTtl => {
                assert!(absent(n), "{arg}\n{ctx}");
                assert!(
                    has(&format!("mcast_setup - Bad ttl : '{found}'")),
                    "{arg}\n{ctx}"
                );
            }
            ErrorKind::ExtraFields { .. } => {
                assert!(absent(n), "{arg}\n{ctx}");
                assert!(
                    has(&format!("Extra garbage on specification : '{found}'")),
                    "{arg}\n{ctx}"
                );
            }
            ErrorKind::MissingEthertapDevice => {
                assert!(absent(n), "{arg}\n{ctx}");
                assert!(
                    has("ethertap_setup : Missing tap device name"),
                    "{arg}\n{ctx}"
                );
            }
            ErrorKind::UnknownTransport | ErrorKind::TransportNotBuilt => {
                // Silently ignored: no device and no message naming it.
                assert!(absent(n), "{arg}\n{ctx}");
                assert!(!has(found), "{arg}: the kernel mentions {found}\n{ctx}");
            }
            ErrorKind::BadDeviceNumber => {
                assert!(
                    has(&format!(
                        "Couldn't parse '{}' : Bad device number",
                        &arg[3..]
                    )),
                    "{arg}\n{ctx}"
                );
            }
            ErrorKind::MissingColon => assert!(
                has(&format!(
                    "vector_setup - Couldn't parse '{}' : Expected ':' after device number",
                    &arg[3..]
                )),
                "{arg}\n{ctx}"
            ),
            // Stricter: the kernel creates the vec device; it cannot come up.
            ErrorKind::MissingVectorTransport | ErrorKind::UnknownVectorTransport => {
                assert!(vec_devices.contains(&n.unwrap()), "{arg}\n{ctx}")
            }
            ErrorKind::MissingEquals => {
                // (No device from it; the number it half-read may be another argument's.)
                assert!(
                    has(&format!(
                        "Couldn't parse '{}' : Expected '=' after device number",
                        &arg[3..]
                    )),
                    "{arg}\n{ctx}"
                );
            }
            // Stricter than the kernel: it creates the device, but not as written.
            ErrorKind::Mac(kind) => {
                let mac = devices
                    .get(&n.unwrap())
                    .copied()
                    .flatten()
                    .unwrap_or_else(|| panic!("{arg}\n{ctx}"));
                assert!(
                    mac.is_unicast() && mac.is_locally_administered(),
                    "{arg}: random, got {mac}"
                );
                let msg = match kind {
                    MacError::Multicast => {
                        "Attempt to assign a multicast ethernet address to a device disallowed"
                    }
                    MacError::Zero => "Attempt to assign an invalid ethernet address",
                    _ => "setup_etheraddr: failed to parse",
                };
                assert!(has(msg), "{arg}: expected {msg:?}\n{ctx}");
                assert!(
                    has(&format!(
                        "Choosing a random ethernet address for device eth{}",
                        n.unwrap()
                    )),
                    "{arg}\n{ctx}"
                );
            }
            ErrorKind::GateNotIpv4 => {
                assert!(devices.contains_key(&n.unwrap()), "{arg}\n{ctx}");
                assert!(
                    has(&format!("SLIP backend - SLIP IP = {found}")),
                    "{arg}\n{ctx}"
                );
            }
            ErrorKind::PortOutOfRange { kernel_uses } => {
                assert!(devices.contains_key(&n.unwrap()), "{arg}\n{ctx}");
                assert!(
                    has(&format!("multicast address: 239.192.168.1:{kernel_uses},")),
                    "{arg}\n{ctx}"
                );
            }
            ErrorKind::DeviceAlreadyConfigured => {
                // At boot the kernel keeps one of the two (whichever transport
                // registers first) and fails the other in sysfs.
                let n = n.unwrap();
                assert!(devices.contains_key(&n), "{arg}\n{ctx}");
                assert!(
                    has(&format!(
                        "cannot create duplicate filename '/devices/platform/uml-netdev.{n}'"
                    )),
                    "{arg}\n{ctx}"
                );
            }
            other => panic!("{arg}: no kernel expectation for {other:?}"),
        }
    }
    assert!(refused >= 12, "{refused} refused");
}

/// Every device the kernel created is one of ours, and `eth0x12=slip` is eth18, as we
/// warned.
fn the_kernel_creates_no_device_that_no_argument_describes() {
    let Boot {
        verdicts,
        devices,
        ctx,
        ..
    } = boot();
    // The kernel created nothing we did not account for: every device is one of ours.
    for n in devices.keys() {
        let ours = verdicts.iter().any(|v| match v {
            Ok(p) => p.spec.index == *n,
            Err(e) => e.index == Some(*n),
        });
        assert!(
            ours,
            "the kernel created eth{n}, which no argument describes\n{ctx}"
        );
    }
    // `eth0x12=slip` is eth18, as we warned.
    assert!(devices.contains_key(&18), "{ctx}");
    assert!(
        matches!(&verdicts[18], Ok(p) if p.warnings.contains(&Warning::NonDecimalDeviceNumber { index: 18 })),
        "{:?}",
        verdicts[18]
    );
}
