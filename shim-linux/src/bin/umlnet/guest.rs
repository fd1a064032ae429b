//! `umlnet guest`: a userspace UML-like guest on this host's transports.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use umlnet_linux::guest_host::{GuestHost, GuestOptions};
use umlnet_linux::transport::OpenOptions;

const EXAMPLES: &str = "\
Examples:
  umlnet guest eth0=mcast -c 'ifconfig eth0 192.168.0.253 up' -c 'ping -c 3 192.168.0.254'
  umlnet guest umid=g1 eth0=daemon,,unix,/tmp/uml.ctl --wait
  umlnet guest eth0=tuntap,,,192.168.0.254 --helper /usr/lib/uml/uml_net

Commands: ifconfig, route, arp, ping (net-tools/iputils syntax), sleep SECONDS, echo TEXT,
tcp-recv PORT FILE, tcp-send IP PORT FILE, exit [STATUS]. They run in order: the -c lines,
the script, then stdin (with a prompt on a terminal). The management console listens on
<uml_dir><umid>/mconsole for uml_mconsole (version, config eth<n>=..., remove eth<n>, halt).
Exit status: 0, or the status of the last command that failed.";

/// Run a userspace guest with eth<n>= and vec<n>: devices, as a UML kernel would have them.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct GuestArgs {
    /// Kernel-style arguments: eth<n>=<transport>,<fields>, vec<n>:transport=bess|fd|l2tpv3,<key=value>..., umid=NAME, uml_dir=DIR.
    #[arg(value_name = "KERNEL_ARG")]
    args: Vec<String>,

    /// A command to run (repeatable, in order).
    #[arg(short = 'c', value_name = "CMD")]
    commands: Vec<String>,

    /// A file of commands, one a line, run after the -c commands.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,

    /// The uml_net helper for tuntap, ethertap and slip (default: uml_net on PATH,
    /// then /usr/lib/uml).
    #[arg(long, value_name = "PATH", default_value = "uml_net")]
    helper: PathBuf,

    /// Keep running after the commands and stdin are done, until SIGINT/SIGTERM or
    /// mconsole halt.
    #[arg(long)]
    wait: bool,

    /// Seed for TCP sequence numbers, ports and ping ids (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
}

/// Runs the guest.
pub fn run(args: &GuestArgs) -> ExitCode {
    let mut umid = None;
    let mut uml_dir = None;
    let mut devices = Vec::new();
    for a in &args.args {
        if let Some(v) = a.strip_prefix("umid=") {
            umid = Some(v.to_string());
        } else if let Some(v) = a.strip_prefix("uml_dir=") {
            uml_dir = Some(PathBuf::from(v));
        } else if a.starts_with("eth") || a.starts_with("vec") {
            devices.push(a.clone());
        } else {
            eprintln!(
                "umlnet guest: ignoring '{a}' (only eth<n>=, vec<n>:, umid= and uml_dir= mean anything here)"
            );
        }
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let opts = GuestOptions {
        umid,
        uml_dir,
        open: OpenOptions {
            helper: args.helper.clone(),
        },
        seed,
        wait: args.wait,
        stdin: true,
    };
    let mut host = match GuestHost::new(opts) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("umlnet guest: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "mconsole (version 2) initialized on {}",
        host.mconsole_path().display()
    );
    for d in &devices {
        match host.add_device(d) {
            Ok(text) => print!("{text}"),
            Err(e) => {
                eprintln!("umlnet guest: {d}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for c in &args.commands {
        host.push_command(c.clone());
    }
    if let Some(script) = &args.script {
        match std::fs::read_to_string(script) {
            Ok(text) => text.lines().for_each(|l| host.push_command(l)),
            Err(e) => {
                eprintln!("umlnet guest: --script {}: {e}", script.display());
                return ExitCode::from(2);
            }
        }
    }
    match host.run() {
        Ok(status) => ExitCode::from(u8::try_from(status).unwrap_or(1)),
        Err(e) => {
            eprintln!("umlnet guest: {e}");
            ExitCode::from(1)
        }
    }
}
