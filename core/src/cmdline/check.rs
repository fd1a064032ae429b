//! The checks that need the whole command line: [`CmdlineChecker`].

use crate::mac::MacAddr;

use super::parse::{Cx, MacField};
use super::{Error, ErrorKind, Field, Parsed, Warning};

/// Checks the arguments of one kernel command line in order, adding the checks that
/// need more than one argument: a device number given twice, and the boot-time MAC
/// inheritance bug (docs/protocols.md §1.1).
#[derive(Debug, Clone, Default)]
pub struct CmdlineChecker {
    /// Device numbers already configured: (`vec` family, number).
    seen: heapless::Vec<(bool, u32), 128>,
    /// Per transport, the last MAC text the kernel's split recorded: (device, MAC).
    last_mac: [Option<(u32, Option<MacAddr>)>; 9],
}

impl CmdlineChecker {
    /// A checker for a fresh command line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next argument. Returns `None` for arguments that are not network
    /// devices (the kernel hands every argument starting with `eth` or `vec` to the
    /// network code, so `ethfoo` is checked and refused, `mem=64M` is not).
    pub fn check(&mut self, arg: &str) -> Option<Result<Parsed, Error>> {
        if !(arg.starts_with("eth") || arg.starts_with("vec")) {
            return None;
        }
        let mut cx = Cx::new(arg);
        let result = cx.argument();
        let kind = cx.transport;
        let mut inherited = None;
        if let (Some(k), Some(n)) = (kind, cx.index) {
            match cx.mac_field {
                MacField::NotReached => {}
                MacField::Empty => inherited = self.last_mac[k.slot()],
                MacField::Given(mac) => self.last_mac[k.slot()] = Some((n, mac)),
            }
        }
        Some(result.and_then(|spec| {
            let key = (cx.vector, spec.index);
            if self.seen.contains(&key) {
                let e = cx.err(
                    ErrorKind::DeviceAlreadyConfigured,
                    Some(Field::DeviceNumber),
                    cx.number.of(arg),
                );
                return Err(Error {
                    found: cx.number,
                    transport: None,
                    ..e
                });
            }
            // Past 128 devices duplicates go unnoticed rather than failing.
            let _ = self.seen.push(key);
            let mut warnings = cx.warnings;
            if let Some((from, mac)) = inherited {
                let _ = warnings.push(Warning::MacInherited { from, mac });
            }
            Ok(Parsed { spec, warnings })
        }))
    }
}
