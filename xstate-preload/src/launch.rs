//! Starting a UML kernel so that it runs on this host.
//!
//! Where CPUID says the host's XSAVE image is larger than UML 6.1's, a kernel started
//! through [`KernelLaunch`] gets this library preloaded (see the crate doc) and one more
//! kernel argument, [`GLIBC_NO_AVX512`], which tells the C library of every process in
//! the guest not to use the AVX-512 registers the kernel cannot keep.
//! `docs/running-uml.md` tells the whole story.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The XSAVE image size UML 6.1 saves for each of its processes (`struct _xstate`).
pub const UML_XSTATE_BYTES: u32 = 832;

/// The kernel argument (passed on to init's environment, and from there to every
/// process) that keeps the guest's C library off AVX-512.
pub const GLIBC_NO_AVX512: &str =
    "GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD";

/// The file name of the preload library.
pub const PRELOAD_FILE: &str = "libumlnet_xstate.so";

/// Environment variable naming the preload library explicitly.
pub const PRELOAD_ENV: &str = "UMLNET_XSTATE_PRELOAD";

/// The size in bytes of this host's XSAVE image for the features it enables (CPUID leaf
/// 0xD, sub-leaf 0, EBX), or `None` without XSAVE or off x86-64.
pub fn host_xsave_bytes() -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::__cpuid_count;
        if __cpuid_count(0, 0).eax < 0xd {
            return None;
        }
        // CPUID.1:ECX bit 27 is OSXSAVE: the OS has turned XSAVE on.
        if __cpuid_count(1, 0).ecx & (1 << 27) == 0 {
            return None;
        }
        Some(__cpuid_count(0xd, 0).ebx)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// Whether a UML 6.1 kernel needs the preload library on this host.
pub fn host_needs_shim() -> bool {
    host_xsave_bytes().is_some_and(|n| n > UML_XSTATE_BYTES)
}

/// Why the preload library could not be used: it was not found where it was looked for.
#[derive(Debug)]
pub struct MissingPreload {
    looked: String,
}

impl std::fmt::Display for MissingPreload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "this host's XSAVE area is larger than UML 6.1 can keep, and {PRELOAD_FILE} was not \
             found (looked in: {}); build it with `cargo build -p umlnet-xstate-preload` next to \
             the umlnet binaries, or name it in {PRELOAD_ENV}",
            self.looked
        )
    }
}

impl std::error::Error for MissingPreload {}

/// Finds the preload library: `$UMLNET_XSTATE_PRELOAD`, else beside the running program
/// (or in its `deps/`, where cargo leaves it when it was built as a dependency), else
/// in `../lib/umlnet/` from it.
pub fn find_preload() -> Result<PathBuf, MissingPreload> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os(PRELOAD_ENV) {
        candidates.push(PathBuf::from(p));
    } else if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.push(dir.join(PRELOAD_FILE));
        candidates.push(dir.join("deps").join(PRELOAD_FILE));
        if let Some(up) = dir.parent() {
            candidates.push(up.join("deps").join(PRELOAD_FILE));
            candidates.push(up.join("lib/umlnet").join(PRELOAD_FILE));
        }
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| MissingPreload {
            looked: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// How to start a UML kernel on this host: the preload library to put in `LD_PRELOAD`
/// and the argument to add to its command line, or neither where the host needs none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelLaunch {
    /// The library to preload, if any.
    pub preload: Option<PathBuf>,
    /// Extra kernel arguments.
    pub args: Vec<&'static str>,
}

impl KernelLaunch {
    /// What this host needs (`force`: `Some(true)` always, `Some(false)` never, `None`
    /// as the host's XSAVE size says).
    pub fn for_host(force: Option<bool>) -> Result<KernelLaunch, MissingPreload> {
        if !force.unwrap_or_else(host_needs_shim) {
            return Ok(KernelLaunch::default());
        }
        Ok(KernelLaunch {
            preload: Some(find_preload()?),
            args: vec![GLIBC_NO_AVX512],
        })
    }

    /// Sets `LD_PRELOAD` on `cmd` (after any the environment already has); `cmd` may be
    /// the kernel or a program that execs it (`ip netns exec`).
    pub fn apply_env(&self, cmd: &mut Command) {
        if let Some(lib) = &self.preload {
            let mut value = OsString::from(lib);
            if let Some(old) = std::env::var_os("LD_PRELOAD").filter(|v| !v.is_empty()) {
                value.push(" ");
                value.push(old);
            }
            cmd.env("LD_PRELOAD", value);
        }
    }

    /// The extra kernel arguments that `kernel_args` does not set already.
    pub fn extra_args<'a>(&'a self, kernel_args: &[impl AsRef<OsStr>]) -> Vec<&'a str> {
        self.args
            .iter()
            .copied()
            .filter(|a| {
                let key = a.split_once('=').map_or(*a, |(k, _)| k);
                !kernel_args.iter().any(|k| {
                    k.as_ref()
                        .to_str()
                        .is_some_and(|k| k.split_once('=').is_some_and(|(n, _)| n == key))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn nothing_when_not_forced() {
        assert_eq!(
            KernelLaunch::for_host(Some(false)).unwrap(),
            KernelLaunch::default()
        );
    }

    #[test]
    fn a_user_tunable_wins() {
        let l = KernelLaunch {
            preload: None,
            args: vec![GLIBC_NO_AVX512],
        };
        assert_eq!(l.extra_args(&["mem=96M"]), vec![GLIBC_NO_AVX512]);
        assert!(
            l.extra_args(&["GLIBC_TUNABLES=glibc.malloc.check=3"])
                .is_empty()
        );
    }

    #[test]
    fn ld_preload_keeps_what_was_there() {
        let l = KernelLaunch {
            preload: Some(PathBuf::from("/x/libumlnet_xstate.so")),
            args: vec![],
        };
        let mut cmd = Command::new("true");
        l.apply_env(&mut cmd);
        let v = cmd
            .get_envs()
            .find(|(k, _)| *k == "LD_PRELOAD")
            .and_then(|(_, v)| v)
            .unwrap();
        assert!(v.to_str().unwrap().starts_with("/x/libumlnet_xstate.so"));
    }
}
