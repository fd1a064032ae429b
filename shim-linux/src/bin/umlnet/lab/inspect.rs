//! Looking into a running lab: `status`, `exec`, `console`, `dump`, `connect`.

use super::*;

pub(super) fn status(dir: &Path) -> Result<ExitCode> {
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

pub(super) fn exec(
    dir: &Path,
    m: &str,
    command: &[String],
    timeout: Option<u64>,
) -> Result<ExitCode> {
    let run = running(dir)?;
    let script = format!("{}\n", command.join(" "));
    let mut stdout = std::io::stdout();
    let rc = control::exec(&run, m, &script, timeout.map(Duration::from_secs), |b| {
        let _ = stdout.write_all(b);
        let _ = stdout.flush();
    })?;
    Ok(ExitCode::from(rc.clamp(0, 255) as u8))
}

pub(super) fn console_cmd(dir: &Path, m: &str) -> Result<ExitCode> {
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

pub(super) fn dump_domain(
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

pub(super) fn connect(dir: &Path, m: &str, iface: &str, d: &str) -> Result<ExitCode> {
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
