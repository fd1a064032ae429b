//! The write-ahead journal of `umlnet up`: one file in the state directory per config
//! file, one line per record, each appended and flushed to disk (`fsync`) before `up`
//! goes on:
//!
//! ```text
//! intend ip tuntap add dev tap0 mode tap user 0    (before the change)
//! made ip tuntap add dev tap0 mode tap user 0      (after it)
//! undone ip tuntap add dev tap0 mode tap user 0    (after a rollback)
//! ```
//!
//! The last record of a step says where it stands, so a crash at any point leaves a
//! journal from which `down` knows what was made, and which one step may have been half
//! way. A line without a mark (the whole-file record of earlier versions) counts as
//! `made`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Where a step stands, by its last record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// About to be made: it may or may not have happened.
    Intend,
    /// Made by `up`.
    Made,
    /// Made and undone again (or never made) by a rollback of the same run.
    Undone,
}

impl Mark {
    fn word(self) -> &'static str {
        match self {
            Mark::Intend => "intend",
            Mark::Made => "made",
            Mark::Undone => "undone",
        }
    }
}

/// The journal file of one config file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal at `path` (nothing is opened yet).
    pub fn new(path: PathBuf) -> Journal {
        Journal { path }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and waits until it is on disk. Creating the file also
    /// flushes its directory, so the file itself survives a crash.
    pub fn record(&self, mark: Mark, step: &str) -> io::Result<()> {
        self.append(&[(mark, step)])
    }

    fn append(&self, records: &[(Mark, &str)]) -> io::Result<()> {
        if step_has_newline(records) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a step to record holds a line break",
            ));
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let existed = self.path.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let text: String = records
            .iter()
            .map(|(m, s)| format!("{} {s}\n", m.word()))
            .collect();
        f.write_all(text.as_bytes())?;
        f.sync_data()?;
        if !existed {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Each step's last mark; `None` when there is no journal.
    pub fn read(&self) -> io::Result<Option<BTreeMap<String, Mark>>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(marks(&text)))
    }

    /// After a rollback: records `undone` as undone, and removes the journal when no
    /// step in it is left made or intended.
    pub fn settle(&self, undone: &[String]) -> io::Result<()> {
        if !undone.is_empty() {
            let records: Vec<(Mark, &str)> =
                undone.iter().map(|s| (Mark::Undone, s.as_str())).collect();
            self.append(&records)?;
        }
        match self.read()? {
            Some(m) if m.values().all(|&k| k == Mark::Undone) => self.remove(),
            _ => Ok(()),
        }
    }

    /// Removes the journal (`down` is done); no journal is not an error.
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn step_has_newline(records: &[(Mark, &str)]) -> bool {
    records.iter().any(|(_, s)| s.contains('\n'))
}

/// Each step's last mark in a journal's text.
fn marks(text: &str) -> BTreeMap<String, Mark> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (mark, step) = [Mark::Intend, Mark::Made, Mark::Undone]
            .into_iter()
            .find_map(|m| {
                line.strip_prefix(m.word())
                    .and_then(|r| r.strip_prefix(' '))
                    .map(|s| (m, s))
            })
            .unwrap_or((Mark::Made, line));
        out.insert(step.to_string(), mark);
    }
    out
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_last_record_of_a_step_counts_and_bare_lines_are_made() {
        let m = marks(
            "intend ip link set tap0 up\nmade ip link set tap0 up\nintend sysctl -w x=1\n\
             ip tuntap add dev tap9 mode tap user 0\nintend a\nundone a\n",
        );
        assert_eq!(m["ip link set tap0 up"], Mark::Made);
        assert_eq!(m["sysctl -w x=1"], Mark::Intend);
        assert_eq!(m["ip tuntap add dev tap9 mode tap user 0"], Mark::Made);
        assert_eq!(m["a"], Mark::Undone);
    }

    #[test]
    fn records_append_and_a_settled_rollback_removes_the_file() {
        let dir = std::env::temp_dir().join(format!("umlnet-journal-{}", std::process::id()));
        let j = Journal::new(dir.join("sub").join("x.made"));
        assert_eq!(j.read().unwrap(), None);
        j.record(Mark::Intend, "one").unwrap();
        j.record(Mark::Made, "one").unwrap();
        j.record(Mark::Intend, "two").unwrap();
        let m = j.read().unwrap().unwrap();
        assert_eq!((m["one"], m["two"]), (Mark::Made, Mark::Intend));
        assert!(j.record(Mark::Made, "a\nb").is_err());
        j.settle(&["two".into()]).unwrap();
        assert!(j.path().exists(), "'one' is still made");
        j.settle(&["one".into()]).unwrap();
        assert!(!j.path().exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    use proptest::prelude::*;

    fn mark() -> impl Strategy<Value = Mark> {
        prop_oneof![Just(Mark::Intend), Just(Mark::Made), Just(Mark::Undone)]
    }

    proptest! {
        #[test]
        fn the_text_of_any_records_reads_back_to_each_steps_last_mark(
            records in proptest::collection::vec((mark(), "[a-z0-9 ./=-]{1,30}"), 0..20)
        ) {
            let text: String = records
                .iter()
                .map(|(m, s)| format!("{} {s}\n", m.word()))
                .collect();
            let mut want = BTreeMap::new();
            for (m, s) in &records {
                want.insert(s.clone(), *m);
            }
            prop_assert_eq!(marks(&text), want);
        }

        #[test]
        fn any_text_reads_without_panicking(text in "\\PC{0,200}") {
            let _ = marks(&text);
        }
    }
}
