//! The ledger: a root-owned record under `/run` of who had the helper make which
//! device, host route and published (proxy) ARP entry, so that `del` removes only the
//! caller's own, a device limit can be counted, and what was left behind by devices
//! that vanished is cleaned up.
//!
//! The file ([`LEDGER_PATH`], mode 0600, in a root-owned directory that nobody else
//! may write) is a journal of lines `+ <entry>` and `- <entry>`, each appended with one
//! `write` and `fsync`ed before the host change it records is made (write-ahead: a
//! crash leaves at most an entry for something that is not there, never a change
//! without an entry). A line without its newline (a torn write) is ignored. Every
//! entry names its network namespace (the inode of `/proc/self/ns/net`) and pins its
//! device by interface index and name; entries of a namespace that no longer exists
//! (no process in it, no bind mount of it) are dropped.
//!
//! [`Ledger::open`] runs while the helper is still root: it takes the lock (a separate
//! file, [`LOCK_PATH`], never replaced), replays the journal, drops the entries of
//! this namespace whose device is gone (deleting their published entries from the LAN
//! devices), and rewrites the file compacted: first to `uml_net.ledger.new`
//! (written, `fsync`ed, renamed into place, directory `fsync`ed), then in place, then
//! the `.new` file is removed; an open that finds a `.new` file finishes that copy
//! first. The inode of the ledger never changes, so a helper that keeps its
//! descriptor after dropping root (the ethertap relay) still appends to the live file.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::sys::flock::{self, FlockGuard};
use crate::sys::netlink::Rtnl;

/// The directory of the ledger.
pub const LEDGER_DIR: &str = "/run/umlnet";
/// The ledger.
pub const LEDGER_PATH: &str = "/run/umlnet/uml_net.ledger";
/// The lock taken around every read-check-change-record sequence.
pub const LOCK_PATH: &str = "/run/umlnet/uml_net.lock";
const NEW_PATH: &str = "/run/umlnet/uml_net.ledger.new";
/// How long a helper waits for another to release the ledger (which a stopped helper
/// would hold for ever).
pub const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

fn busy(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("{LOCK_PATH} is held by another uml_net for more than 5 s; try again"),
        )
    } else {
        e
    }
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A device the helper created for the user.
    Device,
    /// A host route to `ip` on the device.
    Route(Ipv4Addr),
    /// A published ARP entry for `ip` on the LAN device `lan` (index `lan_index`),
    /// made for a guest on the device.
    Publish {
        /// The guest address.
        ip: Ipv4Addr,
        /// The LAN device's index.
        lan_index: u32,
        /// The LAN device's name.
        lan: String,
    },
}

/// One entry: whose, in which namespace, on which device, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The caller's real uid.
    pub uid: u32,
    /// The network namespace (inode of `/proc/self/ns/net`).
    pub netns: u64,
    /// The device's interface index.
    pub index: u32,
    /// The device's name when the entry was made.
    pub dev: String,
    /// What was made.
    pub what: What,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = format!("{} {} {} {}", self.uid, self.netns, self.index, self.dev);
        match &self.what {
            What::Device => write!(f, "device {head}"),
            What::Route(ip) => write!(f, "route {head} {ip}"),
            What::Publish { ip, lan_index, lan } => {
                write!(f, "publish {head} {ip} {lan_index} {lan}")
            }
        }
    }
}

impl Entry {
    /// Parses the text [`Entry`]'s `Display` writes.
    pub fn parse(s: &str) -> Option<Entry> {
        let w: Vec<&str> = s.split(' ').collect();
        let (kind, rest) = w.split_first()?;
        if rest.len() < 4 {
            return None;
        }
        let (uid, netns, index) = (
            rest[0].parse().ok()?,
            rest[1].parse().ok()?,
            rest[2].parse().ok()?,
        );
        let dev = rest[3].to_string();
        let what = match (*kind, &rest[4..]) {
            ("device", []) => What::Device,
            ("route", [ip]) => What::Route(ip.parse().ok()?),
            ("publish", [ip, li, lan]) => What::Publish {
                ip: ip.parse().ok()?,
                lan_index: li.parse().ok()?,
                lan: lan.to_string(),
            },
            _ => return None,
        };
        Some(Entry {
            uid,
            netns,
            index,
            dev,
            what,
        })
    }
}

/// Replays journal text: `+` adds an entry, `-` removes one; torn and unknown lines
/// are skipped.
pub fn replay(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    for line in complete.lines() {
        if let Some(e) = line.strip_prefix("+ ").and_then(Entry::parse) {
            if !out.contains(&e) {
                out.push(e);
            }
        } else if let Some(e) = line.strip_prefix("- ").and_then(Entry::parse) {
            out.retain(|x| *x != e);
        }
    }
    out
}

/// Fuzz entry point: replays arbitrary journal text; every entry it keeps prints as a
/// line that parses back to the same entry.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for e in replay(&text) {
        assert_eq!(Entry::parse(&e.to_string()), Some(e.clone()), "{e}");
    }
}

/// The inode of this process's network namespace.
pub fn current_netns() -> io::Result<u64> {
    Ok(std::fs::metadata("/proc/self/ns/net")?.ino())
}

