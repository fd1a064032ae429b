//! `umlnet run-uml`: start a UML kernel so that it boots on this host.
//!
//! Debian's UML 6.1 kernel cannot save its processes' FPU state on a host whose XSAVE
//! area is larger than its own buffer (AVX-512, AMX): it panics at its first user
//! process. This command installs the fallback of `umlnet_linux::sys::xstate` where the
//! host needs it and then becomes the kernel (same PID, same arguments, same console).

use clap::{Args, ValueEnum};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use umlnet_linux::sys::xstate;

pub const RUN_UML_EXAMPLES: &str = "\
Examples:
  umlnet run-uml -- mem=96M root=/dev/root rootfstype=hostfs rootflags=/ rw eth0=daemon,,unix,/tmp/uml.ctl
  umlnet run-uml --kernel ./linux --fxsave-fallback on -- ubd0=root.img
The fallback makes UML save only the 512-byte FXSAVE area of its processes, and it sets
no_new_privs when not root: a setuid uml_net started by that kernel then runs without
root (use a tunctl-made TAP device, eth0=tuntap,<tap>, instead).";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Fallback {
    /// Only where the host's XSAVE area is larger than the kernel's (CPUID 0xD).
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

#[derive(Debug, Args)]
pub struct RunUmlArgs {
    /// The UML kernel to start (looked up on PATH).
    #[arg(long, value_name = "PATH", default_value = "linux.uml")]
    kernel: PathBuf,
    /// When to hide the host's XSAVE regset from the kernel so that it falls back to
    /// FXSAVE.
    #[arg(long, value_enum, default_value = "auto")]
    fxsave_fallback: Fallback,
    /// Print whether the fallback applies on this host, and why, then exit.
    #[arg(long)]
    explain: bool,
    /// The kernel's command line.
    #[arg(last = true, value_name = "KERNEL ARGS")]
    args: Vec<OsString>,
}

pub fn run(args: &RunUmlArgs) -> ExitCode {
    let force = match args.fxsave_fallback {
        Fallback::Auto => None,
        Fallback::On => Some(true),
        Fallback::Off => Some(false),
    };
    if args.explain {
        let host = xstate::host_xsave_bytes();
        let applies = force.unwrap_or_else(xstate::uml_needs_fxsave_fallback);
        match host {
            Some(n) => println!(
                "host XSAVE area: {n} bytes; UML 6.1 saves {} bytes",
                xstate::UML_XSTATE_BYTES
            ),
            None => println!("host XSAVE area: none (not x86-64, or XSAVE is off)"),
        }
        println!("fallback to FXSAVE: {}", if applies { "yes" } else { "no" });
        return ExitCode::SUCCESS;
    }
    let mut cmd = Command::new(&args.kernel);
    cmd.args(&args.args);
    xstate::apply_fxsave_fallback(&mut cmd, force);
    let err = cmd.exec();
    eprintln!("umlnet run-uml: starting {}: {err}", args.kernel.display());
    ExitCode::from(127)
}
