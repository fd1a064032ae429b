//! `umlnet switch-status --json` against our running switch (no root needed: unix
//! sockets only): one JSON object with the mode, counters, ports and addresses; and an
//! error naming the socket when there is no console there.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use umlnet_testkit::TempDir;

#[test]
fn switch_status_json_reads_a_running_switch_and_names_a_missing_console() {
    let dir = TempDir::new("status-json");
    let (ctl, mgmt) = (dir.join("uml.ctl"), dir.join("uml.mgmt"));
    let mut switch = Command::new(env!("CARGO_BIN_EXE_uml_switch"))
        .arg("-unix")
        .arg(&ctl)
        .arg("-hub")
        .arg("-mgmt")
        .arg(&mgmt)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while !mgmt.exists() {
        assert!(Instant::now() < end, "no console socket after 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_umlnet"))
        .args(["switch-status", "--json"])
        .arg(&mgmt)
        .output()
        .unwrap();
    let _ = switch.kill();
    let _ = switch.wait();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "hub", "{v}");
    assert_eq!(v["port_count"], 0, "{v}");
    assert_eq!(v["ports"], serde_json::json!([]), "{v}");
    assert_eq!(v["addresses"], serde_json::json!([]), "{v}");
    assert_eq!(v["counters"]["rx_frames"], 0, "{v}");
    assert!(v["address_capacity"].as_u64().unwrap() > 0, "{v}");

    let out = Command::new(env!("CARGO_BIN_EXE_umlnet"))
        .args(["switch-status", "--json"])
        .arg(&mgmt)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{out:?}");
    assert!(
        err.contains(&mgmt.display().to_string()) && err.contains("-mgmt"),
        "{err}"
    );
}
