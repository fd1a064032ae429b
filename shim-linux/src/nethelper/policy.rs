//! The administrator's policy ([`umlnet_core::policy`]) as the setuid helper reads and
//! applies it.
//!
//! The file is at a path fixed when the helper is built ([`POLICY_PATH`], from the
//! build-time environment variable `UMLNET_POLICY_PATH`, default
//! `/etc/umlnet/uml_net.conf`), never taken from the run-time environment or argv. It
//! and every file it includes must be a regular root-owned file that neither group nor
//! others may write, in directories that are all root-owned and not group/world
//! writable; otherwise every non-root caller is refused. A caller whose real uid is 0
//! is not restricted (and the file is not read). `uml_net --check-policy [FILE]` reads
//! a file with the caller's own rights (privileges are dropped first) and prints what
//! it grants.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use umlnet_core::policy::{
    Ask, Decision, Effect, Line, Rule, Who, decide, device_limit, parse_line,
};

use crate::sys::privilege::{self, Caller};

use super::Refusal;

/// The policy file, fixed at build time.
pub const POLICY_PATH: &str = match option_env!("UMLNET_POLICY_PATH") {
    Some(p) => p,
    None => "/etc/umlnet/uml_net.conf",
};
/// The largest policy file read, in bytes.
pub const POLICY_FILE_MAX: u64 = 64 * 1024;
/// How deep `include`s may nest.
pub const INCLUDE_DEPTH: usize = 8;
/// How many files a policy may have in all.
pub const POLICY_FILES_MAX: usize = 64;

/// The text of a policy: the main file first, then every included file.
#[derive(Debug)]
pub struct PolicyText {
    files: Vec<(PathBuf, String)>,
}

/// A rule and where it was written.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    /// The file.
    pub file: &'a Path,
    /// The line number (from 1).
    pub line: usize,
    /// The rule.
    pub rule: Rule<'a>,
}

/// Why `path` may not be trusted, if it may not: not absolute, not a regular
/// root-owned file, writable by group or others, or in a directory that is not
/// root-owned or is group/world writable.
pub fn untrusted(path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    if !path.is_absolute() {
        return Some(format!("{} is not an absolute path", path.display()));
    }
    if !meta.is_file() {
        return Some(format!("{} is not a regular file", path.display()));
    }
    if meta.uid() != 0 {
        return Some(format!(
            "{} is owned by uid {}, not root: chown root {}",
            path.display(),
            meta.uid(),
            path.display()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "{} may be written by group or others (mode {:o}): chmod go-w {}",
            path.display(),
            meta.mode() & 0o7777,
            path.display()
        ));
    }
    // The directories as written and as they resolve (a symlinked directory is judged
    // by where it leads, and by every directory on the way there).
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    for dir in path
        .ancestors()
        .skip(1)
        .chain(canonical.ancestors().skip(1))
    {
        match std::fs::metadata(dir) {
            Ok(m) if m.uid() == 0 && m.mode() & 0o022 == 0 => {}
            Ok(m) => {
                return Some(format!(
                    "its directory {} is not root-owned or may be written by group or others (uid {}, mode {:o})",
                    dir.display(),
                    m.uid(),
                    m.mode() & 0o7777
                ));
            }
            Err(e) => return Some(format!("its directory {}: {e}", dir.display())),
        }
    }
    None
}

impl PolicyText {
    /// Reads `path` and what it includes, checking each line. With `warnings`, trust
    /// problems (owner, modes) are collected there instead of failing.
    pub fn load(path: &Path, mut warnings: Option<&mut Vec<String>>) -> Result<PolicyText, String> {
        let mut text = PolicyText { files: Vec::new() };
        text.read(path, 0, &mut warnings)?;
        Ok(text)
    }

