//! The run directory of a lab: its sockets, process ids, logs and the per-machine
//! directories the machines share with the host.
//!
//! ```text
//! /tmp/umlnet-lab-<uid>/<lab name>-<hash of the lab path>/
//!   lab                        the lab directory this run belongs to
//!   domains/<D>.ctl .mgmt      the switch of collision domain D: control and console
//!   domains/<D>.pid .log
//!   machines/<M>/              mounted in machine M at /run/umlnet (init.sh, boot.log,
//!                              state, cmd/, out/)
//!   machines/<M>.pid .log      its kernel's process id and console output
//!   uml/<M>/mconsole           its kernel's management console (uml_dir)
//! ```
//!
//! `umlnet lab stop` removes it; `umlnet lab start` removes a stale one left by a crash
//! after checking that none of its processes still runs.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Environment variable that replaces the base directory (`/tmp/umlnet-lab-<uid>`).
pub const RUN_BASE_ENV: &str = "UMLNET_LAB_RUN";

/// A lab's run directory (which may not exist yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

/// FNV-1a, 64 bits: a short stable name for a lab's path.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl RunDir {
    /// The run directory of the lab at `lab_dir` (an absolute, canonical path).
    pub fn for_lab(lab_dir: &Path) -> RunDir {
        let base = std::env::var_os(RUN_BASE_ENV).map_or_else(
            || PathBuf::from(format!("/tmp/umlnet-lab-{}", nix::unistd::geteuid())),
            PathBuf::from,
        );
        let name: String = lab_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lab".into())
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .take(24)
            .collect();
        let hash = fnv1a(lab_dir.as_os_str().as_encoded_bytes()) as u32;
        RunDir {
            root: base.join(format!("{name}-{hash:08x}")),
        }
    }

    /// A run directory at an explicit place.
    pub fn at(root: PathBuf) -> RunDir {
        RunDir { root }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether it exists (a lab was started and not stopped).
    pub fn exists(&self) -> bool {
        self.root.join("lab").exists()
    }

    /// Creates it (and its base, private to this user) for the lab at `lab_dir`.
    pub fn create(&self, lab_dir: &Path) -> io::Result<()> {
        if let Some(base) = self.root.parent() {
            match std::fs::DirBuilder::new().mode(0o700).create(base) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let meta = std::fs::symlink_metadata(base)?;
                    if !meta.is_dir() || meta.uid() != nix::unistd::geteuid().as_raw() {
                        return Err(io::Error::new(
                            io::ErrorKind::PermissionDenied,
                            format!(
                                "{} is not a directory of this user; remove it or set {RUN_BASE_ENV}",
                                base.display()
                            ),
                        ));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let mut b = std::fs::DirBuilder::new();
        b.mode(0o700).recursive(true);
        for d in ["domains", "machines", "uml"] {
            b.create(self.root.join(d))?;
        }
        std::fs::write(
            self.root.join("lab"),
            lab_dir.as_os_str().as_encoded_bytes(),
        )
    }

    /// Removes it and everything in it.
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    /// The control socket of domain `d`'s switch.
    pub fn domain_ctl(&self, d: &str) -> PathBuf {
        self.root.join("domains").join(format!("{d}.ctl"))
    }

    /// The console socket of domain `d`'s switch.
    pub fn domain_mgmt(&self, d: &str) -> PathBuf {
        self.root.join("domains").join(format!("{d}.mgmt"))
    }

    /// A file of domain `d` with extension `ext` (`pid`, `log`).
    pub fn domain_file(&self, d: &str, ext: &str) -> PathBuf {
        self.root.join("domains").join(format!("{d}.{ext}"))
    }

    /// The domains that have a switch process recorded, in name order.
    pub fn domains(&self) -> Vec<String> {
        self.names("domains", ".pid")
    }

    /// The name of the TAP device of the lab's tap uplink (`umlab` and 8 hex digits).
    pub fn tap_device(&self) -> String {
        format!(
            "umlab{:08x}",
            fnv1a(self.root.as_os_str().as_encoded_bytes()) as u32
        )
    }

    /// The directory machine `m` mounts at `/run/umlnet`.
    pub fn machine_dir(&self, m: &str) -> PathBuf {
        self.root.join("machines").join(m)
    }

    /// A file of machine `m` beside its directory (`pid`, `log`).
    pub fn machine_file(&self, m: &str, ext: &str) -> PathBuf {
        self.root.join("machines").join(format!("{m}.{ext}"))
    }

    /// The machines that have a kernel recorded, in name order.
    pub fn machines(&self) -> Vec<String> {
        self.names("machines", ".pid")
    }

    /// The `uml_dir=` given to the kernels.
    pub fn uml_dir(&self) -> PathBuf {
        self.root.join("uml")
    }

    /// Machine `m`'s mconsole socket.
    pub fn mconsole(&self, m: &str) -> PathBuf {
        self.root.join("uml").join(m).join("mconsole")
    }

    fn names(&self, sub: &str, suffix: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root.join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(suffix)
                    .map(str::to_string)
            })
            .collect();
        v.sort();
        v
    }

    /// The process recorded in `pid_file`, if it still runs and belongs to this run
    /// directory (its command line names the directory), so a reused pid is never
    /// taken for ours.
    pub fn live_pid(&self, pid_file: &Path) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let me = self.root.as_os_str().as_encoded_bytes();
        cmdline.windows(me.len()).any(|w| w == me).then_some(pid)
    }

    /// Every recorded process that still runs.
    pub fn live_processes(&self) -> Vec<(String, i32)> {
        let mut v = Vec::new();
        for d in self.domains() {
            if let Some(p) = self.live_pid(&self.domain_file(&d, "pid")) {
                v.push((format!("domain {d}"), p));
            }
        }
        for m in self.machines() {
            if let Some(p) = self.live_pid(&self.machine_file(&m, "pid")) {
                v.push((format!("machine {m}"), p));
            }
        }
        v
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn one_lab_one_directory() {
        let a = RunDir::for_lab(Path::new("/home/u/labs/two-lans"));
        let b = RunDir::for_lab(Path::new("/home/u/other/two-lans"));
        assert_ne!(a, b);
        assert_eq!(a, RunDir::for_lab(Path::new("/home/u/labs/two-lans")));
        let name = a.root().file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("two-lans-"), "{name}");
        // Socket paths must fit in sockaddr_un (108 bytes).
        assert!(
            a.mconsole("a-machine-name-of-32-characters!")
                .as_os_str()
                .len()
                < 108
        );
    }

    #[test]
    fn create_list_remove() {
        let base = std::env::temp_dir().join(format!("umlnet-rundir-test-{}", std::process::id()));
        let r = RunDir::at(base.join("lab-1"));
        r.create(Path::new("/somewhere")).unwrap();
        assert!(r.exists());
        std::fs::write(r.machine_file("pc1", "pid"), "1").unwrap();
        std::fs::write(r.domain_file("A", "pid"), "1").unwrap();
        assert_eq!(r.machines(), ["pc1"]);
        assert_eq!(r.domains(), ["A"]);
        // pid 1 is not ours: its command line does not name the run directory.
        assert_eq!(r.live_pid(&r.machine_file("pc1", "pid")), None);
        r.remove().unwrap();
        assert!(!r.exists());
        std::fs::remove_dir_all(base).unwrap();
    }
}
