//! Adding and removing network devices while the guest runs (`eth<n>=…` arguments,
//! mconsole `config` and `remove`).

use std::fmt::Write as _;

use umlnet_core::cmdline::{self, ErrorKind};
use umlnet_core::mconsole;

use crate::transport::HostDevice;

use super::GuestHost;
use super::error::{DeviceError, DeviceErrorKind};

impl GuestHost {
    /// Parses `arg` (`eth<n>=…`), opens its transport and adds the interface. Returns
    /// the kernel-style lines to print (`Netdevice <n> (<mac>) : <banner>`).
    pub fn add_device(&mut self, arg: &str) -> Result<String, DeviceError> {
        let parsed = cmdline::parse(arg).map_err(|e| DeviceError {
            text: e.display(arg).to_string(),
            kind: match e.kind {
                ErrorKind::BadDeviceNumber | ErrorKind::DeviceNumberTooLarge => {
                    DeviceErrorKind::BadNumber
                }
                _ => DeviceErrorKind::Other,
            },
        })?;
        let spec = parsed.spec;
        if self.guest.interface(spec.index).is_some() {
            return Err(DeviceError {
                text: mconsole::DEVICE_ALREADY_CONFIGURED.into(),
                kind: DeviceErrorKind::Exists,
            });
        }
        let dev = HostDevice::new(&spec, &self.opts.open).map_err(|e| DeviceError {
            text: e.to_string(),
            kind: DeviceErrorKind::Other,
        })?;
        let banner = dev.banner();
        let fd = dev.fd();
        self.guest.add_device(&spec, dev).map_err(|e| DeviceError {
            text: e.to_string(),
            kind: DeviceErrorKind::Other,
        })?;
        if let Some(fd) = fd
            && let Err(e) = self.watch(spec.index, fd)
        {
            let _ = self.guest.remove_interface(spec.index);
            return Err(DeviceError {
                text: format!("eth{}: epoll: {e}", spec.index),
                kind: DeviceErrorKind::Other,
            });
        }
        let mut out = String::new();
        for w in &parsed.warnings {
            let _ = writeln!(out, "eth{}: warning: {w}", spec.index);
        }
        let mac = self
            .guest
            .interface(spec.index)
            .map(|i| i.mac.to_string())
            .unwrap_or_default();
        let _ = writeln!(out, "Netdevice {} ({mac}) : {banner}", spec.index);
        Ok(out)
    }

    /// Removes `eth<index>` as mconsole `remove` does: refused while it is up.
    pub fn remove_device(&mut self, index: u32) -> Result<(), DeviceError> {
        let Some(info) = self.guest.interface(index) else {
            return Err(DeviceError {
                text: mconsole::DEVICE_DOESNT_EXIST.into(),
                kind: DeviceErrorKind::Missing,
            });
        };
        if info.up {
            return Err(DeviceError {
                text: mconsole::DEVICE_IS_OPEN.into(),
                kind: DeviceErrorKind::Busy,
            });
        }
        self.unwatch(index);
        self.sync_addresses();
        let link = self
            .guest
            .remove_interface(index)
            .map_err(|e| DeviceError {
                text: e.to_string(),
                kind: DeviceErrorKind::Other,
            })?;
        self.announced.remove(&index);
        drop(link);
        Ok(())
    }
}