/// The network namespaces that still exist: those of every process, and those kept by
/// a bind mount (`ip netns add`). Read as root.
pub fn live_netns() -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            e.file_name().to_str()?.parse::<u32>().ok()?;
            std::fs::metadata(e.path().join("ns/net"))
                .ok()
                .map(|m| m.ino())
        })
        .collect();
    if let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") {
        out.extend(mounts.lines().filter_map(|l| {
            let root = l.split(' ').nth(3)?;
            root.strip_prefix("net:[")?
                .strip_suffix(']')?
                .parse::<u64>()
                .ok()
        }));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether the interface `index` still exists under the name `dev`.
pub fn device_alive(index: u32, dev: &str) -> bool {
    nix::net::if_::if_indextoname(index).is_ok_and(|n| n.to_str() == Ok(dev))
}

/// The open ledger: the journal's descriptor (append), the lock's, and the entries.
#[derive(Debug)]
pub struct Ledger {
    file: File,
    lock: File,
    netns: u64,
    entries: Vec<Entry>,
}

fn refuse_unsafe(path: &Path, dir: bool) -> io::Result<()> {
    let m = std::fs::symlink_metadata(path)?;
    let kind_ok = if dir { m.is_dir() } else { m.is_file() };
    if !kind_ok || m.uid() != 0 || m.mode() & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} must be a root-owned {} that only root may write; remove it and retry",
                path.display(),
                if dir { "directory" } else { "file" }
            ),
        ));
    }
    Ok(())
}

fn open_private(path: &str) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    refuse_unsafe(Path::new(path), false)?;
    Ok(f)
}

