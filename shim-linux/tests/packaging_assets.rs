//! What the Debian package ships from `packaging/` agrees with the programs: the man
//! pages and completion scripts generated from umlnet's command-line definitions are
//! the ones in the repository, the hand-written `uml_switch.1` covers every flag of
//! `uml_switch --help`, and `uml_switch` logs cleanly to the systemd journal.

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use umlnet_testkit::TempDir;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging")
}

const REFRESH: &str = "regenerate them with packaging/regenerate.sh";

#[test]
fn the_man_pages_in_the_repository_are_the_ones_umlnet_generates() {
    let dir = TempDir::new("manpages");
    let out = Command::new(env!("CARGO_BIN_EXE_umlnet"))
        .arg("manpages")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let generated = |d: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("umlnet") && n.ends_with(".1"))
            .collect();
        names.sort();
        names
    };
    let committed = packaging().join("man");
    assert_eq!(generated(dir.path()), generated(&committed), "{REFRESH}");
    for name in generated(dir.path()) {
        assert_eq!(
            std::fs::read_to_string(dir.join(&name)).unwrap(),
            std::fs::read_to_string(committed.join(&name)).unwrap(),
            "packaging/man/{name} is stale; {REFRESH}"
        );
    }
}

#[test]
fn the_completion_scripts_in_the_repository_are_the_ones_umlnet_generates() {
    for (shell, file) in [
        ("bash", "umlnet.bash"),
        ("zsh", "_umlnet"),
        ("fish", "umlnet.fish"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_umlnet"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let committed = std::fs::read(packaging().join("completions").join(file)).unwrap();
        assert!(
            out.stdout == committed,
            "packaging/completions/{file} is stale; {REFRESH}"
        );
    }
}

#[test]
fn the_uml_switch_man_page_covers_every_flag_of_its_help() {
    let help = Command::new(env!("CARGO_BIN_EXE_uml_switch"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let page = std::fs::read_to_string(packaging().join("man/uml_switch.1")).unwrap();
    let flags: Vec<&str> = help
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with('-') && w.len() > 2)
        .collect();
    assert!(flags.len() >= 9, "flags in --help: {flags:?}\n{help}");
    for flag in flags {
        // roff writes a dash as \-.
        let roff = flag.replace('-', "\\-");
        assert!(
            page.contains(&roff),
            "uml_switch.1 does not document {flag}"
        );
    }
}

/// Runs `uml_switch` on a control socket left over from a dead switch (which it
/// removes, logging a line), stderr to a file, with `env`; returns that line.
fn stale_socket_log_line(env: impl Fn(&Path) -> Option<(String, String)>) -> String {
    let dir = TempDir::new("journal");
    let ctl = dir.join("uml.ctl");
    drop(UnixListener::bind(&ctl).unwrap());
    let log = dir.join("stderr");
    let file = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_uml_switch"));
    cmd.arg("-unix")
        .arg(&ctl)
        .env_remove("JOURNAL_STREAM")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file);
    if let Some((k, v)) = env(&log) {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if let Some(l) = text
            .lines()
            .find(|l| l.contains("removed stale control socket"))
        {
            break l.to_string();
        }
        assert!(Instant::now() < end, "no log line in 10 s: {text:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn uml_switch_logs_to_the_journal_without_timestamps_or_colours() {
    // systemd says where stderr goes as <device>:<inode> of the journal's stream.
    let journal = stale_socket_log_line(|log| {
        let m = std::fs::metadata(log).unwrap();
        Some(("JOURNAL_STREAM".into(), format!("{}:{}", m.dev(), m.ino())))
    });
    assert!(!journal.contains('\u{1b}'), "colours: {journal:?}");
    assert!(
        journal
            .trim_start()
            .starts_with("INFO removed stale control socket"),
        "{journal:?}"
    );
    // Elsewhere (a file, a terminal) each line keeps its timestamp; a JOURNAL_STREAM
    // that is not stderr's is someone else's.
    for env in [None, Some("1:1")] {
        let line = stale_socket_log_line(|_| env.map(|v| ("JOURNAL_STREAM".into(), v.into())));
        assert!(!line.contains('\u{1b}'), "colours in a file: {line:?}");
        assert!(
            line.starts_with(|c: char| c.is_ascii_digit()),
            "a timestamp first ({env:?}): {line:?}"
        );
    }
}
