//! Why the switch could not start or stopped.

use std::io;
use std::path::PathBuf;

/// Why the switch could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    /// Another process is serving the control socket.
    #[error("The control socket '{0}' has another server attached to it")]
    CtlInUse(PathBuf),
    /// Another process is serving the `-compat-v0` data socket.
    #[error("The data socket '{0}' has another server attached to it")]
    DataInUse(PathBuf),
    /// The path exists but is not a socket, so it is not removed.
    #[error("'{0}' exists and is not a socket; remove it or choose another path")]
    NotASocket(PathBuf),
    /// The socket path belongs to another user: taking it over would let that user's
    /// file (or a server it binds first) stand in for ours.
    #[error(
        "'{path}' belongs to uid {owner}, not to this switch's uid {ours}; refusing to take it \
         over: remove it as its owner (or root), or choose another path with -unix"
    )]
    NotOurs {
        /// The socket path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// Our effective uid.
        ours: u32,
    },
    /// `-group` names no group.
    #[error("-group {0}: no such group; give a group name from /etc/group or a number")]
    NoSuchGroup(String),
    /// A system call failed.
    #[error("{what} '{path}': {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The object it was done to.
        path: String,
        /// The error.
        source: io::Error,
    },
}

pub(super) fn io_err(
    what: &'static str,
    path: impl std::fmt::Display,
) -> impl FnOnce(io::Error) -> SwitchError {
    let path = path.to_string();
    move |source| SwitchError::Io { what, path, source }
}
