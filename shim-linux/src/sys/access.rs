//! What a daemon on a shared host needs to know about the processes and sockets that
//! reach it: a connected peer's credentials (`SO_PEERCRED`), the owner of a unix socket
//! bound to a name (`sock_diag`, `UNIX_DIAG_UID`), files opened without following a
//! symbolic link, and the descriptor limit (`RLIMIT_NOFILE`).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{cvt, cvt_size};

/// A connected unix socket peer's credentials, as the kernel recorded them at `connect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    /// Its process id.
    pub pid: i32,
    /// Its effective user id.
    pub uid: u32,
    /// Its effective group id.
    pub gid: u32,
}

/// `SO_PEERCRED` of a connected unix stream socket.
pub fn peer_cred(fd: RawFd) -> io::Result<PeerCred> {
    let mut c = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `c` is a writable `ucred` of `len` bytes; the kernel writes at most `len`.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut c).cast(),
            &mut len,
        )
    })?;
    Ok(PeerCred {
        pid: c.pid,
        uid: c.uid,
        gid: c.gid,
    })
}

/// This process's effective user id.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns `(before, after)`.
pub fn raise_nofile_limit() -> io::Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid, writable `rlimit`.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) })?;
    let before = r.rlim_cur;
    if r.rlim_cur < r.rlim_max {
        r.rlim_cur = r.rlim_max;
        // SAFETY: `r` is a valid `rlimit` whose soft limit does not exceed the hard one.
        cvt(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) })?;
    }
    Ok((before, r.rlim_cur))
}

/// Opens `/dev/null` read-only: a descriptor held in reserve, closed to make room for
/// one `accept` when the process has run out of descriptors.
pub fn reserve_descriptor() -> io::Result<File> {
    File::open("/dev/null")
}

/// Opens (creating with mode 0600) `path` for writing without following a symbolic
/// link in its last component and without truncating it; the caller checks the owner
/// and the type with [`File::metadata`] before it truncates.
pub fn open_nofollow_for_writing(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
}

/// Opens `path` with `O_PATH | O_NOFOLLOW`: a handle on exactly the inode there now
/// (a symbolic link itself, not what it points to), usable as `/proc/self/fd/<n>`.
pub fn open_path_nofollow(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

const NETLINK_SOCK_DIAG: libc::c_int = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const UDIAG_SHOW_NAME: u32 = 0x01;
const UDIAG_SHOW_UID: u32 = 0x40;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_UID: u16 = 7;

/// The user id that created the unix socket bound to `name` (the bytes of its
/// `sun_path` as bound: a leading zero for an abstract name) in this network
/// namespace; `None` when no socket is bound to it. One `sock_diag` dump of the
/// namespace's unix sockets.
pub fn unix_socket_owner(name: &[u8]) -> io::Result<Option<u32>> {
    // SAFETY: plain socket(2); the result is checked and owned right away.
    let fd = cvt(unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    })?;
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // nlmsghdr (16) + unix_diag_req (24).
    let mut req = [0u8; 40];
    req[0..4].copy_from_slice(&40u32.to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    req[16] = libc::AF_UNIX as u8;
    // udiag_states: every state.
    req[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
    // udiag_ino 0 (any), udiag_show, cookie "none".
    req[28..32].copy_from_slice(&(UDIAG_SHOW_NAME | UDIAG_SHOW_UID).to_ne_bytes());
    req[32..40].fill(0xff);
    // SAFETY: `req` is a readable buffer of its length; the destination is the kernel
    // (a zeroed sockaddr_nl with pid 0).
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: `req` and `sa` are valid for the lengths given.
    cvt_size(unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            req.as_ptr().cast(),
            req.len(),
            0,
            (&raw const sa).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    })?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut found = None;
    loop {
        // SAFETY: `buf` is writable for its length.
        let n =
            cvt_size(unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) })?;
        let mut off = 0;
        while off + 16 <= n {
            let len = u32::from_ne_bytes(buf[off..off + 4].try_into().expect("4")) as usize;
            let kind = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().expect("2"));
            if len < 16 || off + len > n {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "sock_diag: a truncated message",
                ));
            }
            match kind {
                NLMSG_DONE => return Ok(found),
                NLMSG_ERROR => {
                    let errno = i32::from_ne_bytes(buf[off + 16..off + 20].try_into().expect("4"));
                    return Err(io::Error::from_raw_os_error(-errno));
                }
                _ => {
                    if found.is_none() {
                        found = owner_if_named(&buf[off + 16..off + len], name);
                    }
                }
            }
            off += (len + 3) & !3;
        }
    }
}

/// From one `unix_diag_msg` with its attributes: the uid when its name is `name`.
fn owner_if_named(msg: &[u8], name: &[u8]) -> Option<u32> {
    // unix_diag_msg: family, type, state, pad, ino (4), cookie (8) = 16 bytes.
    let mut off = 16;
    let (mut named, mut uid) = (false, None);
    while off + 4 <= msg.len() {
        let len = usize::from(u16::from_ne_bytes([msg[off], msg[off + 1]]));
        let kind = u16::from_ne_bytes([msg[off + 2], msg[off + 3]]);
        if len < 4 || off + len > msg.len() {
            break;
        }
        let data = &msg[off + 4..off + len];
        match kind {
            UNIX_DIAG_NAME => named = data == name,
            UNIX_DIAG_UID if data.len() >= 4 => {
                uid = Some(u32::from_ne_bytes(data[..4].try_into().expect("4")));
            }
            _ => {}
        }
        off += (len + 3) & !3;
    }
    if named { uid } else { None }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_owner_of_our_own_abstract_socket_is_us() {
        let name = format!("\0umlnet-access-test-{}", std::process::id());
        let mut raw = [0u8; 110];
        raw[0..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
        raw[2..2 + name.len()].copy_from_slice(name.as_bytes());
        let _s = super::super::socket::DgramSocket::bind_raw(&raw, 2 + name.len()).unwrap();
        assert_eq!(
            unix_socket_owner(name.as_bytes()).unwrap(),
            Some(effective_uid())
        );
        assert_eq!(
            unix_socket_owner(b"\0umlnet-nobody-binds-this").unwrap(),
            None
        );
    }

    #[test]
    fn peer_credentials_of_a_socket_pair() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let c = peer_cred(a.as_raw_fd()).unwrap();
        assert_eq!(c.pid, std::process::id() as i32);
        assert_eq!(c.uid, effective_uid());
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("umlnet-access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert!(open_nofollow_for_writing(&link).is_err());
        // O_PATH opens the link itself, never what it points to.
        let h = open_path_nofollow(&link).unwrap();
        assert!(h.metadata().unwrap().file_type().is_symlink());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
