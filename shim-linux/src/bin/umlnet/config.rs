//! `umlnet up`, `umlnet down`, `umlnet plan`: the host side of the virtual networks,
//! from a TOML file (see `contrib/umlnet.example.toml`), set up at boot.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use umlnet_linux::{config, hostup};

/// The config file default.
pub const DEFAULT_CONFIG: &str = "/etc/umlnet/umlnet.toml";

pub const UP_EXAMPLES: &str = "\
Example:
  sudo umlnet up -c /etc/umlnet/umlnet.toml

A file with one TAP for the UML networking page's TUN/TAP example (eth0=tuntap,tap0,,):
  [[tap]]
  name = \"tap0\"
  user = \"uml\"
  address = \"192.168.0.254\"
  guests = [\"192.168.0.253\"]

Lines starting '*' were applied, '=' were already in effect. A second `up` changes nothing.
On a failure, what this run made is undone and the failing step is named (exit status 1).
contrib/umlnet.service runs it at boot.";

pub const DOWN_EXAMPLES: &str = "\
Example:
  sudo umlnet down -c /etc/umlnet/umlnet.toml

Removes exactly what `umlnet up` made for this file (recorded in its state_dir, each step
before it is made), last first, also after an `up` that died half way; what was there
before `up` stays.";

pub const PLAN_EXAMPLES: &str = "\
Example:
  umlnet plan -c contrib/umlnet.example.toml

Prints what `umlnet up` would do as ip/sysctl/uml_switch commands, one a line; steps
already in effect are commented out. Changes nothing and needs no root.";

/// The config file argument shared by up, down and plan.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The config file.
    #[arg(short = 'c', long = "config", value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub file: PathBuf,
}

/// The test hook of `up` (see `hostup::up_interrupted_at`): the point to abort at, from
/// `UMLNET_TEST_ABORT_AT_POINT`, honoured by debug builds only; release builds (what is
/// installed) never read it.
fn abort_at_point() -> Option<usize> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var("UMLNET_TEST_ABORT_AT_POINT")
        .ok()
        .and_then(|v| v.parse().ok())
}

fn load(cmd: &str, args: &ConfigArgs) -> Result<config::HostConfig, ExitCode> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| {
        eprintln!("umlnet {cmd}: {}: {e}", args.file.display());
        ExitCode::from(2)
    })?;
    config::parse(&text).map_err(|e| {
        eprintln!("umlnet {cmd}: {}: {e}", args.file.display());
        ExitCode::from(2)
    })
}

/// Which of the three.
#[derive(Debug, Clone, Copy)]
pub enum Verb {
    /// `up`.
    Up,
    /// `down`.
    Down,
    /// `plan`.
    Plan,
}

/// Runs `umlnet up|down|plan`.
pub fn run(verb: Verb, args: &ConfigArgs) -> ExitCode {
    let name = match verb {
        Verb::Up => "up",
        Verb::Down => "down",
        Verb::Plan => "plan",
    };
    let cfg = match load(name, args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = match verb {
        Verb::Plan => {
            return match hostup::plan(&cfg) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("umlnet plan: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Verb::Up => hostup::up_interrupted_at(&cfg, &args.file, abort_at_point()),
        Verb::Down => hostup::down(&cfg, &args.file),
    };
    match result {
        Ok(r) => {
            print!("{}", r.transcript);
            match verb {
                Verb::Up if r.changed == 0 => println!(
                    "umlnet up: nothing to do: all {} steps of {} are already in effect",
                    r.unchanged,
                    args.file.display()
                ),
                Verb::Up => println!(
                    "umlnet up: {} steps applied, {} already in effect",
                    r.changed, r.unchanged
                ),
                _ if r.changed == 0 => println!("umlnet down: nothing to undo"),
                _ => println!("umlnet down: {} steps undone", r.changed),
            }
            ExitCode::SUCCESS
        }
        Err(f) => {
            print!("{}", f.transcript);
            eprintln!("umlnet {name}: {}: {f}", args.file.display());
            ExitCode::FAILURE
        }
    }
}
