//! `umlnet lab`: Netkit-style labs of real UML kernels (`docs/labs.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use umlnet_linux::lab::machine::{self, State};
use umlnet_linux::lab::rundir::RunDir;
use umlnet_linux::lab::{Lab, conf, console, control, domain, dump};
use umlnet_linux::umlkernel::KernelLaunch;

pub const LAB_EXAMPLES: &str = "\
Examples:
  umlnet lab check contrib/labs/two-lans        # every problem, with file and line
  umlnet lab start contrib/labs/two-lans        # domains, then machines in lab.dep order
  umlnet lab status -d contrib/labs/two-lans
  umlnet lab exec -d contrib/labs/two-lans pc1 -- ping -c 3 10.0.2.2
  umlnet lab console -d contrib/labs/two-lans r1  # a shell; Ctrl-] leaves
  umlnet lab dump -d contrib/labs/two-lans A -c 10 | tcpdump -n -r -
  umlnet lab connect -d contrib/labs/two-lans pc1 eth1 C
  umlnet lab stop -d contrib/labs/two-lans      # shutdown scripts, halt, clean up
Root is not needed. Without -d, the lab is the current directory.";

#[derive(Debug, Args)]
#[command(after_help = LAB_EXAMPLES)]
pub struct LabArgs {
    #[command(subcommand)]
    command: LabCommand,
}

/// Which lab: `-d DIR`, else the current directory.
#[derive(Debug, Args)]
struct DirArg {
    /// The lab directory (default: the current directory).
    #[arg(short = 'd', long = "dir", value_name = "DIR")]
    dir: Option<PathBuf>,
}

impl DirArg {
    fn path(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| PathBuf::from("."))
    }
}

