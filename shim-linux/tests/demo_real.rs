//! `umlnet demo --real-uml`: two real UML kernels on our switch in a private network
//! namespace; one pings the other and fetches a page; the namespace and files go away.

use std::process::Command;

use umlnet_testkit::{bin, real, run_cases};

fn main() {
    run_cases(vec![real(
        "real_uml_demo_pings_fetches_and_cleans_up",
        &["linux.uml", "ip", "python3", "ping"],
        real_uml_demo_pings_fetches_and_cleans_up,
    )]);
}

fn real_uml_demo_pings_fetches_and_cleans_up() {
    let out = Command::new(bin!("umlnet"))
        .args(["demo", "--real-uml"])
        .output()
        .expect("run umlnet demo --real-uml");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("alice  | 3 packets transmitted, 3 received, 0% packet loss"),
        "{stdout}"
    );
    assert!(
        stdout.contains("alice  | <h1>Hello from bob (10.0.0.2)</h1>\n"),
        "{stdout}"
    );
    let ns = stdout
        .lines()
        .find_map(|l| l.split("network namespace ").nth(1))
        .and_then(|l| l.split(',').next())
        .expect("the namespace is named")
        .to_string();
    let dir = stdout
        .lines()
        .find_map(|l| l.split("files in ").nth(1))
        .expect("the directory is named")
        .to_string();
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&ns),
        "{ns} is left behind"
    );
    assert!(!std::path::Path::new(&dir).exists(), "{dir} is left behind");
}
