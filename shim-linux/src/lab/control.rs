//! Talking to a running machine: commands through the directory it shares with the host,
//! and its kernel's management console (mconsole) for halting and hot-plugging.
//!
//! A command: the host writes `cmd/ID.sh` into `<run dir>/machines/M/` (atomically, by
//! renaming), the machine's init picks it up within 0.2 s, runs it with `sh` in `/root`
//! and writes its output to `out/ID.out` and its exit status to `out/ID.rc` (again by
//! renaming). hostfs writes go straight to the host file, so the host can follow the
//! output while the command runs.
//!
//! mconsole: a datagram to `<uml_dir>/M/mconsole` from a socket bound in the run
//! directory, encoded and decoded with [`umlnet_core::mconsole`].

use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use umlnet_core::mconsole::{REQUEST_LEN, ReplyReader, RequestRepr};

use super::machine;
use super::rundir::RunDir;

/// Why a command could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Reading or writing the shared directory failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The machine is not running.
    #[error("machine {0} is not running (umlnet lab status shows the lab's machines)")]
    NotRunning(String),
    /// The machine stopped while the command ran.
    #[error("machine {0} stopped while the command ran")]
    Died(String),
    /// No exit status within the time allowed.
    #[error("machine {machine}: no result within {secs} s")]
    Timeout {
        /// The machine.
        machine: String,
        /// The time allowed.
        secs: u64,
    },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `script` with `sh` in machine `m`, passing its output to `output` as it comes;
/// returns its exit status. `timeout` `None` waits as long as the machine runs.
pub fn exec(
    run: &RunDir,
    m: &str,
    script: &str,
    timeout: Option<Duration>,
    mut output: impl FnMut(&[u8]),
) -> Result<i32, ExecError> {
    let pid = run
        .live_pid(&run.machine_file(m, "pid"))
        .ok_or_else(|| ExecError::NotRunning(m.to_string()))?;
    let dir = run.machine_dir(m);
    let id = unique_id();
    let tmp = dir.join("cmd").join(format!(".{id}"));
    std::fs::write(&tmp, script)?;
    std::fs::rename(&tmp, dir.join("cmd").join(format!("{id}.sh")))?;
    let out_path = dir.join("out").join(format!("{id}.out"));
    let rc_path = dir.join("out").join(format!("{id}.rc"));
    let start = Instant::now();
    let mut out: Option<std::fs::File> = None;
    let mut seen: u64 = 0;
    let mut buf = vec![0u8; 16 * 1024];
    let mut follow = |out: &mut Option<std::fs::File>, seen: &mut u64| -> io::Result<()> {
        if out.is_none() {
            *out = std::fs::File::open(&out_path).ok();
        }
        if let Some(f) = out.as_mut() {
            f.seek(SeekFrom::Start(*seen))?;
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                output(&buf[..n]);
                *seen += n as u64;
            }
        }
        Ok(())
    };
    let result = loop {
        follow(&mut out, &mut seen)?;
        if let Ok(text) = std::fs::read_to_string(&rc_path) {
            // The output file is complete before the status file appears.
            follow(&mut out, &mut seen)?;
            break Ok(text.trim().parse().unwrap_or(255));
        }
        if !machine::alive(pid) {
            break Err(ExecError::Died(m.to_string()));
        }
        if let Some(t) = timeout
            && start.elapsed() > t
        {
            break Err(ExecError::Timeout {
                machine: m.to_string(),
                secs: t.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for p in [&out_path, &rc_path] {
        let _ = std::fs::remove_file(p);
    }
    result
}

/// Sends `command` to the mconsole at `socket` and returns the kernel's reply text
/// (`Err` with the text when the kernel reports an error).
pub fn mconsole(run: &RunDir, socket: &Path, command: &str) -> io::Result<String> {
    let mut req = [0u8; REQUEST_LEN];
    let n = RequestRepr::new(command.as_bytes())
        .and_then(|r| r.encode(&mut req))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let me = run.root().join(format!("mc-{}.sock", unique_id()));
    let sock = UnixDatagram::bind(&me)?;
    let result = (|| {
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        sock.send_to(&req[..n], socket).map_err(|e| {
            io::Error::new(e.kind(), format!("the mconsole {}: {e}", socket.display()))
        })?;
        let mut reader = ReplyReader::new([0u8; 8192]);
        let mut buf = [0u8; 4096];
        loop {
            let got = sock.recv(&mut buf)?;
            let reply = reader
                .push(&buf[..got])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            if let Some((err, text)) = reply {
                let text = String::from_utf8_lossy(text).into_owned();
                return if err == 0 {
                    Ok(text)
                } else {
                    Err(io::Error::other(format!("the kernel says: {text}")))
                };
            }
        }
    })();
    let _ = std::fs::remove_file(&me);
    result
}