impl Ledger {
    /// Opens, locks, replays, cleans up and compacts the ledger. Needs root.
    pub fn open() -> io::Result<Ledger> {
        match std::fs::symlink_metadata(LEDGER_DIR) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new()
                    .mode(0o755)
                    .create(LEDGER_DIR)
                    .or_else(|e| {
                        if e.kind() == io::ErrorKind::AlreadyExists {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })?;
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        refuse_unsafe(Path::new(LEDGER_DIR), true)?;
        let lock = open_private(LOCK_PATH)?;
        let file = open_private(LEDGER_PATH)?;
        let mut ledger = Ledger {
            file,
            lock,
            netns: current_netns()?,
            entries: Vec::new(),
        };
        {
            let _g = flock::exclusive(ledger.lock.as_fd(), LOCK_PATIENCE).map_err(busy)?;
            ledger.finish_compaction()?;
            ledger.reload()?;
            ledger.clean_up_vanished();
            ledger.compact()?;
        }
        Ok(ledger)
    }

    /// Takes the ledger's lock until the guard is dropped, and rereads the journal.
    pub fn lock(&mut self) -> io::Result<FlockGuard> {
        let g = flock::exclusive(self.lock.as_fd(), LOCK_PATIENCE).map_err(busy)?;
        let mut text = String::new();
        (&self.file).seek(SeekFrom::Start(0))?;
        (&self.file).read_to_string(&mut text)?;
        self.entries = replay(&text);
        Ok(g)
    }

    fn reload(&mut self) -> io::Result<()> {
        let mut text = String::new();
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_to_string(&mut text)?;
        self.entries = replay(&text);
        Ok(())
    }

    /// The entries (as of the last [`Ledger::lock`]).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The descriptors the ledger holds (journal and lock), to keep open when a
    /// process closes everything else.
    pub fn raw_fds(&self) -> [std::os::fd::RawFd; 2] {
        use std::os::fd::AsRawFd;
        [self.file.as_raw_fd(), self.lock.as_raw_fd()]
    }

    /// This namespace's inode.
    pub fn netns(&self) -> u64 {
        self.netns
    }

    fn append(&mut self, line: &str) -> io::Result<()> {
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()
    }

    /// Records `e` (before the change it records is made).
    pub fn record(&mut self, e: Entry) -> io::Result<()> {
        self.append(&format!("+ {e}\n"))?;
        if !self.entries.contains(&e) {
            self.entries.push(e);
        }
        Ok(())
    }

    /// Removes `e` (after the change it recorded is undone).
    pub fn forget(&mut self, e: &Entry) -> io::Result<()> {
        self.append(&format!("- {e}\n"))?;
        self.entries.retain(|x| x != e);
        Ok(())
    }

    /// How many devices of `uid` in this namespace are still there.
    pub fn devices_of(&self, uid: u32) -> usize {
        self.live_devices_of(uid).len()
    }

    /// The indices of the devices of `uid` in this namespace that are still there.
    pub fn live_devices_of(&self, uid: u32) -> Vec<u32> {
        self.entries
            .iter()
            .filter(|e| e.uid == uid && e.netns == self.netns && e.what == What::Device)
            .filter(|e| device_alive(e.index, &e.dev))
            .map(|e| e.index)
            .collect()
    }

    /// The entries of this namespace on device `index` for `ip` (routes and
    /// published entries), whoever made them.
    pub fn for_guest(&self, index: u32, ip: Ipv4Addr) -> Vec<Entry> {
        self.entries
            .iter()
            .filter(|e| e.netns == self.netns && e.index == index)
            .filter(|e| match &e.what {
                What::Route(r) => *r == ip,
                What::Publish { ip: p, .. } => *p == ip,
                What::Device => false,
            })
            .cloned()
            .collect()
    }

    /// Who holds something for `ip` in this namespace (a route or published entry on
    /// any device), other than on device `index`.
    pub fn holder_elsewhere(&self, index: u32, ip: Ipv4Addr) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            e.netns == self.netns
                && e.index != index
                && device_alive(e.index, &e.dev)
                && matches!(&e.what, What::Route(r) | What::Publish { ip: r, .. } if *r == ip)
        })
    }

    /// Drops this namespace's entries whose device is gone (a published entry of a
    /// vanished device is deleted from its LAN device first), and the entries of
    /// namespaces that no longer exist (their devices and entries went with them).
    fn clean_up_vanished(&mut self) {
        let mut nl = Rtnl::open().ok();
        let netns = self.netns;
        let live = live_netns();
        self.entries.retain(|e| {
            if e.netns != netns {
                return live.binary_search(&e.netns).is_ok();
            }
            if device_alive(e.index, &e.dev) {
                return true;
            }
            if let (What::Publish { ip, lan_index, lan }, Some(nl)) = (&e.what, nl.as_mut())
                && device_alive(*lan_index, lan)
            {
                let _ = nl.proxy_neigh(false, *ip, *lan_index);
            }
            false
        });
    }

    fn compacted_text(&self) -> String {
        self.entries.iter().map(|e| format!("+ {e}\n")).collect()
    }

    /// Rewrites the journal as its entries (see the module docs for the crash safety).
    fn compact(&mut self) -> io::Result<()> {
        let text = self.compacted_text();
        let _ = std::fs::remove_file(format!("{NEW_PATH}.tmp"));
        let mut tmp = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(format!("{NEW_PATH}.tmp"))?;
        tmp.write_all(text.as_bytes())?;
        tmp.sync_all()?;
        std::fs::rename(format!("{NEW_PATH}.tmp"), NEW_PATH)?;
        File::open(LEDGER_DIR)?.sync_all()?;
        self.finish_compaction()
    }

    /// Copies a complete `.new` file into the ledger in place and removes it.
    fn finish_compaction(&mut self) -> io::Result<()> {
        let text = match std::fs::read_to_string(NEW_PATH) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        refuse_unsafe(Path::new(NEW_PATH), false)?;
        self.file.set_len(0)?;
        self.file.write_all(text.as_bytes())?;
        self.file.sync_all()?;
        std::fs::remove_file(NEW_PATH)?;
        File::open(LEDGER_DIR)?.sync_all()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every entry prints as a line that parses back to it, and a journal of
        /// additions alone replays to the entries.
        #[test]
        fn entries_round_trip(
            uid in any::<u32>(),
            netns in any::<u64>(),
            index in any::<u32>(),
            dev in "[a-z][a-z0-9]{0,14}",
            ip in any::<u32>(),
            kind in 0u8..3,
            lan_index in any::<u32>(),
            lan in "[a-z][a-z0-9]{0,14}",
        ) {
            let ip = Ipv4Addr::from_bits(ip);
            let what = match kind {
                0 => What::Device,
                1 => What::Route(ip),
                _ => What::Publish { ip, lan_index, lan },
            };
            let e = Entry { uid, netns, index, dev, what };
            prop_assert_eq!(Entry::parse(&e.to_string()), Some(e.clone()));
            prop_assert_eq!(replay(&format!("+ {e}\n")), vec![e]);
        }

        /// Arbitrary text never panics the replay.
        #[test]
        fn arbitrary_journals_replay(s in "[-+ a-z0-9.\n]{0,200}") {
            fuzz_one(s.as_bytes());
        }
    }

    fn e(uid: u32, what: What) -> Entry {
        Entry {
            uid,
            netns: 4026531840,
            index: 7,
            dev: "tap3".into(),
            what,
        }
    }

    #[test]
    fn entries_print_and_parse_back() {
        for x in [
            e(1000, What::Device),
            e(0, What::Route(Ipv4Addr::new(10, 0, 7, 2))),
            e(
                65534,
                What::Publish {
                    ip: Ipv4Addr::new(10, 0, 7, 2),
                    lan_index: 2,
                    lan: "eth0".into(),
                },
            ),
        ] {
            assert_eq!(Entry::parse(&x.to_string()), Some(x.clone()));
        }
        assert_eq!(Entry::parse("route 1 2 3 tap0"), None);
        assert_eq!(Entry::parse("device x 2 3 tap0"), None);
    }

    #[test]
    fn the_journal_replays_adds_and_removals_and_skips_a_torn_line() {
        let a = e(1000, What::Device);
        let b = e(1000, What::Route(Ipv4Addr::new(10, 0, 7, 2)));
        let text = format!("+ {a}\n+ {b}\n+ {a}\n- {a}\ngarbage\n+ {a}");
        assert_eq!(replay(&text), vec![b]);
    }
}
