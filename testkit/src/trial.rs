//! The case list of a test file with `harness = false`: real-host cases are reported
//! as ignored, with the reason, when the machine lacks what they need.

use std::sync::Mutex;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::host::{missing_needs, under_ci};

/// The real-host cases of this process that were listed as ignored, with the reason.
static IGNORED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// A real-host case named `name`, needing root and `programs` on PATH.
///
/// When they are missing the case is listed as ignored (the runner counts it and
/// [`run_cases`] prints the reason), except under `CI=true`. A case that runs without
/// what it needs (`CI=true`, or `--include-ignored`) fails with the reason instead.
pub fn real(
    name: &str,
    programs: &'static [&'static str],
    body: impl FnOnce() + Send + 'static,
) -> Trial {
    real_needing(name, programs, None, body)
}

/// Like [`real`], for a case that also needs something that is not a program: `absent`
/// is `None` when it is there, else one line naming what is missing and how to make
/// it (e.g. a package file that `cargo deb` builds).
pub fn real_needing(
    name: &str,
    programs: &'static [&'static str],
    absent: Option<String>,
    body: impl FnOnce() + Send + 'static,
) -> Trial {
    let missing = move || match (missing_needs(programs), absent.clone()) {
        (None, None) => None,
        (Some(n), None) | (None, Some(n)) => Some(n),
        (Some(n), Some(a)) => Some(format!("{n}; {a}")),
    };
    let needs = missing();
    let ignored = needs.is_some() && !under_ci();
    if let (true, Some(needs)) = (ignored, needs) {
        IGNORED.lock().unwrap().push((name.to_string(), needs));
    }
    let thread = name.to_string();
    Trial::test(name, move || match missing() {
        Some(needs) => Err(Failed::from(format!(
            "{needs} — but real-host cases must run here (CI=true or --include-ignored)"
        ))),
        None => on_a_thread_of_its_own(thread, body),
    })
    .with_ignored_flag(ignored)
}

/// Runs `body` on a new thread named after the case, as the built-in harness does: a
/// case that moves its thread into a network namespace leaves no other case there, and
/// a panic names the case.
fn on_a_thread_of_its_own(
    name: String,
    body: impl FnOnce() + Send + 'static,
) -> Result<(), Failed> {
    let joined = std::thread::Builder::new()
        .name(name)
        .spawn(body)
        .expect("spawn the case's thread")
        .join();
    joined.map_err(|panic| {
        let text = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(a panic without a message)");
        Failed::from(format!("test panicked: {text}"))
    })
}

/// Runs `trials` as the built-in test harness would (same arguments, same output and
/// summary line), after one line per reason for the cases it ignores. The `main` of a
/// test file with `harness = false`.
pub fn run_cases(trials: Vec<Trial>) -> ! {
    let args = Arguments::from_args();
    if !args.list {
        let ignored = IGNORED.lock().unwrap();
        let mut reasons: Vec<&str> = ignored.iter().map(|(_, r)| r.as_str()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        for reason in reasons {
            let names: Vec<&str> = ignored
                .iter()
                .filter(|(_, r)| r == reason)
                .map(|(n, _)| n.as_str())
                .collect();
            eprintln!(
                "ignoring {} real-host case(s), {reason}: {}",
                names.len(),
                names.join(", ")
            );
        }
    }
    libtest_mimic::run(&args, trials).exit()
}
