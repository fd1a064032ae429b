//! `umlnet lab`: Netkit-style labs of real UML kernels (`docs/labs.md`). This module
//! holds the command line and `check`; `start` boots a lab, `stop` takes it down, and
//! `inspect` looks into a running one (status, exec, console, dump, connect).

mod inspect;
mod start;
mod stop;

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

use inspect::{connect, console_cmd, dump_domain, exec, status};
use start::start;
use stop::{crash, stop};

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
