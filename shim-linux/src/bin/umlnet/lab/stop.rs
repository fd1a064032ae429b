//! `umlnet lab stop` and `crash`: shutdown scripts (or not), halt, and the run directory removed.

use super::*;

/// Ends every machine (after its shutdown scripts when `graceful`) and switch of
/// `run`, and removes it. Returns (machines, domains) that were running.
pub(super) fn teardown(run: &RunDir, graceful: bool) -> (usize, usize) {
    let machines = run.machines();
    let mut ended = 0;
    std::thread::scope(|s| {
        let handles: Vec<_> = machines
            .iter()
            .map(|m| s.spawn(move || stop_machine(run, m, graceful)))
            .collect();
        for h in handles {
            if h.join().unwrap_or(false) {
                ended += 1;
            }
        }
    });
    let mut domains = 0;
    for d in run.domains() {
        if graceful {
            if domain::stop(run, &d) {
                domains += 1;
            }
        } else {
            if let Some(pid) = run.live_pid(&run.domain_file(&d, "pid")) {
                machine::kill_group(pid);
                domains += 1;
            }
            domain::stop(run, &d);
        }
    }
    if let Err(e) = run.remove() {
        eprintln!("umlnet lab: removing {}: {e}", run.root().display());
    }
    (ended, domains)
}

/// Stops machine `m`: shutdown scripts and mconsole halt, or SIGKILL. Returns whether
/// it was running.
pub(super) fn stop_machine(run: &RunDir, m: &str, graceful: bool) -> bool {
    let Some(pid) = run.live_pid(&run.machine_file(m, "pid")) else {
        return false;
    };
    if graceful {
        let script = format!(
            "rc=0\n\
             if [ -f /run/lab/{q}.shutdown ]; then (cd / && sh /run/lab/{q}.shutdown) || rc=$?; fi\n\
             if [ -f /run/lab/shared.shutdown ]; then (cd / && sh /run/lab/shared.shutdown) || rc=$?; fi\n\
             exit $rc\n",
            q = machine::sh_quote(m)
        );
        let mut out = Vec::new();
        let r = control::exec(run, m, &script, Some(Duration::from_secs(60)), |b| {
            out.extend_from_slice(b)
        });
        for line in String::from_utf8_lossy(&out).lines() {
            println!("{m}| {line}");
        }
        match r {
            Ok(0) => println!("{m}: shutdown scripts done"),
            Ok(rc) => println!("{m}: a shutdown script exited with {rc}"),
            Err(e) => println!("{m}: shutdown scripts: {e}"),
        }
        if let Err(e) = control::mconsole(run, &run.mconsole(m), "halt")
            && machine::alive(pid)
        {
            println!("{m}: mconsole halt: {e}");
        }
        if machine::wait_gone(pid, Duration::from_secs(15)) {
            // Whatever the kernel left in its process group.
            machine::kill_group(pid);
            println!("{m}: halted");
        } else {
            machine::kill_group(pid);
            println!("{m}: did not halt within 15 s; killed");
        }
    } else {
        machine::kill_group(pid);
        println!("{m}: killed");
    }
    true
}

pub(super) fn stop(dir: &Path) -> Result<ExitCode> {
    let run = running(dir)?;
    let (m, d) = teardown(&run, true);
    println!("lab stopped: {m} machines halted, {d} domains stopped, run directory removed");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn crash(dir: &Path) -> Result<ExitCode> {
    let run = running(dir)?;
    let (m, d) = teardown(&run, false);
    println!("lab crashed: {m} machines and {d} switches killed, run directory removed");
    Ok(ExitCode::SUCCESS)
}
