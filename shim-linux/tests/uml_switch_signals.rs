//! A switch told to stop as soon as its control socket appears still removes it: the
//! termination signals are caught before the socket is bound (`umlnet down` right
//! after `umlnet up` relies on that). Unix sockets only; no root needed.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_right_after_the_socket_appears_removes_it() {
    let dir = std::env::temp_dir().join(format!("umlnet-sw-sig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for round in 0..20 {
        let ctl: PathBuf = dir.join(format!("{round}.ctl"));
        let mut sw = Command::new(env!("CARGO_BIN_EXE_uml_switch"))
            .arg("-unix")
            .arg(&ctl)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start uml_switch");
        let end = Instant::now() + Duration::from_secs(10);
        while !ctl.exists() {
            assert!(Instant::now() < end, "round {round}: no socket appeared");
            std::thread::yield_now();
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(sw.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = sw.wait().unwrap();
        assert_eq!(
            status.signal(),
            None,
            "round {round}: the switch died of the signal instead of catching it"
        );
        assert!(
            !ctl.exists(),
            "round {round}: {} left behind",
            ctl.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
