//! `tunctl`: persistent TAP devices for a user, a drop-in for the uml-utilities tool
//! (docs/protocols.md §7).
//!
//! Same flags (getopt `bd:f:t:u:g:`), same messages where the original's were right:
//! `Set 'tap0' persistent and owned by uid 1000`, `Set 'tap0' nonpersistent`, the usage
//! text, `'x' is neither a username nor a numeric uid.`. Clearer where they were wrong:
//!
//! * `-d <name>` on a device that does not exist creates and drops it and says
//!   "nonpersistent" in the original; here it is `tunctl: no TAP device '<name>'`;
//!   on a device that is not a TAP it refuses;
//! * owner and group errors are named after their own ioctl (`TUNSETOWNER`,
//!   `TUNSETGROUP`), not all `TUNSETPERSIST`, and a device made persistent before such
//!   an error is made non-persistent again, so a failed create leaves nothing behind;
//! * a bad device name is refused before the kernel sees it.

use std::fmt::Write as _;
use std::path::Path;

use crate::sys::netlink::Rtnl;
use crate::sys::tun::{Tap, TunMode};

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-b`: print only the device name.
    pub brief: bool,
    /// `-d <name>`: make `<name>` non-persistent (delete it).
    pub delete: Option<String>,
    /// `-f <clone device>`.
    pub clone: String,
    /// `-t <name>`: the name to create (empty: the kernel picks `tap%d`).
    pub name: String,
    /// `-u <owner>`.
    pub owner: Option<u32>,
    /// `-g <group>`.
    pub group: Option<u32>,
}

/// The usage text (stderr), as the original prints it.
pub fn usage(argv0: &str) -> String {
    format!(
        "Create: {argv0} [-b] [-u owner] [-g group] [-t device-name] [-f tun-clone-device]\n\
         Delete: {argv0} -d device-name [-f tun-clone-device]\n\n\
         The default tun clone device is /dev/net/tun - some systems use\n\
         /dev/misc/net/tun instead\n\n\
         -b will result in brief output (just the device name)\n"
    )
}

/// A command line that cannot run: the lines for stderr (ending in the usage text
/// where the original shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

fn numeric(s: &str) -> Option<u32> {
    // strtol(…, 0) over the whole string, as the original: decimal, 0x hex, 0 octal.
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

fn user_id(s: &str) -> Option<u32> {
    match nix::unistd::User::from_name(s) {
        Ok(Some(u)) => Some(u.uid.as_raw()),
        _ => numeric(s),
    }
}

fn group_id(s: &str) -> Option<u32> {
    match nix::unistd::Group::from_name(s) {
        Ok(Some(g)) => Some(g.gid.as_raw()),
        _ => numeric(s),
    }
}

/// Parses the arguments (without `argv[0]`) with getopt's rules for `bd:f:t:u:g:`:
/// flags may be bundled (`-bt tap0`), an option's value may be glued (`-ttap0`) or
/// the next argument, `--` ends the options. No positional argument is accepted.
pub fn parse(argv0: &str, args: &[String]) -> Result<Options, UsageError> {
    let mut o = Options {
        brief: false,
        delete: None,
        clone: "/dev/net/tun".to_string(),
        name: String::new(),
        owner: None,
        group: None,
    };
    let usage_err = |first: String| UsageError(first + &usage(argv0));
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            break;
        }
        let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
            // A positional argument: the original stops option parsing and shows usage.
            return Err(usage_err(String::new()));
        };
        for (pos, c) in flags.char_indices() {
            if c == 'b' {
                o.brief = true;
                continue;
            }
            if !"dftug".contains(c) {
                return Err(usage_err(format!("{argv0}: invalid option -- '{c}'\n")));
            }
            let glued = &flags[pos + c.len_utf8()..];
            let value = if !glued.is_empty() {
                glued.to_string()
            } else if i < args.len() {
                i += 1;
                args[i - 1].clone()
            } else {
                return Err(usage_err(format!(
                    "{argv0}: option requires an argument -- '{c}'\n"
                )));
            };
            match c {
                'd' => o.delete = Some(value),
                'f' => o.clone = value,
                't' => o.name = value,
                'u' => {
                    o.owner = Some(user_id(&value).ok_or_else(|| {
                        usage_err(format!(
                            "'{value}' is neither a username nor a numeric uid.\n"
                        ))
                    })?)
                }
                _ => {
                    o.group = Some(group_id(&value).ok_or_else(|| {
                        usage_err(format!(
                            "'{value}' is neither a groupname nor a numeric group.\n"
                        ))
                    })?)
                }
            }
            break;
        }
    }
    if i < args.len() {
        return Err(usage_err(String::new()));
    }
    for name in o
        .delete
        .iter()
        .chain(Some(&o.name).filter(|n| !n.is_empty()))
    {
        if umlnet_core::host::if_name(name).is_err() || name.contains('%') && o.delete.is_some() {
            return Err(UsageError(format!(
                "{argv0}: '{}' is not a valid interface name (1 to 15 characters, no '/', ':' or spaces)\n",
                name.escape_debug()
            )));
        }
    }
    Ok(o)
}

/// An error as `perror` prints it: the C library's text, without Rust's
/// `(os error N)`.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match e.raw_os_error() {
        Some(n) => s
            .strip_suffix(&format!(" (os error {n})"))
            .unwrap_or(&s)
            .to_string(),
        None => s,
    }
}

/// Runs the parsed request. Returns the text for stdout, or the error line for stderr.
pub fn run(o: &Options) -> Result<String, String> {
    let clone = Path::new(&o.clone);
    let open = |name: &str| {
        Tap::open_device(clone, name, TunMode::Tap, false).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidInput
                || e.raw_os_error() == Some(libc::ENOENT)
                || e.raw_os_error() == Some(libc::EACCES)
                || e.raw_os_error() == Some(libc::ELOOP)
            {
                format!("Failed to open '{}' : {}", o.clone, strerror(&e))
            } else {
                format!("TUNSETIFF: {}", strerror(&e))
            }
        })
    };
    if let Some(name) = &o.delete {
        let info = Rtnl::open()
            .and_then(|mut nl| nl.link_info(name))
            .map_err(|_| format!("tunctl: no TAP device '{name}'"))?;
        if !info.is_tap() {
            return Err(format!(
                "tunctl: '{name}' is not a TAP device; refusing to touch it"
            ));
        }
        let tap = open(name)?;
        tap.set_persist(false)
            .map_err(|e| format!("TUNSETPERSIST: {}", strerror(&e)))?;
        return Ok(format!("Set '{}' nonpersistent\n", tap.name()));
    }
    let tap = open(&o.name)?;
    tap.set_persist(true)
        .map_err(|e| format!("TUNSETPERSIST: {}", strerror(&e)))?;
    let owner = match (o.owner, o.group) {
        (None, None) => Some(nix::unistd::Uid::effective().as_raw()),
        (owner, _) => owner,
    };
    let undo = |msg: String| {
        let _ = tap.set_persist(false);
        msg
    };
    if let Some(uid) = owner {
        tap.set_owner(uid)
            .map_err(|e| undo(format!("TUNSETOWNER: {}", strerror(&e))))?;
    }
    if let Some(gid) = o.group {
        tap.set_group(gid)
            .map_err(|e| undo(format!("TUNSETGROUP: {}", strerror(&e))))?;
    }
    if o.brief {
        return Ok(format!("{}\n", tap.name()));
    }
    let mut s = format!("Set '{}' persistent and owned by", tap.name());
    if let Some(uid) = owner {
        let _ = write!(s, " uid {uid}");
    }
    if let Some(gid) = o.group {
        let _ = write!(s, " gid {gid}");
    }
    s.push('\n');
    Ok(s)
}

/// The whole tool: parse, run, print; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let argv0 = "tunctl";
    let o = match parse(argv0, args) {
        Ok(o) => o,
        Err(UsageError(text)) => {
            eprint!("{text}");
            return 1;
        }
    };
    match run(&o) {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(line) => {
            eprintln!("{line}");
            1
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, UsageError> {
        parse(
            "tunctl",
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn getopt_forms_are_accepted() {
        let o = p(&["-b", "-t", "tap7", "-u", "1000", "-g", "0x10"]).unwrap();
        assert!(o.brief);
        assert_eq!(
            (o.name.as_str(), o.owner, o.group),
            ("tap7", Some(1000), Some(16))
        );
        let o = p(&["-bttap8", "-uroot"]).unwrap();
        assert_eq!((o.brief, o.name.as_str(), o.owner), (true, "tap8", Some(0)));
        let o = p(&["-d", "tap3", "-f", "/dev/net/tun"]).unwrap();
        assert_eq!(o.delete.as_deref(), Some("tap3"));
        assert_eq!(p(&["-u", "010"]).unwrap().owner, Some(8));
    }

    proptest::proptest! {
        /// Whatever the arguments, parsing answers (options or the usage text), and
        /// an accepted name is a valid interface name.
        #[test]
        fn any_arguments_parse_or_show_usage(args in proptest::collection::vec("[-a-z0-9%/ ]{0,20}", 0..6)) {
            match parse("tunctl", &args) {
                Ok(o) => {
                    for n in o.delete.iter().chain(Some(&o.name).filter(|n| !n.is_empty())) {
                        proptest::prop_assert!(umlnet_core::host::if_name(n).is_ok());
                    }
                }
                Err(UsageError(text)) => proptest::prop_assert!(!text.is_empty()),
            }
        }
    }

    #[test]
    fn bad_command_lines_show_the_original_messages() {
        let e = p(&["-u", "nosuchuser_x"]).unwrap_err().0;
        assert!(e.starts_with(
            "'nosuchuser_x' is neither a username nor a numeric uid.\nCreate: tunctl"
        ));
        let e = p(&["-g", "12x"]).unwrap_err().0;
        assert!(e.starts_with("'12x' is neither a groupname nor a numeric group.\n"));
        assert!(
            p(&["-h"])
                .unwrap_err()
                .0
                .starts_with("tunctl: invalid option -- 'h'\nCreate:")
        );
        assert!(
            p(&["-t"])
                .unwrap_err()
                .0
                .contains("requires an argument -- 't'")
        );
        assert!(p(&["1000"]).unwrap_err().0.starts_with("Create: tunctl"));
        assert!(
            p(&["-t", "a b"])
                .unwrap_err()
                .0
                .contains("not a valid interface name")
        );
        assert!(
            p(&["-d", "../x"])
                .unwrap_err()
                .0
                .contains("not a valid interface name")
        );
        assert!(p(&["-t", "sixteen_chars_xx"]).is_err());
    }
}
