//! Running the `uml_net` helper the way the UML kernel does (docs/protocols.md §2.1-§2.2): argv
//! `uml_net 4 …`, `PATH` with `/usr/lib/uml` appended, and the answer read from the
//! helper's stdout (an output block on a stream socketpair, or the `tuntap up`
//! datagram with the tap fd).

use std::ffi::OsString;
use std::io::{self, Read};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use umlnet_core::helper::{
    AddrOp, Command as HelperCommand, HelperCall, UML_NET_VERSION, parse_if_name,
};

use crate::sys::socket::wait_readable;

/// How long the helper may take to answer.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(20);

/// The helper program to run: `helper` itself when it contains a `/`, otherwise the
/// first match on `PATH` followed by `/usr/lib/uml` (the kernel's search order), or
/// the bare name (so the spawn error names it).
pub fn resolve(helper: &Path) -> PathBuf {
    if helper.components().count() > 1 {
        return helper.to_path_buf();
    }
    let mut path: OsString = std::env::var_os("PATH").unwrap_or_default();
    if path.is_empty() {
        path = ":/bin:/usr/bin/".into();
    }
    path.push(":/usr/lib/uml");
    std::env::split_paths(&path)
        .map(|d| d.join(helper))
        .find(|p| p.is_file())
        .unwrap_or_else(|| helper.to_path_buf())
}

/// A command for `uml_net 4 <command>` with stdin from /dev/null.
pub fn command(helper: &Path, call: &HelperCommand) -> Command {
    let call = HelperCall {
        version: UML_NET_VERSION,
        command: call.clone(),
    };
    let mut c = Command::new(resolve(helper));
    c.args(call.to_argv().iter().map(|a| a.as_str()));
    c.stdin(Stdio::null());
    c
}

/// Reads one output block (a native-order length counting the NUL, then the text)
/// from a stream; the text without its NUL.
pub fn read_output_block(s: &mut UnixStream) -> io::Result<String> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let used = u32::from_ne_bytes(len) as usize;
    if used > 1 << 20 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("uml_net announced an output block of {used} bytes"),
        ));
    }
    let mut text = vec![0u8; used];
    s.read_exact(&mut text)?;
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    Ok(String::from_utf8_lossy(&text[..end]).into_owned())
}

/// Waits up to `timeout` for `child` to exit, killing it after that.
pub fn wait(child: &mut Child, timeout: Duration) -> io::Result<ExitStatus> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(st);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            return child.wait();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `uml_net 4 add|del <dev> <ip> <netmask>` for the host interface `name`
/// (`what` names it in the error when it is not a name the helper takes). Returns the
/// text and whether the helper exited 0.
pub fn run_address(
    helper: &Path,
    what: &str,
    name: &str,
    op: AddrOp,
    ip: Ipv4Addr,
    netmask: Ipv4Addr,
) -> io::Result<(String, bool)> {
    let dev = parse_if_name(name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} '{name}' is not alphanumeric"),
        )
    })?;
    run_with_output(
        helper,
        &HelperCommand::Address {
            op,
            dev,
            ip,
            netmask,
        },
        None,
    )
}

/// Runs `uml_net 4 <call>` with stdout on a stream socketpair (and stdin from `stdin`
/// if given), reads its output block and waits for it, as the kernel does for `add`,
/// `del` and `slip`. Returns the text and whether it exited 0.
pub fn run_with_output(
    helper: &Path,
    call: &HelperCommand,
    stdin: Option<OwnedFd>,
) -> io::Result<(String, bool)> {
    let (mut ours, theirs) = UnixStream::pair()?;
    let mut cmd = command(helper, call);
    cmd.stdout(Stdio::from(OwnedFd::from(theirs)));
    if let Some(fd) = stdin {
        cmd.stdin(Stdio::from(fd));
    }
    let mut child = cmd.spawn().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "failed to exec {} on host: {e}",
                cmd.get_program().display()
            ),
        )
    })?;
    drop(cmd);
    ours.set_read_timeout(Some(HELPER_TIMEOUT))?;
    let text = read_output_block(&mut ours);
    let status = wait(&mut child, HELPER_TIMEOUT)?;
    let text = match text {
        Ok(t) => t,
        // A helper that printed nothing before exiting (non-zero) still says something.
        Err(e) if !status.success() => format!("(no output: {e})"),
        Err(e) => return Err(e),
    };
    Ok((text, status.success()))
}

/// Waits until `fd` is readable or `child` has exited (then waits a little more for
/// a last message); returns whether `fd` is readable.
pub fn wait_answer(fd: &impl AsFd, child: &mut Child, timeout: Duration) -> io::Result<bool> {
    let end = Instant::now() + timeout;
    loop {
        if wait_readable(fd.as_fd().as_raw_fd(), Duration::from_millis(50))? {
            return Ok(true);
        }
        if child.try_wait()?.is_some() {
            return wait_readable(fd.as_fd().as_raw_fd(), Duration::from_millis(100));
        }
        if Instant::now() >= end {
            return Ok(false);
        }
    }
}