    fn read(
        &mut self,
        path: &Path,
        depth: usize,
        warnings: &mut Option<&mut Vec<String>>,
    ) -> Result<(), String> {
        if self.files.iter().any(|(p, _)| p == path) {
            return Err(format!(
                "{}: included twice (an include cycle?)",
                path.display()
            ));
        }
        if self.files.len() >= POLICY_FILES_MAX {
            return Err(format!(
                "{}: more than {POLICY_FILES_MAX} policy files",
                path.display()
            ));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| format!("cannot read policy file {}: {e}", path.display()))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(why) = untrusted(path, &meta) {
            match warnings {
                Some(w) if meta.is_file() => {
                    w.push(format!("warning: uml_net would refuse this policy: {why}"))
                }
                _ => return Err(format!("policy file not trusted: {why}")),
            }
        }
        if meta.len() > POLICY_FILE_MAX {
            return Err(format!(
                "{}: larger than {POLICY_FILE_MAX} bytes",
                path.display()
            ));
        }
        let mut body = String::new();
        file.take(POLICY_FILE_MAX)
            .read_to_string(&mut body)
            .map_err(|e| format!("{}: {e} (a policy is UTF-8 text)", path.display()))?;
        let mut includes = Vec::new();
        for (i, line) in body.lines().enumerate() {
            match parse_line(line) {
                Ok(Line::Include(p)) => includes.push(PathBuf::from(p)),
                Ok(_) => {}
                Err(e) => return Err(format!("{}:{}: {e}", path.display(), i + 1)),
            }
        }
        self.files.push((path.to_path_buf(), body));
        for inc in includes {
            if depth + 1 > INCLUDE_DEPTH {
                return Err(format!(
                    "{}: includes nest deeper than {INCLUDE_DEPTH}",
                    inc.display()
                ));
            }
            self.read(&inc, depth + 1, warnings)?;
        }
        Ok(())
    }

    /// Every rule of every file, in the order of the files.
    pub fn rules(&self) -> Vec<Placed<'_>> {
        let mut out = Vec::new();
        for (path, body) in &self.files {
            for (i, line) in body.lines().enumerate() {
                if let Ok(Line::Rule(rule)) = parse_line(line) {
                    out.push(Placed {
                        file: path,
                        line: i + 1,
                        rule,
                    });
                }
            }
        }
        out
    }

    /// How many files were read.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }
}

/// The caller's names as rules use them.
#[derive(Debug, Clone)]
pub struct CallerNames {
    /// Login name (or the uid in decimal, without one).
    pub user: String,
    /// Names of the real gid and the supplementary groups.
    pub groups: Vec<String>,
}

impl CallerNames {
    /// Looks the caller up (before the supplementary groups are dropped).
    pub fn of(caller: &Caller) -> CallerNames {
        use nix::unistd::{Gid, Group, Uid, User};
        let user = User::from_uid(Uid::from_raw(caller.uid))
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| caller.uid.to_string());
        let mut gids = vec![Gid::from_raw(caller.gid)];
        gids.extend(nix::unistd::getgroups().unwrap_or_default());
        let mut groups: Vec<String> = gids
            .into_iter()
            .filter_map(|g| Group::from_gid(g).ok().flatten().map(|g| g.name))
            .collect();
        groups.dedup();
        CallerNames { user, groups }
    }
}

/// The policy as it applies to one caller.
#[derive(Debug)]
pub struct Gatekeeper {
    uid: u32,
    names: CallerNames,
    /// `None` for root: unrestricted.
    policy: Option<PolicyText>,
}

impl Gatekeeper {
    /// For `caller`: root is unrestricted; anyone else needs a trusted policy file.
    pub fn for_caller(caller: &Caller) -> Result<Gatekeeper, Refusal> {
        let names = CallerNames::of(caller);
        if caller.is_root() {
            return Ok(Gatekeeper {
                uid: 0,
                names,
                policy: None,
            });
        }
        let policy = PolicyText::load(Path::new(POLICY_PATH), None).map_err(|e| {
            Refusal(format!(
                "uml_net : refusing user {} (uid {}): {e}; an administrator grants users what uml_net may do in {POLICY_PATH}",
                names.user, caller.uid
            ))
        })?;
        Ok(Gatekeeper {
            uid: caller.uid,
            names,
            policy: Some(policy),
        })
    }

    /// A gatekeeper that allows everything (root, and dry runs that change nothing).
    pub fn unrestricted_for(caller: &Caller) -> Gatekeeper {
        Gatekeeper {
            uid: caller.uid,
            names: CallerNames {
                user: caller.uid.to_string(),
                groups: Vec::new(),
            },
            policy: None,
        }
    }

