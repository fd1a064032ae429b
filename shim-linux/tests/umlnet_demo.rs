//! `umlnet demo` as a new user runs it: no root, no setup. It must show the ping
//! replies and the fetched page, exit 0, and leave nothing behind. When the tests run
//! as root, it runs a second time as `nobody` (setpriv) to prove no privilege is used.

use std::process::{Command, Output};

fn check(out: &Output, who: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{who}: {}\n{stdout}\n{stderr}",
        out.status
    );
    // The switch came up on a socket in a temporary directory.
    let dir = stdout
        .lines()
        .find_map(|l| l.split(" on unix sockets in ").nth(1))
        .unwrap_or_else(|| panic!("{who}: no temporary directory named:\n{stdout}"));
    assert!(
        stdout.contains("switch | uml_switch attached to unix socket '"),
        "{who}:\n{stdout}"
    );
    // The ping replies.
    for seq in 1..=3 {
        assert!(
            stdout.contains(&format!(
                "alice  | 64 bytes from 10.0.0.2: icmp_seq={seq} ttl=64 time="
            )),
            "{who}: no reply {seq}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("alice  | 3 packets transmitted, 3 received, 0% packet loss"),
        "{who}:\n{stdout}"
    );
    // The page, fetched over TCP, and the server's side of it.
    assert!(
        stdout.contains("bob    | GET / HTTP/1.0  (from 10.0.0.1:"),
        "{who}:\n{stdout}"
    );
    assert!(
        stdout.contains("alice  | HTTP/1.0 200 OK\n"),
        "{who}:\n{stdout}"
    );
    assert!(
        stdout.contains("alice  | <h1>Hello from bob (10.0.0.2)</h1>\n"),
        "{who}:\n{stdout}"
    );
    // Both guests were learned by the switch, with the UML networking page's fe:fd MACs.
    assert!(
        stdout.contains("switch | fe:fd:0a:00:00:01 port "),
        "{who}:\n{stdout}"
    );
    assert!(
        stdout.contains("switch | fe:fd:0a:00:00:02 port "),
        "{who}:\n{stdout}"
    );
    assert!(
        stdout.ends_with("umlnet | PASS: 3 ping replies and the page arrived over TCP\n"),
        "{who}:\n{stdout}"
    );
    // Cleaned up.
    assert!(
        !std::path::Path::new(dir).exists(),
        "{who}: {dir} is left behind"
    );
}

#[test]
fn demo_runs_without_setup_and_shows_the_ping_and_the_page() {
    let out = Command::new(env!("CARGO_BIN_EXE_umlnet"))
        .arg("demo")
        .output()
        .expect("run umlnet demo");
    check(&out, "as the current user");
}

#[test]
fn demo_needs_no_root() {
    if !nix::unistd::geteuid().is_root() {
        // Already not root: the other test proves it.
        return;
    }
    // A copy that nobody can reach, wherever the build directory is.
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("umlnet-demo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.join("umlnet");
    std::fs::copy(env!("CARGO_BIN_EXE_umlnet"), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .arg("demo")
        .env("TMPDIR", "/tmp")
        .output()
        .expect("run setpriv");
    let _ = std::fs::remove_dir_all(&dir);
    check(&out, "as nobody");
}
