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
