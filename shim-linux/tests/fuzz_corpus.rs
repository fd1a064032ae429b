//! Replays every file of the cargo-fuzz corpora (`fuzz/corpus/<target>/`) through the
//! same entry points the fuzz targets call, on stable Rust, as part of `cargo test`.
//! A crash that fuzzing once found and whose input was added to the corpus stays fixed.

use std::path::Path;

type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("cmdline", umlnet_core::cmdline::fuzz_one),
    ("mac", umlnet_core::mac::fuzz_one),
    ("slip", umlnet_core::slip::fuzz_one),
    ("daemon_request", umlnet_core::daemon::fuzz_request),
    ("helper_argv", umlnet_core::helper::fuzz_argv),
    ("mconsole", umlnet_core::mconsole::fuzz_one),
    ("ethernet", umlnet_core::ethernet::fuzz_one),
    ("vxlan", umlnet_core::vxlan::fuzz_one),
    ("qemu_stream", umlnet_core::qemu_stream::fuzz_one),
    ("l2tpv3", umlnet_core::l2tpv3::fuzz_one),
    ("config", umlnet_linux::config::fuzz_one),
    ("switch_args", umlnet_linux::switchd::args::fuzz_args),
    ("guest_shell", umlnet_guest::shell::fuzz_shell),
    ("lab", umlnet_linux::lab::fuzz_one),
    ("baremetal_boot", umlnet_baremetal::boot::fuzz_one),
    ("baremetal_http", umlnet_baremetal::http::fuzz_one),
    ("baremetal_console", umlnet_baremetal::console::fuzz_one),
    ("uml_net_policy", umlnet_core::policy::fuzz_one),
    ("uml_net_ledger", umlnet_linux::nethelper::ledger::fuzz_one),
    ("switch_status", umlnet_linux::switch_status::fuzz_one),
];

#[test]
fn every_fuzz_target_has_a_corpus_and_it_replays_cleanly() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, entry) in TARGETS {
        let dir = corpus.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus {} unreadable: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "fuzz corpus for {name} is empty");
        for f in &files {
            let data = std::fs::read(f).unwrap();
            let r = std::panic::catch_unwind(|| entry(&data));
            assert!(
                r.is_ok(),
                "fuzz target {name} panics on corpus file {}",
                f.display()
            );
        }
        let target = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/fuzz_targets")
            .join(format!("{name}.rs"));
        assert!(target.exists(), "no fuzz target {}", target.display());
    }
}

#[test]
fn every_fuzz_target_is_replayed_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz target {} has no corpus replay in TARGETS",
            path.display()
        );
    }
}
