//! Process-wide calls.

use std::io;

/// `daemon(3)`: fork into the background and detach from the terminal. With
/// `nochdir == false` the working directory becomes `/`; with `noclose == true`
/// stdin, stdout and stderr are kept (uml_switch's `-daemon` uses `daemon(0, 1)`).
pub fn daemonize(nochdir: bool, noclose: bool) -> io::Result<()> {
    nix::unistd::daemon(nochdir, noclose)?;
    Ok(())
}

/// The number of descriptors open in process `pid` (`/proc/<pid>/fd`).
pub fn open_fd_count(pid: u32) -> io::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// The current `tv_usec` of the wall clock, as uml_switch puts in its data address.
pub fn wall_clock_micros() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_micros())
        .unwrap_or(0)
}

/// Moves the calling **thread** into the network namespace `ip netns` knows as `name`
/// (`/run/netns/<name>`). Abstract unix socket names are per network namespace, so a
/// thread must be inside a switch's namespace to reach its data socket.
pub fn enter_netns(name: &str) -> io::Result<()> {
    let f = std::fs::File::open(format!("/run/netns/{name}"))?;
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)?;
    Ok(())
}

/// Moves the calling process (it must have one thread) into a new, empty network
/// namespace of its own; children started afterwards share it.
pub fn unshare_netns() -> io::Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
    Ok(())
}

/// Sets the nice value of the calling thread only (Linux: a thread id is a
/// `PRIO_PROCESS` target); negative values need root.
pub fn set_thread_nice(nice: i32) -> io::Result<()> {
    // SAFETY: gettid and setpriority have no memory-safety preconditions.
    let r = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    super::cvt(r)?;
    Ok(())
}

/// Restricts the calling thread (and threads it creates later) to CPU `cpu`.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)?;
    Ok(())
}

/// Makes `cmd`'s child write its own pid (decimal, then a newline) to `file` between
/// fork and exec, failing the spawn if it cannot: the pid is on disk before the program
/// runs, whatever becomes of the parent meanwhile. `file` is close-on-exec (as std
/// opens files), so the program does not inherit it.
pub fn write_pid_before_exec(cmd: &mut std::process::Command, file: std::fs::File) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only calls the
    // async-signal-safe getpid and write on a descriptor the child inherited; the digits
    // are formatted into a stack buffer, nothing is allocated and no lock is taken.
    unsafe {
        cmd.pre_exec(move || {
            let mut buf = [0u8; 12];
            let mut i = buf.len() - 1;
            buf[i] = b'\n';
            let mut n = libc::getpid() as u32;
            loop {
                i -= 1;
                buf[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            let want = buf.len() - i;
            let wrote = libc::write(file.as_raw_fd(), buf[i..].as_ptr().cast(), want);
            if wrote != want as isize {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Makes `cmd`'s child run as `uid`/`gid` with `gid` as its only supplementary group:
/// between fork and exec it calls `setgroups([gid])`, `setgid(gid)`, `setuid(uid)` (in
/// that order, while it still may) and fails the spawn if any of them fails, so the
/// program never runs with the parent's ids.
pub fn run_as(cmd: &mut std::process::Command, uid: u32, gid: u32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only makes the
    // async-signal-safe system calls setgroups, setgid and setuid on values copied in;
    // it allocates nothing and touches no lock.
    unsafe {
        cmd.pre_exec(move || {
            let groups = [gid as libc::gid_t];
            if libc::setgroups(1, groups.as_ptr()) != 0
                || libc::setgid(gid as libc::gid_t) != 0
                || libc::setuid(uid as libc::uid_t) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_child_writes_its_pid_before_the_program_runs() {
        let dir = std::env::temp_dir().join(format!("umlnet-pidfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("child.pid");
        let mut cmd = std::process::Command::new("sh");
        // The program reads the file first: the pid must be there already.
        cmd.args(["-c", "cat \"$0\"; echo \"self=$$\""]).arg(&path);
        write_pid_before_exec(&mut cmd, std::fs::File::create(&path).unwrap());
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let written = lines.next().unwrap_or_default().to_string();
        assert_eq!(
            lines.next(),
            Some(format!("self={written}").as_str()),
            "{text}"
        );
        assert!(written.parse::<u32>().is_ok(), "{text}");
        // A file the child cannot write fails the spawn instead of running the program.
        let read_only = std::fs::File::open(&path).unwrap();
        let mut cmd = std::process::Command::new("true");
        write_pid_before_exec(&mut cmd, read_only);
        assert!(cmd.spawn().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