    /// Whether no policy applies (the caller is root).
    pub fn unrestricted(&self) -> bool {
        self.policy.is_none()
    }

    fn subject(&self) -> String {
        format!("user {} (uid {})", self.names.user, self.uid)
    }

    fn decide(&self, ask: &Ask<'_>) -> Option<(Decision, Vec<Placed<'_>>)> {
        let policy = self.policy.as_ref()?;
        let placed = policy.rules();
        let rules: Vec<Rule<'_>> = placed.iter().map(|p| p.rule).collect();
        let groups: Vec<&str> = self.names.groups.iter().map(String::as_str).collect();
        let who = Who {
            user: &self.names.user,
            groups: &groups,
        };
        Some((decide(&rules, &who, ask), placed))
    }

    /// Whether the policy grants `ask` (always, for root).
    pub fn grants(&self, ask: &Ask<'_>) -> bool {
        self.decide(ask)
            .is_none_or(|(d, _)| matches!(d, Decision::Allowed(_)))
    }

    /// Refuses `ask` unless the policy grants it, with one line naming the policy file
    /// and the rule that is missing (or the rule that denies it).
    pub fn need(&self, ask: &Ask<'_>) -> Result<(), Refusal> {
        let Some((decision, placed)) = self.decide(ask) else {
            return Ok(());
        };
        match decision {
            Decision::Allowed(_) => Ok(()),
            Decision::Denied(i) => Err(Refusal(format!(
                "uml_net : refusing {ask} for {}: denied by {}:{} '{}'",
                self.subject(),
                placed[i].file.display(),
                placed[i].line,
                placed[i].rule
            ))),
            Decision::NoRule => Err(Refusal(format!(
                "uml_net : refusing {ask} for {}: {POLICY_PATH} has no rule 'allow user {} {ask}' (nor one for a group of theirs)",
                self.subject(),
                self.names.user
            ))),
        }
    }

    /// Refuses a new device when the caller already holds as many as the policy allows.
    pub fn need_device(&self, held: usize) -> Result<(), Refusal> {
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        let rules: Vec<Rule<'_>> = policy.rules().iter().map(|p| p.rule).collect();
        let groups: Vec<&str> = self.names.groups.iter().map(String::as_str).collect();
        let who = Who {
            user: &self.names.user,
            groups: &groups,
        };
        let limit = usize::from(device_limit(&rules, &who));
        if held >= limit {
            return Err(Refusal(format!(
                "uml_net : refusing another device for {}: they hold {held} and {POLICY_PATH} allows {limit} (rule 'allow user {} devices N')",
                self.subject(),
                self.names.user
            )));
        }
        Ok(())
    }
}

/// `uml_net --check-policy [FILE]`: drops every privilege, reads FILE (default the
/// fixed path) with the caller's rights, and prints what it grants. Exit status 0 when
/// the file is valid (and, for the fixed path, trusted).
pub fn check_command(args: &[std::ffi::OsString], caller: &Caller) -> i32 {
    if let Err(e) = privilege::drop_all(caller) {
        eprintln!("uml_net : could not drop privileges: {e}");
        return 1;
    }
    if args.len() > 1 {
        eprintln!("uml_net : usage: uml_net --check-policy [FILE]");
        return 2;
    }
    let path = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(POLICY_PATH));
    let mut warnings = Vec::new();
    let explicit = !args.is_empty();
    let text = match PolicyText::load(&path, explicit.then_some(&mut warnings)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("uml_net : {e}");
            return 1;
        }
    };
    let rules = text.rules();
    println!(
        "{}: valid, {} rules in {} file(s); default deny, a matching deny wins; root is not restricted",
        path.display(),
        rules.len(),
        text.file_count()
    );
    for (effect, head) in [(Effect::Allow, "grants:"), (Effect::Deny, "denies:")] {
        let these: Vec<_> = rules.iter().filter(|p| p.rule.effect == effect).collect();
        if these.is_empty() {
            continue;
        }
        println!("{head}");
        for p in these {
            println!("  {}  ({}:{})", p.rule, p.file.display(), p.line);
        }
    }
    if rules.iter().all(|p| p.rule.effect == Effect::Deny) {
        println!("grants: nothing (every non-root caller is refused)");
    }
    for w in &warnings {
        println!("{w}");
    }
    0
}
