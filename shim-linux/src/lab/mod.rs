//! Netkit-style labs: a directory describing machines (real UML kernels) and the
//! collision domains (our switches) that join them, started and stopped as one.
//!
//! A lab directory holds `lab.conf` ([`conf`]), optionally `lab.dep` ([`dep`]), a
//! directory `MACHINE/` of files copied into each machine, `MACHINE.startup` and
//! `MACHINE.shutdown` scripts, and `shared/`, `shared.startup`, `shared.shutdown` for
//! every machine. [`Lab::load`] reads and checks it; [`rundir`] keeps the running lab's
//! sockets and state, [`domain`] runs the switches, [`machine`] boots the kernels,
//! [`control`] runs commands in them, [`console`] attaches to their shells and [`dump`]
//! captures a domain. `docs/labs.md`
//! describes the format.

pub mod conf;
pub mod console;
pub mod control;
pub mod dep;
pub mod domain;
pub mod dump;
pub mod machine;
pub mod rundir;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use conf::{LabConf, MachineConf};
use dep::LabDeps;

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The lab cannot start until it is fixed.
    Error,
    /// Accepted, but probably not what was meant.
    Warning,
}

/// A problem in a lab file, with the file and line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user knows it (`lab.conf`, `lab.dep`, or a path).
    pub file: String,
    /// The line, from 1.
    pub line: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong and, where there is one, the fix.
    pub message: String,
}

impl Diagnostic {
    /// An error at `file:line`.
    pub fn error(file: &str, line: usize, message: String) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            line,
            severity: Severity::Error,
            message,
        }
    }

    /// A warning at `file:line`.
    pub fn warning(file: &str, line: usize, message: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, line, message)
        }
    }

    /// Whether it stops the lab from starting.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}: {kind}: {}", self.file, self.line, self.message)
    }
}

/// Why a lab could not be loaded: the diagnostics (at least one is an error).
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct LoadError(pub Vec<Diagnostic>);

/// A lab directory, read and checked.
#[derive(Debug, Clone)]
pub struct Lab {
    /// The lab directory (absolute).
    pub dir: PathBuf,
    /// `lab.conf`.
    pub conf: LabConf,
    /// `lab.dep` (empty without the file).
    pub deps: LabDeps,
    /// The lab's machines, in name order (or `LAB_MACHINES` order).
    pub machines: Vec<String>,
    /// Warnings found while loading.
    pub warnings: Vec<Diagnostic>,
}

/// Directory names in a lab that are not machines.
fn not_a_machine(name: &str) -> bool {
    name == "shared" || name.starts_with(['.', '_']) || name == "CVS"
}

impl Lab {
    /// Reads `dir/lab.conf`, `dir/lab.dep` and the directory itself. Machines are those
    /// of `LAB_MACHINES` when given, else every machine `lab.conf` names, every
    /// directory (except `shared/`, hidden ones and `_*`) and every `X.startup`.
    pub fn load(dir: &Path) -> Result<Lab, LoadError> {
        let fail = |file: &str, msg: String| LoadError(vec![Diagnostic::error(file, 1, msg)]);
        let dir = std::fs::canonicalize(dir).map_err(|e| {
            fail(
                &dir.display().to_string(),
                format!("cannot open the lab directory: {e}"),
            )
        })?;
        let conf_path = dir.join("lab.conf");
        let conf_name = conf_path.display().to_string();
        let text = match std::fs::read_to_string(&conf_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(fail(&conf_name, format!("cannot read it: {e}"))),
        };
        let (conf, mut diags) = conf::parse(&conf_name, &text);
        let mut found: BTreeSet<String> = conf.machines.keys().cloned().collect();
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            fail(
                &dir.display().to_string(),
                format!("cannot list the lab directory: {e}"),
            )
        })?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            let machine = if is_dir {
                Some(name.as_str())
            } else {
                name.strip_suffix(".startup")
            };
            if let Some(m) = machine.filter(|m| !not_a_machine(m) && conf::valid_name(m)) {
                found.insert(m.to_string());
            }
        }
        let machines: Vec<String> = match &conf.meta.machines {
            Some(list) => {
                for m in conf.machines.keys().filter(|m| !list.contains(m)) {
                    diags.push(Diagnostic::warning(
                        &conf_name,
                        conf.machines[m].line,
                        format!("{m} is not in LAB_MACHINES, so it will not start"),
                    ));
                }
                list.clone()
            }
            None => found.iter().cloned().collect(),
        };
        if machines.is_empty() && !diags.iter().any(Diagnostic::is_error) {
            diags.push(Diagnostic::error(
                &conf_name,
                1,
                "the lab has no machines: add lines such as pc1[0]=A to lab.conf".into(),
            ));
        }
        let mut tap_host: Option<(std::net::Ipv4Addr, usize)> = None;
        for m in &machines {
            for i in conf
                .machines
                .get(m)
                .into_iter()
                .flat_map(|c| c.ifaces.values())
            {
                let Some((host, _)) = i.tap else { continue };
                match tap_host {
                    None => tap_host = Some((host, i.line)),
                    Some((h, line)) if h != host => diags.push(Diagnostic::error(
                        &conf_name,
                        i.line,
                        format!(
                            "every tap uplink of a lab has the same host address: {h} on line \
                             {line}, {host} here"
                        ),
                    )),
                    Some(_) => {}
                }
            }
        }
        for d in &conf.switched {
            let used = machines.iter().any(|m| {
                conf.machines
                    .get(m)
                    .is_some_and(|c| c.ifaces.values().any(|i| &i.domain == d))
            });
            if !used {
                diags.push(Diagnostic::warning(
                    &conf_name,
                    text.lines()
                        .position(|l| l.trim_start().starts_with("LAB_SWITCHED"))
                        .map_or(1, |i| i + 1),
                    format!("LAB_SWITCHED names {d}, which no machine of the lab uses"),
                ));
            }
        }
        let dep_path = dir.join("lab.dep");
        let deps = match std::fs::read_to_string(&dep_path) {
            Ok(t) => {
                let set = machines.iter().cloned().collect();
                let (deps, d) = dep::parse(&dep_path.display().to_string(), &t, &set);
                diags.extend(d);
                deps
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LabDeps::default(),
            Err(e) => {
                diags.push(Diagnostic::error(
                    &dep_path.display().to_string(),
                    1,
                    format!("cannot read it: {e}"),
                ));
                LabDeps::default()
            }
        };
        if diags.iter().any(Diagnostic::is_error) {
            return Err(LoadError(diags));
        }
        Ok(Lab {
            dir,
            conf,
            deps,
            machines,
            warnings: diags,
        })
    }

    /// What `lab.conf` says about `machine` (nothing, for a machine that only has a
    /// directory or a startup script).
    pub fn machine(&self, machine: &str) -> MachineConf {
        self.conf.machines.get(machine).cloned().unwrap_or_default()
    }

    /// The collision domains the lab's machines use.
    pub fn domains(&self) -> BTreeSet<String> {
        self.machines
            .iter()
            .flat_map(|m| self.machine(m).ifaces.into_values().map(|i| i.domain))
            .collect()
    }

    /// The host's address on the lab's tap uplink, if any machine has one.
    pub fn tap_host(&self) -> Option<std::net::Ipv4Addr> {
        self.machines
            .iter()
            .flat_map(|m| self.machine(m).ifaces.into_values())
            .find_map(|i| i.tap.map(|(h, _)| h))
    }

    /// The lab's name: its directory's name.
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lab".into())
    }
}

