//! The UML management console: its socket and machine directory, and the commands it
//! answers (`version`, `help`, `config`, `remove`, `halt`, `reboot`).

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use umlnet_core::mconsole::{
    self, Command as McCommand, MAX_REPLY_LEN, REQUEST_LEN, RequestPacket, RequestRepr,
};

use crate::sys::socket::DgramSocket;

use super::GuestHost;
use super::error::DeviceErrorKind;

/// The mconsole socket and its machine directory (removed on drop).
pub(super) struct Mconsole {
    pub(super) sock: DgramSocket,
    pub(super) dir: PathBuf,
    pub(super) path: PathBuf,
}

impl Drop for Mconsole {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        let _ = fs::remove_file(self.dir.join("pid"));
        let _ = fs::remove_dir(&self.dir);
    }
}

impl GuestHost {
    pub(super) fn serve_mconsole(&mut self) {
        let mut buf = [0u8; REQUEST_LEN + 64];
        loop {
            let (n, from, from_len) = match self.mconsole.sock.recv_from_raw(&mut buf) {
                Ok(Some(x)) => x,
                Ok(None) | Err(_) => return,
            };
            let (err, text) = match RequestPacket::new_checked(&buf[..n])
                .and_then(|p| RequestRepr::parse(&p).map(|r| r.command.to_vec()))
            {
                Ok(command) => self.mconsole_command(&command),
                Err(e) => match e.kernel_answer() {
                    Some(mconsole::Rejection::PlainText(t)) => {
                        let _ = self
                            .mconsole
                            .sock
                            .send_to_raw(t.as_bytes(), &from, from_len);
                        continue;
                    }
                    Some(mconsole::Rejection::Reply(r)) => {
                        (r.err, String::from_utf8_lossy(r.text).into_owned())
                    }
                    None => continue,
                },
            };
            let mut out = [0u8; MAX_REPLY_LEN];
            for chunk in mconsole::reply_chunks(text.as_bytes(), err, false) {
                if let Ok(k) = chunk.encode(&mut out) {
                    let _ = self.mconsole.sock.send_to_raw(&out[..k], &from, from_len);
                }
            }
        }
    }

    /// Runs one mconsole command; the reply's `err` and text.
    pub(super) fn mconsole_command(&mut self, command: &[u8]) -> (i32, String) {
        match McCommand::parse(command) {
            McCommand::Version => {
                let u = nix::sys::utsname::uname().ok();
                let node = u
                    .as_ref()
                    .map(|u| u.nodename().to_string_lossy().into_owned())
                    .unwrap_or_default();
                let machine = u
                    .as_ref()
                    .map(|u| u.machine().to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    0,
                    format!(
                        "umlnet {node} {} #1 umlnet-guest {machine}",
                        env!("CARGO_PKG_VERSION")
                    ),
                )
            }
            McCommand::Help => (0, MCONSOLE_HELP.to_string()),
            McCommand::ConfigEth { arg } => {
                let arg = arg.to_string();
                match self.add_device(&arg) {
                    Ok(text) => {
                        print!("{text}");
                        let _ = io::stdout().flush();
                        (0, String::new())
                    }
                    Err(e) => {
                        eprintln!("mconsole config {arg}: {}", e.text);
                        let err = match e.kind {
                            DeviceErrorKind::BadNumber | DeviceErrorKind::Exists => {
                                mconsole::ERR_EINVAL
                            }
                            _ => 1,
                        };
                        (err, e.text)
                    }
                }
            }
            McCommand::GetConfigEth { .. } => (1, mconsole::NO_GET_CONFIG.into()),
            McCommand::ConfigOther { .. } => (1, mconsole::BAD_CONFIGURATION_OPTION.into()),
            McCommand::RemoveEth { index } => match self.remove_device(index) {
                Ok(()) => {
                    println!("eth{index}: removed");
                    let _ = io::stdout().flush();
                    (0, String::new())
                }
                Err(e) => (
                    match e.kind {
                        DeviceErrorKind::Busy => mconsole::ERR_EBUSY,
                        DeviceErrorKind::Missing => mconsole::ERR_ENODEV,
                        _ => 1,
                    },
                    e.text,
                ),
            },
            McCommand::RemoveEthBadNumber { .. } => {
                (1, mconsole::COULDNT_PARSE_DEVICE_NUMBER.into())
            }
            McCommand::RemoveOther { .. } => (1, mconsole::BAD_REMOVE_OPTION.into()),
            McCommand::Other {
                name: "halt" | "reboot",
                ..
            } => {
                self.exit = true;
                (0, String::new())
            }
            McCommand::Other { name, .. } => {
                (1, format!("'{name}' is not supported by the umlnet guest"))
            }
            McCommand::Unknown { .. } => (1, mconsole::UNKNOWN_COMMAND.into()),
        }
    }
}

pub(super) const MCONSOLE_HELP: &str = "Commands: \n    \
    version - Get kernel version \n    \
    help - Print this message \n    \
    halt - Halt UML \n    \
    reboot - Reboot UML \n    \
    config <dev>=<config> - Add a new device to UML;  \n\tsame syntax as command line \n    \
    config <dev> - Query the configuration of a device \n    \
    remove <dev> - Remove a device from UML \n";
