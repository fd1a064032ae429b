//! Privileges of a setuid-root helper: who called it, and giving up what it no longer
//! needs.
//!
//! [`keep_only_net_admin`] turns the process into the caller (real, effective and saved
//! ids all the caller's) holding one capability, `CAP_NET_ADMIN`, which is all that
//! netlink changes and the `net.ipv4` sysctls need. [`drop_all`] gives that up too.
//! Both also set `no_new_privs` and make the process non-dumpable.

use std::io;

use nix::unistd::{Gid, Uid};

/// `CAP_NET_ADMIN`.
pub const CAP_NET_ADMIN: u32 = 12;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// The user who ran the helper: the real ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective uid at the time of the call (0 when setuid root or run by root).
    pub euid: u32,
}

impl Caller {
    /// The ids of the current process.
    pub fn current() -> Caller {
        Caller {
            uid: Uid::current().as_raw(),
            gid: Gid::current().as_raw(),
            euid: Uid::effective().as_raw(),
        }
    }

    /// Whether the caller is root (then every device is theirs).
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Whether `gid` is the caller's real gid or one of its supplementary groups.
    pub fn in_group(&self, gid: u32) -> bool {
        gid == self.gid
            || nix::unistd::getgroups().is_ok_and(|g| g.iter().any(|x| x.as_raw() == gid))
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets the calling thread's effective and permitted capabilities to exactly `mask`
/// (bits 0-31), inheritable to none.
fn set_caps(mask: u32) -> io::Result<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: mask,
            permitted: mask,
            inheritable: 0,
        },
        CapData::default(),
    ];
    // SAFETY: capset reads one header and two data structs of the v3 layout.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn harden() -> io::Result<()> {
    nix::sys::prctl::set_dumpable(false)?;
    nix::sys::prctl::set_no_new_privs()?;
    Ok(())
}

/// Whether the real, effective and saved uids and gids are all the caller's.
fn ids_are_callers(caller: &Caller) -> io::Result<bool> {
    let u = nix::unistd::getresuid()?;
    let g = nix::unistd::getresgid()?;
    Ok([u.real, u.effective, u.saved]
        .iter()
        .all(|x| x.as_raw() == caller.uid)
        && [g.real, g.effective, g.saved]
            .iter()
            .all(|x| x.as_raw() == caller.gid))
}

/// Takes every id of the caller, in the only order that works: supplementary groups
/// first (`setgroups` needs `CAP_SETGID`, which is gone once the uids are the
/// caller's), then the gids, then the uids.
fn become_caller(caller: &Caller) -> io::Result<()> {
    let (uid, gid) = (Uid::from_raw(caller.uid), Gid::from_raw(caller.gid));
    if caller.uid != 0 {
        nix::unistd::setgroups(&[gid])?;
    }
    nix::unistd::setresgid(gid, gid, gid)?;
    nix::unistd::setresuid(uid, uid, uid)?;
    Ok(())
}

fn not_dropped(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, what)
}

/// Becomes the caller (all uids and gids the real ones, supplementary groups only the
/// real gid when the caller is not root), keeping only `CAP_NET_ADMIN`, and checks
/// that this is so: any step that fails is an error, never a warning.
///
/// Without privileges to start with (neither setuid nor root) it changes nothing but
/// the hardening; the later host changes then fail with `EPERM`.
pub fn keep_only_net_admin(caller: &Caller) -> io::Result<()> {
    harden()?;
    if caller.euid != 0 {
        return Ok(());
    }
    if !ids_are_callers(caller)? {
        nix::sys::prctl::set_keepcaps(true)?;
        become_caller(caller)?;
        nix::sys::prctl::set_keepcaps(false)?;
    }
    set_caps(1 << CAP_NET_ADMIN)?;
    let (eff, prm) = (effective_caps()?, permitted_caps()?);
    if eff & !(1 << CAP_NET_ADMIN) != 0 || prm & !(1 << CAP_NET_ADMIN) != 0 {
        return Err(not_dropped(format!(
            "capabilities left after keeping only CAP_NET_ADMIN: effective {eff:#x}, permitted {prm:#x}"
        )));
    }
    if !ids_are_callers(caller)? {
        return Err(not_dropped(format!(
            "the ids are not all uid {} / gid {} after the change",
            caller.uid, caller.gid
        )));
    }
    Ok(())
}

/// Drops every capability and all root ids: from here on the process can do only what
/// the caller could. Works whether or not [`keep_only_net_admin`] ran before (the ids
/// are changed only while they are not yet the caller's, when the process still has
/// `CAP_SETGID`/`CAP_SETUID`), and checks the result: `CapEff` and `CapPrm` 0 and
/// every id the caller's, or an error.
pub fn drop_all(caller: &Caller) -> io::Result<()> {
    harden()?;
    if !ids_are_callers(caller)? {
        become_caller(caller)?;
    }
    set_caps(0)?;
    let (eff, prm) = (effective_caps()?, permitted_caps()?);
    if eff != 0 || prm != 0 {
        return Err(not_dropped(format!(
            "capabilities left after dropping all: effective {eff:#x}, permitted {prm:#x}"
        )));
    }
    if !ids_are_callers(caller)? {
        return Err(not_dropped(format!(
            "the ids are not all uid {} / gid {} after the drop",
            caller.uid, caller.gid
        )));
    }
    Ok(())
}

/// The calling thread's permitted capability mask (`CapPrm`).
pub fn permitted_caps() -> io::Result<u64> {
    caps_line("CapPrm:")
}

fn caps_line(prefix: &str) -> io::Result<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/status")?;
    s.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("no {prefix} line")))
}

/// The calling thread's effective capability mask (`CapEff` in
/// `/proc/thread-self/status`).
pub fn effective_caps() -> io::Result<u64> {
    caps_line("CapEff:")
}

#[cfg(test)]
mod test {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Runs in a thread of its own: capabilities are per thread, and the test process
    /// runs as root with uid 0, so the id changes are no-ops for it.
    #[test]
    fn only_net_admin_is_left_and_root_files_are_closed() {
        if !Uid::effective().is_root() {
            eprintln!("SKIP privilege test: needs root");
            return;
        }
        let dir = std::env::temp_dir().join(format!("umlnet-priv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, b"x").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
        nix::unistd::chown(
            &secret,
            Some(Uid::from_raw(65534)),
            Some(Gid::from_raw(65534)),
        )
        .unwrap();
        let s2 = secret.clone();
        let (caps, open_ok, caps_after) = std::thread::spawn(move || {
            let me = Caller::current();
            assert!(me.is_root());
            keep_only_net_admin(&me).unwrap();
            let caps = effective_caps().unwrap();
            let open_ok = std::fs::File::open(&s2).is_ok();
            drop_all(&me).unwrap();
            (caps, open_ok, effective_caps().unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(caps, 1 << CAP_NET_ADMIN);
        assert!(
            !open_ok,
            "without CAP_DAC_OVERRIDE a 000 file of another user must not open"
        );
        assert_eq!(caps_after, 0);
        // This thread kept its capabilities.
        assert!(std::fs::File::open(&secret).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
