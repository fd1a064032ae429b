//! `umlnet lab start`: the domains, then the machines in `lab.dep` order, with progress.

use super::stop::teardown;
use super::*;

pub(super) fn start(
    words: Vec<String>,
    dir: DirArg,
    kernel: &Path,
    timeout: Duration,
) -> Result<ExitCode> {
    let mut words = words.into_iter().peekable();
    let lab_dir = match (&dir.dir, words.peek()) {
        (Some(d), _) => d.clone(),
        (None, Some(w)) if Path::new(w).join("lab.conf").is_file() => {
            PathBuf::from(words.next().unwrap_or_default())
        }
        (None, _) => PathBuf::from("."),
    };
    let lab = load(&lab_dir)?;
    let selected: Vec<String> = words.collect();
    for m in &selected {
        if !lab.machines.contains(m) {
            bail!(
                "{m} is not a machine of {} (it has: {})",
                lab.dir.display(),
                lab.machines.join(", ")
            );
        }
    }
    let selected = if selected.is_empty() {
        lab.machines.clone()
    } else {
        selected
    };
    for m in &selected {
        machine::layers(&lab, m).map_err(|e| anyhow!("{e}"))?;
    }
    let run = RunDir::for_lab(&lab.dir);
    if run.exists() {
        let live = run.live_processes();
        if !live.is_empty() {
            bail!(
                "the lab is running already ({}); `umlnet lab stop` or `umlnet lab crash` it first",
                live.iter()
                    .map(|(w, p)| format!("{w} pid {p}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        run.remove()
            .with_context(|| format!("removing {}", run.root().display()))?;
        println!("removed the stale run directory of an earlier run");
    }
    let tap_host = lab.tap_host();
    if tap_host.is_some() && !nix::unistd::geteuid().is_root() {
        bail!(
            "the lab has a tap uplink (MACHINE[N]=tap,...), which needs root to make its TAP \
             device; run as root, or plug those interfaces into a collision domain"
        );
    }
    let launch = KernelLaunch::for_host(None).map_err(|e| anyhow!("{e}"))?;
    let exe = std::env::current_exe().context("finding this program")?;
    run.create(&lab.dir)
        .with_context(|| format!("creating {}", run.root().display()))?;
    let t0 = Instant::now();
    println!(
        "lab {} ({} machines), run directory {}",
        lab.dir.display(),
        selected.len(),
        run.root().display()
    );
    if let Some(d) = &lab.conf.meta.description {
        println!("  {d}");
    }
    let domains: BTreeSet<String> = selected
        .iter()
        .flat_map(|m| lab.machine(m).ifaces.into_values().map(|i| i.domain))
        .collect();
    let result = (|| -> Result<BTreeMap<String, Duration>> {
        for d in &domains {
            let switched = lab.conf.switched.contains(d);
            let pid = domain::start(&exe, &run, d, switched)
                .with_context(|| format!("starting domain {d}"))?;
            if d == conf::TAP_DOMAIN {
                let host = tap_host.ok_or_else(|| anyhow!("a tap domain without taps"))?;
                tap_uplink(&run, host)?;
                println!(
                    "tap uplink: host device {} with {host}/{}, pid {pid}",
                    run.tap_device(),
                    conf::TAP_PREFIX
                );
            } else {
                println!(
                    "domain {d}: {} up (pid {pid})",
                    if switched { "switch" } else { "hub" }
                );
            }
        }
        boot_in_order(&lab, &run, &selected, kernel, &launch, timeout, t0)
    })();
    match result {
        Ok(times) => {
            println!(
                "\nlab up in {:.1} s: {} machines, {} domains",
                t0.elapsed().as_secs_f64(),
                times.len(),
                domains.len()
            );
            for m in &selected {
                let ifs: Vec<String> = lab
                    .machine(m)
                    .ifaces
                    .iter()
                    .map(|(k, i)| format!("eth{k}:{}", i.domain))
                    .collect();
                println!(
                    "  {m:<12} {:<10} {}",
                    machine::state(&run, m).to_string(),
                    ifs.join(" ")
                );
            }
            println!(
                "commands: umlnet lab exec -d {dir} MACHINE -- CMD | status | dump DOMAIN | stop",
                dir = lab.dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("umlnet lab: {e:#}; stopping what was started");
            teardown(&run, false);
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Gives the tap uplink's TAP device (made by its switch) the host address, and brings
/// it up, with the same code as `umlnet up` (netlink, no shell).
pub(super) fn tap_uplink(run: &RunDir, host: std::net::Ipv4Addr) -> Result<()> {
    use umlnet_core::host::{HostAction, IfAddr, Prefix};
    let dev = umlnet_core::cmdline::IfName::try_from(run.tap_device().as_str())
        .map_err(|_| anyhow!("TAP device name {} is too long", run.tap_device()))?;
    let mut applier = umlnet_linux::hostapply::Applier::new(
        false,
        umlnet_linux::hostapply::Tolerance::Idempotent,
    );
    for action in [
        HostAction::AddAddress(IfAddr {
            dev: dev.clone(),
            addr: host,
            prefix: Prefix::saturating(conf::TAP_PREFIX),
            peer: None,
        }),
        HostAction::LinkUp { dev },
    ] {
        applier
            .apply_one(&action)
            .map_err(|e| anyhow!("setting up the tap uplink: {e}"))?;
    }
    Ok(())
}

/// Boots `selected` as lab.dep allows, in parallel, printing progress; returns each
/// machine's time from boot to up.
pub(super) fn boot_in_order(
    lab: &Lab,
    run: &RunDir,
    selected: &[String],
    default_kernel: &Path,
    launch: &KernelLaunch,
    timeout: Duration,
    t0: Instant,
) -> Result<BTreeMap<String, Duration>> {
    let mut started: BTreeMap<String, (Instant, u32)> = BTreeMap::new();
    let mut up: BTreeMap<String, Duration> = BTreeMap::new();
    let mut said_wait = BTreeSet::new();
    let mut last_states: BTreeMap<String, State> = BTreeMap::new();
    while up.len() < selected.len() {
        let started_set = started.keys().cloned().collect();
        let up_set = up.keys().cloned().collect();
        for m in lab.deps.startable(selected, &started_set, &up_set) {
            let kernel = machine::kernel(lab, &m, default_kernel);
            let pid = machine::boot(lab, run, &m, &kernel, launch)
                .with_context(|| format!("booting {m}"))?;
            println!(
                "[{:5.1}s] {m}: booting {} (pid {pid})",
                t0.elapsed().as_secs_f64(),
                kernel.display()
            );
            started.insert(m, (Instant::now(), pid));
        }
        for m in selected.iter().filter(|m| !started.contains_key(*m)) {
            if said_wait.insert(m.clone()) {
                let waits: Vec<&str> = lab
                    .deps
                    .of(m)
                    .filter(|d| selected.iter().any(|s| s == d) && !up.contains_key(*d))
                    .collect();
                println!(
                    "[{:5.1}s] {m}: waits for {}",
                    t0.elapsed().as_secs_f64(),
                    waits.join(", ")
                );
            }
        }
        for (m, (since, pid)) in &started {
            if up.contains_key(m) {
                continue;
            }
            let st = if machine::alive(*pid as i32) {
                machine::init_state(run, m)
            } else {
                State::Down
            };
            if last_states.get(m) != Some(&st) {
                match &st {
                    State::Up(rc) => {
                        up.insert(m.clone(), since.elapsed());
                        println!(
                            "[{:5.1}s] {m}: up after {:.1} s{}",
                            t0.elapsed().as_secs_f64(),
                            since.elapsed().as_secs_f64(),
                            if *rc == 0 {
                                String::new()
                            } else {
                                format!(
                                    " (warning: a startup script exited with {rc}; see {})",
                                    run.machine_dir(m).join("boot.log").display()
                                )
                            }
                        );
                    }
                    State::Down => {
                        bail!(
                            "{m} stopped while booting; its console said:\n{}\nand its init:\n{}",
                            tail(&run.machine_file(m, "log"), 15),
                            tail(&run.machine_dir(m).join("boot.log"), 15)
                        );
                    }
                    State::Startup => println!(
                        "[{:5.1}s] {m}: running its startup scripts",
                        t0.elapsed().as_secs_f64()
                    ),
                    State::Booting => {}
                }
                last_states.insert(m.clone(), st);
            }
            if !up.contains_key(m) && since.elapsed() > timeout {
                bail!(
                    "{m} was not up within {} s; its init said:\n{}",
                    timeout.as_secs(),
                    tail(&run.machine_dir(m).join("boot.log"), 15)
                );
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(up)
}

pub(super) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
