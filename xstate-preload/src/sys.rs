//! The exported `ptrace` and the calls it makes: the only unsafe code of this library.
#![allow(unsafe_code)]

use libc::{c_long, c_uint, c_void, iovec, pid_t};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

const NT_X86_XSTATE: usize = 0x202;
/// Room for the largest XSAVE image of today's CPUs (AMX: 11008 bytes).
const IMAGE_BYTES: usize = 16384;

#[repr(C, align(64))]
struct Image([u8; IMAGE_BYTES]);

thread_local! {
    static IMAGE: RefCell<Image> = const { RefCell::new(Image([0; IMAGE_BYTES])) };
}

type PtraceFn = unsafe extern "C" fn(c_uint, ...) -> c_long;

/// The C library's `ptrace`, looked up once.
fn next_ptrace() -> PtraceFn {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut f = NEXT.load(Ordering::Relaxed);
    if f == 0 {
        // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT finds the definition after
        // this library's, which is the C library's.
        f = unsafe { libc::dlsym(libc::RTLD_NEXT, c"ptrace".as_ptr()) } as usize;
        assert!(f != 0, "umlnet_xstate: no ptrace after this library");
        NEXT.store(f, Ordering::Relaxed);
    }
    // SAFETY: `f` is the address of the C library's `long ptrace(int, ...)`.
    unsafe { std::mem::transmute::<usize, PtraceFn>(f) }
}

/// The raw system call: `-1` with `errno` set on failure.
fn ptrace_regset(request: c_uint, pid: pid_t, iov: &mut iovec) -> c_long {
    // SAFETY: the regset requests read or write `iov.iov_len` bytes at `iov.iov_base`,
    // which the caller's iovec describes.
    unsafe {
        libc::syscall(
            libc::SYS_ptrace,
            request as c_long,
            pid as c_long,
            NT_X86_XSTATE,
            iov as *mut iovec,
        )
    }
}

/// `ptrace` as the C library declares it (`long ptrace(enum __ptrace_request, ...)`).
/// On x86-64 the variadic arguments arrive in the same registers as these parameters.
///
/// # Safety
/// As `ptrace(2)`: `addr` and `data` must be what the request expects.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ptrace(
    request: c_uint,
    pid: pid_t,
    addr: *mut c_void,
    data: *mut c_void,
) -> c_long {
    let regset = request == libc::PTRACE_GETREGSET || request == libc::PTRACE_SETREGSET;
    if regset && addr as usize == NT_X86_XSTATE && !data.is_null() {
        // SAFETY: for these requests `data` is the caller's `struct iovec`.
        let iov = unsafe { &mut *(data as *mut iovec) };
        // SAFETY: the iovec describes the caller's buffer of `iov_len` bytes.
        let kernel =
            unsafe { std::slice::from_raw_parts_mut(iov.iov_base as *mut u8, iov.iov_len) };
        return IMAGE.with_borrow_mut(|image| {
            let mut whole = iovec {
                iov_base: image.0.as_mut_ptr().cast(),
                iov_len: IMAGE_BYTES,
            };
            if ptrace_regset(libc::PTRACE_GETREGSET, pid, &mut whole) < 0 {
                return -1;
            }
            let current = &mut image.0[..whole.iov_len];
            if request == libc::PTRACE_GETREGSET {
                iov.iov_len = crate::shorten(current, kernel);
                return 0;
            }
            crate::merge(current, kernel);
            ptrace_regset(libc::PTRACE_SETREGSET, pid, &mut whole)
        });
    }
    // SAFETY: forwards the caller's arguments unchanged to the C library.
    unsafe { next_ptrace()(request, pid, addr, data) }
}
