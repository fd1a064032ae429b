//! Booting a UML kernel whose floating-point save area is smaller than the host's.
//!
//! A UML kernel keeps each of its processes' FPU state with `ptrace(PTRACE_GETREGSET /
//! PTRACE_SETREGSET, NT_X86_XSTATE)` into a fixed buffer (832 bytes in Linux 6.1: the
//! legacy area, the XSAVE header and the AVX upper halves). The host accepts
//! `PTRACE_SETREGSET` of that regset only with a buffer of its whole XSAVE size, so on a
//! host whose CPU has more state (AVX-512, AMX, PKRU: 2.5 to 11 KiB) every UML 6.1 kernel
//! dies at its first user process: "ptrace set fp regs failed, errno = 14", then a panic
//! because init was killed.
//!
//! UML probes the regset once at boot and, if `PTRACE_GETREGSET` fails, uses
//! `PTRACE_GETFPREGS`/`PTRACE_SETFPREGS` (the 512-byte FXSAVE area) instead, which works
//! on every x86-64 host. [`hide_xstate_regset`] installs a seccomp filter that makes
//! exactly those two regset requests fail with `EIO` in the calling process and every
//! process it starts, so that a kernel started after it takes that path. Nothing else is
//! filtered.

use std::io;

/// The XSAVE buffer size UML 6.1 uses for `NT_X86_XSTATE` (`struct _xstate`).
pub const UML_XSTATE_BYTES: u32 = 832;

/// The size in bytes of the XSAVE area for the features this host enables (CPUID leaf
/// 0xD, sub-leaf 0, EBX), or `None` where the CPU has no XSAVE or is not x86-64.
pub fn host_xsave_bytes() -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::__cpuid_count;
        let max_leaf = __cpuid_count(0, 0).eax;
        if max_leaf < 0xd {
            return None;
        }
        // CPUID.1:ECX bit 27 is OSXSAVE: the OS has enabled XSAVE.
        if __cpuid_count(1, 0).ecx & (1 << 27) == 0 {
            return None;
        }
        Some(__cpuid_count(0xd, 0).ebx)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// Whether a UML 6.1 kernel started on this host needs [`hide_xstate_regset`] to boot.
pub fn uml_needs_fxsave_fallback() -> bool {
    host_xsave_bytes().is_some_and(|n| n > UML_XSTATE_BYTES)
}

const NT_X86_XSTATE: u32 = 0x202;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// Makes `ptrace(PTRACE_GETREGSET | PTRACE_SETREGSET, _, NT_X86_XSTATE, _)` fail with
/// `EIO` in this process and all its descendants, for good.
///
/// Without `CAP_SYS_ADMIN` this first sets `no_new_privs`, which the kernel requires for
/// an unprivileged filter: set-user-ID programs started afterwards (such as a setuid
/// `uml_net`) then run without their owner's privileges.
///
/// Only async-signal-safe calls: usable between `fork` and `exec`.
pub fn hide_xstate_regset() -> io::Result<()> {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W, sock_filter};
    const fn stmt(code: u32, k: u32) -> sock_filter {
        sock_filter {
            code: code as u16,
            jt: 0,
            jf: 0,
            k,
        }
    }
    const fn jeq(k: u32, jt: u8, jf: u8) -> sock_filter {
        sock_filter {
            code: (BPF_JMP | BPF_JEQ | BPF_K) as u16,
            jt,
            jf,
            k,
        }
    }
    // Offsets in `struct seccomp_data`: nr at 0, arch at 4, args[i] at 16 + 8 i (the low
    // 32 bits on this little-endian architecture).
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    const ARG0: u32 = 16;
    const ARG2: u32 = 32;
    const LOAD: u32 = BPF_LD | BPF_W | BPF_ABS;
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const EIO: u32 = libc::SECCOMP_RET_ERRNO | libc::EIO as u32;
    // A jump skips that many instructions; the last two are the verdicts.
    let filter = [
        stmt(LOAD, ARCH),                   // 0
        jeq(AUDIT_ARCH_X86_64, 0, 8),       // 1: other ABI -> allow
        stmt(LOAD, NR),                     // 2
        jeq(libc::SYS_ptrace as u32, 0, 6), // 3: not ptrace -> allow
        stmt(LOAD, ARG0),                   // 4
        jeq(libc::PTRACE_GETREGSET, 1, 0),  // 5: -> 7
        jeq(libc::PTRACE_SETREGSET, 0, 3),  // 6: neither -> allow
        stmt(LOAD, ARG2),                   // 7
        jeq(NT_X86_XSTATE, 0, 1),           // 8: other regset -> allow
        stmt(BPF_RET | BPF_K, EIO),         // 9
        stmt(BPF_RET | BPF_K, ALLOW),       // 10
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: prctl with integer arguments only; geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        super::cvt(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })?;
    }
    // SAFETY: `prog` points at `filter`, which outlives the call; the kernel copies it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Has `cmd` call [`hide_xstate_regset`] in the child before it execs, when this host
/// needs it ([`uml_needs_fxsave_fallback`]) and `force` does not say otherwise.
pub fn apply_fxsave_fallback(cmd: &mut std::process::Command, force: Option<bool>) {
    use std::os::unix::process::CommandExt;
    if force.unwrap_or_else(uml_needs_fxsave_fallback) {
        // SAFETY: the hook makes only raw system calls (prctl, seccomp) and touches no
        // memory the parent's other threads could have left locked.
        unsafe {
            cmd.pre_exec(hide_xstate_regset);
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// The filter hides the regset in a child and leaves every other call alone.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn filter_hides_only_the_xstate_regset() {
        // SAFETY: the child only makes system calls and exits.
        match unsafe { libc::fork() } {
            0 => {
                let code = (|| {
                    if hide_xstate_regset().is_err() {
                        return 10;
                    }
                    let mut buf = [0u8; 4096];
                    let mut iov = libc::iovec {
                        iov_base: buf.as_mut_ptr().cast(),
                        iov_len: buf.len(),
                    };
                    // SAFETY: ptrace on pid 1 (not traced by us): the filter answers
                    // first for the hidden regset; the other calls fail with ESRCH.
                    let hidden =
                        unsafe { libc::ptrace(libc::PTRACE_GETREGSET, 1, NT_X86_XSTATE, &mut iov) };
                    let hidden_errno = io::Error::last_os_error().raw_os_error();
                    let other = unsafe {
                        libc::ptrace(
                            libc::PTRACE_GETREGSET,
                            1,
                            1, /* NT_PRSTATUS */
                            &mut iov,
                        )
                    };
                    let other_errno = io::Error::last_os_error().raw_os_error();
                    if hidden != -1 || hidden_errno != Some(libc::EIO) {
                        return 11;
                    }
                    if other != -1 || other_errno != Some(libc::ESRCH) {
                        return 12;
                    }
                    0
                })();
                // SAFETY: ends the child without running the parent's destructors.
                unsafe { libc::_exit(code) }
            }
            -1 => panic!("fork: {}", io::Error::last_os_error()),
            pid => {
                let mut status = 0;
                // SAFETY: waits for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert!(libc::WIFEXITED(status), "child status {status:#x}");
                assert_eq!(libc::WEXITSTATUS(status), 0, "child exit code");
            }
        }
    }
}
