//! Our `tunctl` on the real host kernel, in network namespaces of its own, next to the
//! original `/usr/bin/tunctl`.

use std::process::Output;

use umlnet_testkit::{Netns, bin, real, run_cases};

fn main() {
    run_cases(vec![
        real(
            "create_shows_owner_in_ip_link_and_delete_removes_it",
            &["ip"],
            create_shows_owner_in_ip_link_and_delete_removes_it,
        ),
        real(
            "the_same_results_as_the_original_where_it_was_right",
            &["ip", "tunctl"],
            the_same_results_as_the_original_where_it_was_right,
        ),
    ]);
}

fn run(ns: &Netns, program: &str, args: &[&str]) -> Output {
    ns.command(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run tunctl")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn create_shows_owner_in_ip_link_and_delete_removes_it() {
    let ns = Netns::new("tunctl");
    let ours = bin!("tunctl");
    let ours = ours.to_str().unwrap();

    let o = run(&ns, ours, &["-t", "tapu1", "-u", "65534", "-g", "65534"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(
        text(&o).0,
        "Set 'tapu1' persistent and owned by uid 65534 gid 65534\n"
    );
    let d = ns.sh("ip -d link show tapu1");
    assert!(d.contains("tun type tap"), "{d}");
    assert!(d.contains("persist on"), "{d}");
    assert!(d.contains("user nobody") || d.contains("user 65534"), "{d}");
    assert!(
        d.contains("group nogroup") || d.contains("group 65534"),
        "{d}"
    );

    // -b prints only the name; without -u/-g the owner is the caller (root).
    let o = run(&ns, ours, &["-b"]);
    assert!(o.status.success());
    let name = text(&o).0.trim().to_string();
    assert!(name.starts_with("tap"), "{name}");
    assert!(
        ns.sh(&format!("ip -d link show {name}"))
            .contains("user root")
    );

    // Delete, with the original's message.
    let o = run(&ns, ours, &["-d", "tapu1"]);
    assert_eq!(text(&o).0, "Set 'tapu1' nonpersistent\n");
    assert!(!ns.sh_output("ip link show tapu1").status.success());
    let o = run(&ns, ours, &["-d", &name]);
    assert!(o.status.success());
    assert!(!ns.sh("ip -o link show").contains(&name));
}

fn the_same_results_as_the_original_where_it_was_right() {
    let ns = Netns::new("tunctl-orig");
    let ours = bin!("tunctl");
    let ours = ours.to_str().unwrap();
    for (prog, dev) in [("/usr/bin/tunctl", "tapo"), (ours, "tapn")] {
        let o = run(&ns, prog, &["-t", dev, "-u", "65534"]);
        assert_eq!(
            text(&o).0,
            format!("Set '{dev}' persistent and owned by uid 65534\n"),
            "{prog}"
        );
        let o = run(&ns, prog, &["-u", "no_such_user_x"]);
        assert_eq!(o.status.code(), Some(1));
        let (_, err) = text(&o);
        assert!(
            err.starts_with("'no_such_user_x' is neither a username nor a numeric uid.\nCreate: "),
            "{prog}: {err}"
        );
    }
    let a = ns.sh("ip -d link show tapo");
    let b = ns.sh("ip -d link show tapn");
    let props = |s: &str| {
        s.split_whitespace()
            .skip_while(|w| *w != "tun")
            .take(12)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(props(&a), props(&b));

    // Errors from the clone device read the same.
    for args in [&["-f", "/nonexistent"][..], &["-f", "/dev/null"][..]] {
        let a = run(&ns, "/usr/bin/tunctl", args);
        let b = run(&ns, ours, args);
        assert_eq!(text(&a).1, text(&b).1, "{args:?}");
        assert_eq!((a.status.code(), b.status.code()), (Some(1), Some(1)));
    }

    // Where the original was wrong: deleting a device that does not exist.
    let o = run(&ns, "/usr/bin/tunctl", &["-d", "ghost0"]);
    assert_eq!(
        text(&o).0,
        "Set 'ghost0' nonpersistent\n",
        "the original claims success"
    );
    let o = run(&ns, ours, &["-d", "ghost0"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o).1, "tunctl: no TAP device 'ghost0'\n");
    // And a device that is not a TAP is refused, not touched.
    let o = run(&ns, ours, &["-d", "lo"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("not a TAP device"));
    assert!(ns.sh("ip link show lo").contains("LOOPBACK"));
}
