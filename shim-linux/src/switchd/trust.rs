//! Whether the data address a client asks for may become a port: not one of the
//! switch's own sockets (a port that loops back), and a socket of the client's own.
//!
//! A request names the datagram socket the switch is to send the port's frames to
//! (docs/protocols.md §3.1). Trusted blindly, it lets a local user aim the switch
//! (often root) at any datagram socket it can reach, `/dev/log` for one, or at the
//! switch's own data socket. So, for a client whose uid (`SO_PEERCRED`) is neither 0
//! nor the switch's own:
//!
//! * a filesystem address must be a socket (not a symbolic link) owned by that uid;
//!   the port gets a socket connected through an `O_PATH` handle on exactly that
//!   inode and is sent to only by it (under `-compat-v0` and for v0 too), so swapping
//!   the file for a link afterwards changes nothing;
//! * an abstract address (the UML kernel's `{0, pid, usec, …}`) must be bound by a
//!   socket that uid created (`sock_diag`'s `UNIX_DIAG_UID`); where the kernel cannot
//!   say, the name must carry the client's pid where the UML kernel puts it.
//!
//! Every client, trusted or not, is refused an address that is one of the switch's own
//! sockets: the shared data socket (by name or, for a path, by inode), the control and
//! console sockets, and the sockets of its ports.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use umlnet_core::daemon::DataAddr;

use super::daemon::SwitchDaemon;
use crate::sys::access::{PeerCred, effective_uid, unix_socket_owner};

/// The prefix of the abstract names of the switch's port sockets (then its pid).
pub(super) const PORT_SOCKET_PREFIX: &str = "umlnet-switch-";

impl SwitchDaemon {
    /// Checks `addr` for a client with credentials `peer`. `Ok(Some(handle))`: a
    /// filesystem socket to connect to through `/proc/self/fd/<handle>`; `Err`: why
    /// the request is refused.
    pub(super) fn check_data_addr(
        &mut self,
        addr: &DataAddr,
        peer: PeerCred,
    ) -> Result<Option<File>, String> {
        if *addr == self.data_addr {
            return Err("its data address is the switch's own data socket".into());
        }
        let ours = format!("{PORT_SOCKET_PREFIX}{}-", std::process::id());
        if addr
            .abstract_name()
            .is_some_and(|n| n.starts_with(ours.as_bytes()))
        {
            return Err("its data address is one of the switch's own port sockets".into());
        }
        let trusted = peer.uid == 0 || peer.uid == effective_uid();
        match addr.path() {
            Some(p) => {
                let path = Path::new(std::ffi::OsStr::from_bytes(p));
                self.check_path(path, peer, trusted).map(Some)
            }
            None if trusted => Ok(None),
            None => self.check_abstract(addr, peer).map(|()| None),
        }
    }

    fn check_path(&self, path: &Path, peer: PeerCred, trusted: bool) -> Result<File, String> {
        let shown = path.display();
        let handle = crate::sys::access::open_path_nofollow(path)
            .map_err(|e| format!("its data address {shown}: {e}"))?;
        let meta = handle
            .metadata()
            .map_err(|e| format!("its data address {shown}: {e}"))?;
        if meta.file_type().is_symlink() {
            return Err(format!(
                "its data address {shown} is a symbolic link, not a socket of its own"
            ));
        }
        let own_inode = self
            .owned_paths
            .iter()
            .filter_map(|p| std::fs::symlink_metadata(p).ok())
            .any(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()));
        if own_inode {
            return Err(format!(
                "its data address {shown} is one of the switch's own sockets"
            ));
        }
        if !meta.file_type().is_socket() {
            return Err(format!("its data address {shown} is not a socket"));
        }
        if !trusted && meta.uid() != peer.uid {
            return Err(format!(
                "its data address {shown} belongs to uid {}, not to the client (uid {})",
                meta.uid(),
                peer.uid
            ));
        }
        Ok(handle)
    }

    fn check_abstract(&mut self, addr: &DataAddr, peer: PeerCred) -> Result<(), String> {
        let name = addr.sun_path();
        match unix_socket_owner(name) {
            Ok(Some(uid)) if uid == peer.uid => Ok(()),
            Ok(Some(uid)) => Err(format!(
                "its abstract data address belongs to uid {uid}, not to the client (uid {})",
                peer.uid
            )),
            Ok(None) => Err("no socket is bound to its abstract data address".into()),
            Err(e) => {
                if !self.diag_warned {
                    self.diag_warned = true;
                    tracing::warn!(
                        "cannot list unix sockets (sock_diag: {e}); abstract data addresses are \
                         checked by the pid in them"
                    );
                }
                // The UML kernel's layout: bytes 4..8 of sun_path are its pid.
                let pid = i32::from_ne_bytes(name[4..8].try_into().expect("4 bytes"));
                if pid == peer.pid {
                    Ok(())
                } else {
                    Err(format!(
                        "its abstract data address does not carry the client's pid {}",
                        peer.pid
                    ))
                }
            }
        }
    }
}