/// The fuzz target's entry: `lab.conf` text, and `lab.dep` text after a NUL byte.
/// Checks that diagnostics point inside the files and that a canonical `lab.conf`
/// reads back unchanged.
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (conf_text, dep_text) = text.split_once('\0').unwrap_or((&text, ""));
    let (conf, diags) = conf::parse("lab.conf", conf_text);
    let lines = conf_text.lines().count();
    for d in &diags {
        assert!(d.line >= 1 && d.line <= lines, "{d}");
    }
    if !diags.iter().any(Diagnostic::is_error) {
        let printed = conf.to_string();
        let (again, d2) = conf::parse("lab.conf", &printed);
        assert!(d2.is_empty(), "{printed}: {d2:?}");
        assert_eq!(again.to_string(), printed);
    }
    let machines = conf.machines.keys().cloned().collect();
    let (deps, diags) = dep::parse("lab.dep", dep_text, &machines);
    let lines = dep_text.lines().count().max(1);
    for d in &diags {
        assert!(d.line >= 1 && d.line <= lines, "{d}");
    }
    if diags.is_empty() {
        let all: Vec<String> = conf.machines.keys().cloned().collect();
        let mut up = BTreeSet::new();
        for _ in 0..=all.len() {
            let next = deps.startable(&all, &up, &up);
            up.extend(next);
        }
        assert_eq!(
            up.len(),
            all.len(),
            "an acyclic lab.dep starts every machine"
        );
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn check_names_file_and_line() {
        let dir = std::env::temp_dir().join(format!("umlnet-lab-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("lab.conf"),
            "pc1[0]=A\n\npc2[0]=A/ff:ff:ff:ff:ff:ff\n",
        )
        .unwrap();
        std::fs::write(dir.join("lab.dep"), "pc1: pc3\n").unwrap();
        let e = Lab::load(&dir).unwrap_err();
        let text = e.to_string();
        let canonical = dir.canonicalize().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let conf = canonical.join("lab.conf");
        let dep = canonical.join("lab.dep");
        assert!(
            text.contains(&format!("{}:3: error: pc2[0]: MAC address", conf.display())),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "{}:1: error: 'pc3' is not a machine",
                dep.display()
            )),
            "{text}"
        );
    }

    #[test]
    fn machines_come_from_conf_directories_and_startup_files() {
        let dir = std::env::temp_dir().join(format!("umlnet-lab-machines-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pc2/etc")).unwrap();
        std::fs::create_dir_all(dir.join("shared")).unwrap();
        std::fs::create_dir_all(dir.join("_test")).unwrap();
        std::fs::write(dir.join("lab.conf"), "pc1[0]=A\n").unwrap();
        std::fs::write(dir.join("pc3.startup"), "true\n").unwrap();
        std::fs::write(dir.join("shared.startup"), "true\n").unwrap();
        let lab = Lab::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(lab.machines, ["pc1", "pc2", "pc3"]);
        assert_eq!(lab.domains().into_iter().collect::<Vec<_>>(), ["A"]);
    }

    proptest! {
        /// The fuzz target's checks, on text made of lab.conf and lab.dep pieces.
        #[test]
        fn fuzz_entry_holds_on_lab_like_text(
            text in "((pc[0-3]|r1|LAB_[A-Z]{1,4}|x y)(\\[([0-9]{1,2}|mem|kernel|append|ipv6)\\])?=[\"']?[A-Ca-c0-9/:. #]{0,20}[\"']?\n){0,6}(\u{0}((pc[0-3]|r1)?:( pc[0-3]| r1){0,3}\n){0,4})?"
        ) {
            fuzz_one(text.as_bytes());
        }
    }
}
