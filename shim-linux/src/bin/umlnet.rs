//! `umlnet`: the umbrella tool. Each job is a subcommand (`umlnet check …`, more to come).
#![deny(unsafe_code)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[path = "umlnet/bench.rs"]
mod bench;
#[path = "umlnet/check.rs"]
mod check;
#[path = "umlnet/config.rs"]
mod config;
#[path = "umlnet/demo.rs"]
mod demo;
#[path = "umlnet/docs.rs"]
mod docs;
#[path = "umlnet/guest.rs"]
mod guest;
#[path = "umlnet/lab/mod.rs"]
mod lab;
#[path = "umlnet/run_uml.rs"]
mod run_uml;

/// Every subcommand with an example to paste (`umlnet --help`).
const EXAMPLES: &str = "\
Examples (one per command; `umlnet <command> --help` for more):
  umlnet demo                                   # first run: a switch, two guests, ping, a page
  umlnet check eth0=tuntap,,,192.168.0.254      # what a UML's eth<n>= argument will do
  umlnet guest eth0=mcast -c 'ifconfig eth0 192.168.0.253 up' -c 'ping -c 3 192.168.0.254'
  umlnet plan -c contrib/umlnet.example.toml    # the host setup a config file asks for
  sudo umlnet up -c /etc/umlnet/umlnet.toml     # do it (idempotent; contrib/umlnet.service)
  sudo umlnet down -c /etc/umlnet/umlnet.toml   # undo exactly what up made
  umlnet switch-status /tmp/uml.mgmt            # a running `uml_switch -mgmt /tmp/uml.mgmt`
  umlnet switch-status --json /tmp/uml.mgmt     # the same as JSON: ports, addresses, counters
  sudo umlnet bench switch                      # our uml_switch vs the originals, side by side
  umlnet lab start contrib/labs/two-lans       # a Netkit-style lab of UML kernels (docs/labs.md)
  umlnet run-uml -- mem=96M eth0=daemon,,unix,/tmp/uml.ctl  # boot linux.uml on any x86-64 host
  linux.uml ... eth0=slirp,,umlnet,slip-bridge,--local,192.168.0.254,--peer,192.168.0.253
  source <(umlnet completions bash)             # completions for bash (also zsh, fish)
  umlnet manpages ~/.local/share/man/man1       # man pages, after `cargo install`";

/// umlnet: User-Mode Linux networking, rebuilt.
#[derive(Debug, Parser)]
#[command(name = "umlnet", version, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Check UML kernel network arguments (eth<n>=…) before booting: what each device
    /// will be, its defaults, warnings, and errors naming the field.
    Check(check::CheckArgs),
    /// Run a userspace guest on eth<n>= devices (tuntap, ethertap, mcast, daemon, slip),
    /// with ifconfig/route/arp/ping and a management console for uml_mconsole.
    Guest(guest::GuestArgs),
    /// Bridge SLIP on stdin/stdout to a host TUN device: the program for the kernel's
    /// slirp transport (eth0=slirp,,umlnet,slip-bridge,--local,<host>,--peer,<guest>).
    #[command(after_help = SLIP_BRIDGE_EXAMPLES)]
    SlipBridge(umlnet_linux::slipbridge::BridgeArgs),
    /// Show a running uml_switch's counters, ports and learned addresses through its
    /// console socket (uml_switch -mgmt <path>).
    #[command(after_help = SWITCH_STATUS_EXAMPLES)]
    SwitchStatus {
        /// The console socket given to `uml_switch -mgmt`.
        path: std::path::PathBuf,
        /// Print one JSON object (mode, counters, ports, addresses) instead of the
        /// console's text.
        #[arg(long)]
        json: bool,
    },
    /// Set up the host side of the virtual networks in a config file: persistent TAP
    /// devices, host addresses, routes, proxy ARP, published ARP entries, forwarding,
    /// switches. Idempotent; undone on a failure half way.
    #[command(after_help = config::UP_EXAMPLES)]
    Up(config::ConfigArgs),
    /// Remove exactly what `umlnet up` made for a config file.
    #[command(after_help = config::DOWN_EXAMPLES)]
    Down(config::ConfigArgs),
    /// Print what `umlnet up` would do, as commands (changes nothing).
    #[command(after_help = config::PLAN_EXAMPLES)]
    Plan(config::ConfigArgs),
    /// The first run: our switch and two guests on a temporary socket; one pings the
    /// other and fetches a page over TCP. No root, no setup.
    Demo(demo::DemoArgs),
    /// Run a benchmark: `switch` (our uml_switch vs the original uml_switch and
    /// vde_switch, side by side, with ratios) or `sim` (the simulator's throughput).
    #[command(after_help = bench::BENCH_EXAMPLES)]
    Bench(bench::BenchArgs),
    /// Start a UML kernel (linux.uml) with the given command line, first making it fall
    /// back to FXSAVE on hosts whose XSAVE area is too large for it (AVX-512, AMX).
    #[command(after_help = run_uml::RUN_UML_EXAMPLES)]
    RunUml(run_uml::RunUmlArgs),
    /// Netkit-style labs: start, stop, inspect and capture a directory of UML kernels
    /// on collision domains (lab.conf, lab.dep, MACHINE.startup).
    Lab(lab::LabArgs),
    /// Write the shell completion script for bash, zsh or fish to stdout.
    #[command(after_help = docs::COMPLETIONS_EXAMPLES)]
    Completions(docs::CompletionsArgs),
    /// Write umlnet's man pages (umlnet.1, umlnet-<command>.1) into a directory, e.g.
    /// ~/.local/share/man/man1 after `cargo install` (the Debian package has them).
    Manpages(docs::ManpagesArgs),
}

const SWITCH_STATUS_EXAMPLES: &str = "\
Examples:
  uml_switch -unix /tmp/uml.ctl -mgmt /tmp/uml.mgmt &
  umlnet switch-status /tmp/uml.mgmt
  umlnet switch-status --json /tmp/uml.mgmt | jq '.ports[] | {id, kind, rx_frames}'";

const SLIP_BRIDGE_EXAMPLES: &str = "\
Examples (the real UML kernel runs it through its slirp transport; needs root on the host):
  linux.uml ... eth0=slirp,,umlnet,slip-bridge,--local,192.168.0.254,--peer,192.168.0.253
  # then inside the guest: ifconfig eth0 192.168.0.253 up; ping 192.168.0.254";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Guest(args) => guest::run(&args),
        Command::Up(args) => config::run(config::Verb::Up, &args),
        Command::Down(args) => config::run(config::Verb::Down, &args),
        Command::Plan(args) => config::run(config::Verb::Plan, &args),
        Command::Demo(args) => demo::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::RunUml(args) => run_uml::run(&args),
        Command::Lab(args) => lab::run(args),
        Command::SlipBridge(args) => umlnet_linux::slipbridge::main(&args),
        Command::SwitchStatus { path, json } => switch_status(&path, json),
        Command::Completions(args) => docs::completions(&args),
        Command::Manpages(args) => docs::manpages(&args),
    }
}

/// `umlnet switch-status [--json] <path>`.
fn switch_status(path: &std::path::Path, json: bool) -> ExitCode {
    let shown = umlnet_linux::switchd::switch_status(path)
        .map_err(anyhow::Error::from)
        .and_then(|text| {
            if json {
                let status = umlnet_linux::switch_status::parse(&text)?;
                Ok(status.to_json() + "\n")
            } else {
                Ok(text)
            }
        });
    match shown {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("umlnet switch-status: {e:#}");
            ExitCode::FAILURE
        }
    }
}
