//! The transports following the interfaces: opened when an interface comes up,
//! closed when it goes down, and the host side told about changed addresses.

use std::io;
use std::os::fd::RawFd;

use umlnet_core::helper::AddrOp;

use super::GuestHost;

impl GuestHost {
    pub(super) fn watch(&mut self, index: u32, fd: RawFd) -> io::Result<()> {
        self.poller.add(fd, u64::from(index))?;
        self.polled.insert(index, fd);
        Ok(())
    }

    pub(super) fn unwatch(&mut self, index: u32) {
        if let Some(fd) = self.polled.remove(&index) {
            let _ = self.poller.delete(fd);
        }
    }

    /// Opens the transport of every interface that came up (the kernel's `ifup`); one
    /// that cannot open goes back down, as a failed `SIOCSIFFLAGS` leaves it.
    pub(super) fn open_links(&mut self) {
        for index in self.guest.interface_indices() {
            let up = self.guest.interface(index).is_some_and(|i| i.up);
            let Some(dev) = self.guest.link_mut(index) else {
                continue;
            };
            if !up || dev.link().is_some() {
                continue;
            }
            match dev.set_open(true) {
                Ok(text) => {
                    if !text.is_empty() {
                        print!("{text}");
                        if !text.ends_with('\n') {
                            println!();
                        }
                    }
                    if let Some(fd) = dev.fd()
                        && let Err(e) = self.watch(index, fd)
                    {
                        eprintln!("eth{index}: epoll: {e}");
                    }
                }
                Err(e) => {
                    eprintln!("{e}\nSIOCSIFFLAGS: the device could not be opened");
                    let _ = self.guest.set_up(index, false);
                    self.failed = Some(1);
                }
            }
        }
    }

    /// Closes the transport of every interface that went down (the kernel's `ifdown`).
    pub(super) fn close_links(&mut self) {
        for index in self.guest.interface_indices() {
            let up = self.guest.interface(index).is_some_and(|i| i.up);
            let open = self
                .guest
                .link_mut(index)
                .is_some_and(|d| d.link().is_some() && !d.opens_at_creation());
            if !up && open {
                self.unwatch(index);
                if let Some(dev) = self.guest.link_mut(index) {
                    let _ = dev.set_open(false);
                }
            }
        }
    }

    /// Tells each transport about addresses that appeared or went since last time.
    pub(super) fn sync_addresses(&mut self) {
        for index in self.guest.interface_indices() {
            let Some(info) = self.guest.interface(index) else {
                continue;
            };
            let now = match (info.up, info.addr) {
                (true, Some(a)) => Some((a, info.netmask)),
                _ => None,
            };
            let before = self.announced.get(&index).copied();
            if now == before {
                continue;
            }
            let Some(link) = self.guest.link_mut(index) else {
                continue;
            };
            if let Some((a, m)) = before {
                report(index, "del", link.address_changed(AddrOp::Del, a, m));
                self.announced.remove(&index);
            }
            if let Some((a, m)) = now {
                report(index, "add", link.address_changed(AddrOp::Add, a, m));
                self.announced.insert(index, (a, m));
            }
        }
    }
}

pub(super) fn report(index: u32, what: &str, r: io::Result<String>) {
    match r {
        Ok(text) => {
            if !text.is_empty() {
                print!("{text}");
                if !text.ends_with('\n') {
                    println!();
                }
            }
        }
        Err(e) => eprintln!("eth{index}: telling the host about the {what}: {e}"),
    }
}
