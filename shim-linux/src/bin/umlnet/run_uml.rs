//! `umlnet run-uml`: start a UML kernel so that it boots on this host.
//!
//! Debian's UML 6.1 kernel cannot keep its processes' FPU state on a host whose XSAVE
//! area is larger than its own (AVX-512, AMX) and panics at its first process. This
//! command prepares what `umlnet_linux::umlkernel` says the host needs and then becomes
//! the kernel (same PID, arguments and console).

use clap::{Args, ValueEnum};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use umlnet_linux::umlkernel::{self, KernelLaunch};

pub const RUN_UML_EXAMPLES: &str = "\
Examples:
  umlnet run-uml --explain
  umlnet run-uml -- mem=96M root=/dev/root rootfstype=hostfs rootflags=/ rw eth0=daemon,,unix,/tmp/uml.ctl
  umlnet run-uml --kernel ./linux --xstate-shim on -- ubd0=root.img
With the shim, the kernel keeps x87, SSE and AVX state, and its processes are told (through
GLIBC_TUNABLES on the kernel command line) not to use AVX-512. See docs/running-uml.md.";

/// When to use the shim.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum When {
    /// Where the host's XSAVE area is larger than the kernel's (CPUID leaf 0xD).
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
    /// When to preload the XSAVE shim (libumlnet_xstate.so) into the kernel.
    #[arg(long, value_enum, default_value = "auto")]
    xstate_shim: When,
    /// Print whether the shim applies on this host, and why, then exit.
    #[arg(long)]
    explain: bool,
    /// The kernel's command line.
    #[arg(last = true, value_name = "KERNEL ARGS")]
    args: Vec<OsString>,
}

pub fn run(args: &RunUmlArgs) -> ExitCode {
    let force = match args.xstate_shim {
        When::Auto => None,
        When::On => Some(true),
        When::Off => Some(false),
    };
    let launch = match KernelLaunch::for_host(force) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("umlnet run-uml: {e}");
            return ExitCode::from(2);
        }
    };
    if args.explain {
        match umlkernel::host_xsave_bytes() {
            Some(n) => println!(
                "host XSAVE area: {n} bytes; UML 6.1 keeps {} bytes",
                umlkernel::UML_XSTATE_BYTES
            ),
            None => println!("host XSAVE area: none (not x86-64, or XSAVE is off)"),
        }
        match &launch.preload {
            Some(lib) => println!(
                "shim: yes, LD_PRELOAD={} and kernel argument {}",
                lib.display(),
                launch.args.join(" ")
            ),
            None => println!("shim: no"),
        }
        return ExitCode::SUCCESS;
    }
    let mut cmd = Command::new(&args.kernel);
    cmd.args(&args.args).args(launch.extra_args(&args.args));
    launch.apply_env(&mut cmd);
    let err = cmd.exec();
    eprintln!("umlnet run-uml: starting {}: {err}", args.kernel.display());
    ExitCode::from(127)
}