#[derive(Debug, Subcommand)]
enum LabCommand {
    /// Start the lab's domains, then its machines in lab.dep order (all, or those named).
    Start {
        /// The lab directory, then the machines to start (default: all). A first word
        /// that is a directory with a lab.conf is the lab; otherwise it is the current
        /// directory.
        #[arg(value_name = "DIR|MACHINE")]
        words: Vec<String>,
        #[command(flatten)]
        dir: DirArg,
        /// The UML kernel for machines without kernel= in lab.conf.
        #[arg(long, default_value = machine::DEFAULT_KERNEL)]
        kernel: PathBuf,
        /// Seconds a machine may take from boot to the end of its startup scripts.
        #[arg(long, default_value_t = 180)]
        timeout: u64,
    },
    /// Run each machine's shutdown scripts, halt it, stop the domains, clean up.
    Stop {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Kill every machine and switch at once and clean up.
    Crash {
        #[command(flatten)]
        dir: DirArg,
    },
    /// The machines, their state and interfaces; the domains, their ports and the
    /// addresses seen on them.
    Status {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Run a command (words joined by spaces, run by sh) in a running machine; exits
    /// with its status.
    Exec {
        #[command(flatten)]
        dir: DirArg,
        /// Seconds to wait for the command (default: as long as it runs).
        #[arg(long)]
        timeout: Option<u64>,
        /// The machine.
        machine: String,
        /// The command.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Attach to a shell on a running machine's second console (Ctrl-] leaves).
    Console {
        #[command(flatten)]
        dir: DirArg,
        /// The machine.
        machine: String,
    },
    /// Write a domain's traffic as pcap (to stdout, or -w FILE), without root.
    Dump {
        #[command(flatten)]
        dir: DirArg,
        /// The collision domain.
        domain: String,
        /// Write to this file instead of stdout.
        #[arg(short = 'w', value_name = "FILE")]
        write: Option<PathBuf>,
        /// Stop after this many frames.
        #[arg(short = 'c', long)]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// Plug a new interface of a running machine into a domain (hot-plug, mconsole).
    Connect {
        #[command(flatten)]
        dir: DirArg,
        /// The machine.
        machine: String,
        /// The interface to add (ethN).
        iface: String,
        /// The collision domain (its switch is started if the lab has none yet).
        domain: String,
    },
    /// Check a lab directory: every error and warning, with file and line.
    Check {
        /// The lab directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// (internal) Run a domain's switch.
    #[command(hide = true)]
    DomainDaemon {
        run: PathBuf,
        domain: String,
        #[arg(long)]
        switched: bool,
    },
}

pub fn run(args: LabArgs) -> ExitCode {
    let r = match args.command {
        LabCommand::Start {
            words,
            dir,
            kernel,
            timeout,
        } => start(words, dir, &kernel, Duration::from_secs(timeout)),
        LabCommand::Stop { dir } => stop(&dir.path()),
        LabCommand::Crash { dir } => crash(&dir.path()),
        LabCommand::Status { dir } => status(&dir.path()),
        LabCommand::Exec {
            dir,
            timeout,
            machine,
            command,
        } => exec(&dir.path(), &machine, &command, timeout),
        LabCommand::Console { dir, machine } => console_cmd(&dir.path(), &machine),
        LabCommand::Dump {
            dir,
            domain,
            write,
            count,
            seconds,
        } => dump_domain(&dir.path(), &domain, write, count, seconds),
        LabCommand::Connect {
            dir,
            machine,
            iface,
            domain,
        } => connect(&dir.path(), &machine, &iface, &domain),
        LabCommand::Check { dir } => return check(&dir),
        LabCommand::DomainDaemon {
            run,
            domain,
            switched,
        } => {
            return ExitCode::from(domain::daemon_main(&run, &domain, switched).clamp(0, 255) as u8);
        }
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("umlnet lab: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(dir: &Path) -> Result<Lab> {
    let lab = Lab::load(dir).map_err(|e| anyhow!("{e}"))?;
    for w in &lab.warnings {
        eprintln!("{w}");
    }
    Ok(lab)
}

/// The run directory of the lab at `dir`, which must exist.
fn running(dir: &Path) -> Result<RunDir> {
    let abs = std::fs::canonicalize(dir).with_context(|| format!("lab {}", dir.display()))?;
    let run = RunDir::for_lab(&abs);
    if !run.exists() {
        bail!(
            "the lab {} is not running (start it with `umlnet lab start {}`)",
            abs.display(),
            dir.display()
        );
    }
    Ok(run)
}

fn check(dir: &Path) -> ExitCode {
    match Lab::load(dir) {
        Ok(lab) => {
            for w in &lab.warnings {
                println!("{w}");
            }
            println!(
                "{}: {} machines, {} collision domains: {}",
                lab.dir.display(),
                lab.machines.len(),
                lab.domains().len(),
                if lab.warnings.is_empty() {
                    "no problems"
                } else {
                    "warnings only"
                }
            );
            let mut bad = false;
            for m in &lab.machines {
                if let Err(e) = machine::layers(&lab, m) {
                    println!("error: {e}");
                    bad = true;
                }
            }
            if bad {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            for d in &e.0 {
                println!("{d}");
            }
            let n = e.0.iter().filter(|d| d.is_error()).count();
            println!("{n} error(s)");
            ExitCode::from(2)
        }
    }
}

fn start(words: Vec<String>, dir: DirArg, kernel: &Path, timeout: Duration) -> Result<ExitCode> {
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
fn tap_uplink(run: &RunDir, host: std::net::Ipv4Addr) -> Result<()> {
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
fn boot_in_order(
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

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Ends every machine (after its shutdown scripts when `graceful`) and switch of
/// `run`, and removes it. Returns (machines, domains) that were running.
fn teardown(run: &RunDir, graceful: bool) -> (usize, usize) {
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
fn stop_machine(run: &RunDir, m: &str, graceful: bool) -> bool {
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

fn stop(dir: &Path) -> Result<ExitCode> {
    let run = running(dir)?;
    let (m, d) = teardown(&run, true);
    println!("lab stopped: {m} machines halted, {d} domains stopped, run directory removed");
    Ok(ExitCode::SUCCESS)
}

fn crash(dir: &Path) -> Result<ExitCode> {
    let run = running(dir)?;
    let (m, d) = teardown(&run, false);
    println!("lab crashed: {m} machines and {d} switches killed, run directory removed");
    Ok(ExitCode::SUCCESS)
}

fn status(dir: &Path) -> Result<ExitCode> {
    let run = running(dir)?;
    let lab_dir = std::fs::read_to_string(run.root().join("lab")).unwrap_or_default();
    let lab = Lab::load(Path::new(&lab_dir)).ok();
    println!("lab {lab_dir}, run directory {}", run.root().display());
    println!("machines:");
    for m in run.machines() {
        let pid = run
            .live_pid(&run.machine_file(&m, "pid"))
            .map_or("-".to_string(), |p| p.to_string());
        let ifs: Vec<String> = lab
            .as_ref()
            .map(|l| {
                l.machine(&m)
                    .ifaces
                    .iter()
                    .map(|(k, i)| format!("eth{k}:{}", i.domain))
                    .collect()
            })
            .unwrap_or_default();
        let plugged =
            std::fs::read_to_string(run.machine_file(&m, "connected")).unwrap_or_default();
        let plugged: Vec<String> = plugged
            .lines()
            .map(|l| format!("{l} (connected)"))
            .collect();
        println!(
            "  {m:<12} pid {pid:<8} {:<10} {}",
            machine::state(&run, &m).to_string(),
            ifs.iter()
                .chain(&plugged)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    println!("domains:");
    for d in run.domains() {
        let alive = run.live_pid(&run.domain_file(&d, "pid")).is_some();
        let status = alive
            .then(|| umlnet_linux::switchd::switch_status(&run.domain_mgmt(&d)).ok())
            .flatten();
        let mode = match &status {
            None if !alive => "switch NOT running",
            Some(t) if t.lines().any(|l| l.trim() == "mode switch") => "switch running",
            _ => "hub running",
        };
        println!("  {d}: {mode}");
        if alive {
            match umlnet_linux::switchd::switch_status(&run.domain_mgmt(&d)) {
                Ok(text) => {
                    // The counters that say what the domain carried, its ports and the
                    // addresses seen on them.
                    let keep = |l: &str| {
                        l.starts_with("rx_frames ")
                            || l.starts_with("port ")
                            || l.ends_with(" ports")
                            || l.ends_with(" addresses")
                            || l.contains(" age ")
                    };
                    for l in text.lines().map(str::trim).filter(|l| keep(l)) {
                        println!("    {l}");
                    }
                }
                Err(e) => println!("    ({e})"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn exec(dir: &Path, m: &str, command: &[String], timeout: Option<u64>) -> Result<ExitCode> {
    let run = running(dir)?;
    let script = format!("{}\n", command.join(" "));
    let mut stdout = std::io::stdout();
    let rc = control::exec(&run, m, &script, timeout.map(Duration::from_secs), |b| {
        let _ = stdout.write_all(b);
        let _ = stdout.flush();
    })?;
    Ok(ExitCode::from(rc.clamp(0, 255) as u8))
}

fn console_cmd(dir: &Path, m: &str) -> Result<ExitCode> {
    let run = running(dir)?;
    if run.live_pid(&run.machine_file(m, "pid")).is_none() {
        bail!("machine {m} is not running");
    }
    let (tty, pty, prompt) =
        console::open(&run, m).with_context(|| format!("opening {m}'s console"))?;
    let mut out = std::io::stdout();
    out.write_all(prompt.trim_ascii_start())?;
    out.flush()?;
    console::attach(&tty, pty)?;
    Ok(ExitCode::SUCCESS)
}

fn dump_domain(
    dir: &Path,
    d: &str,
    write: Option<PathBuf>,
    count: Option<u64>,
    seconds: Option<u64>,
) -> Result<ExitCode> {
    let run = running(dir)?;
    let ctl = run.domain_ctl(d);
    if !ctl.exists() {
        bail!(
            "the lab has no domain {d} (it has: {})",
            run.domains().join(", ")
        );
    }
    let limits = dump::Limits {
        count,
        duration: seconds.map(Duration::from_secs),
    };
    // A switched domain floods while the dump runs, so that it sees every frame.
    let was_hub = domain::set_hub(&run, d, true)
        .with_context(|| format!("asking domain {d}'s switch to flood"))?;
    let ready = || eprintln!("umlnet lab dump: listening on domain {d}");
    let n: Result<u64> = match write {
        Some(path) => std::fs::File::create(&path)
            .with_context(|| format!("creating {}", path.display()))
            .and_then(|f| Ok(dump::dump(&ctl, std::io::BufWriter::new(f), limits, ready)?)),
        None => dump::dump(&ctl, std::io::stdout().lock(), limits, ready).map_err(Into::into),
    };
    if !was_hub {
        domain::set_hub(&run, d, false)
            .with_context(|| format!("setting domain {d}'s switch back to switching"))?;
    }
    let n = n?;
    eprintln!("umlnet lab dump: {n} frames");
    Ok(ExitCode::SUCCESS)
}

fn connect(dir: &Path, m: &str, iface: &str, d: &str) -> Result<ExitCode> {
    let run = running(dir)?;
    let n: u8 = iface
        .strip_prefix("eth")
        .and_then(|n| n.parse().ok())
        .filter(|n| *n <= umlnet_linux::lab::conf::MAX_IFACE)
        .ok_or_else(|| anyhow!("'{iface}' is not an interface name: write eth0 to eth63"))?;
    if !umlnet_linux::lab::conf::valid_name(d) {
        bail!("'{d}' is not a valid collision domain name");
    }
    if run.live_pid(&run.machine_file(m, "pid")).is_none() {
        bail!("machine {m} is not running");
    }
    if run.live_pid(&run.domain_file(d, "pid")).is_none() {
        let exe = std::env::current_exe().context("finding this program")?;
        let pid =
            domain::start(&exe, &run, d, false).with_context(|| format!("starting domain {d}"))?;
        println!("domain {d}: hub up (pid {pid})");
    }
    let config = format!("config eth{n}=daemon,,unix,{}", run.domain_ctl(d).display());
    control::mconsole(&run, &run.mconsole(m), &config)
        .with_context(|| format!("plugging eth{n} of {m} into {d}"))?;
    let rc = control::exec(
        &run,
        m,
        &format!("ip link set eth{n} up\n"),
        Some(Duration::from_secs(30)),
        |b| eprint!("{}", String::from_utf8_lossy(b)),
    )?;
    if rc != 0 {
        bail!("eth{n} was plugged in but `ip link set eth{n} up` failed in {m}");
    }
    // Remembered for `status`.
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.machine_file(m, "connected"))?;
    writeln!(f, "eth{n}:{d}")?;
    println!("{m}: eth{n} plugged into domain {d} and up");
    Ok(ExitCode::SUCCESS)
}
