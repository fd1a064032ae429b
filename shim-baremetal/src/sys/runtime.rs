//! What runs around the firmware: the heap (with a high-water mark), the millisecond
//! clock (SysTick), stack painting and its high-water mark, the command line from
//! semihosting.

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use embedded_alloc::LlffHeap;

/// The heap's size.
pub const HEAP_BYTES: usize = 32 * 1024;

/// The word stack painting fills free stack with.
const PAINT: u32 = 0x5a5a_a5a5;

/// The global allocator: a linked-list heap that also keeps its high-water mark.
pub struct CountingHeap {
    heap: LlffHeap,
    used: AtomicUsize,
    peak: AtomicUsize,
}

// SAFETY: every call is passed on to `LlffHeap`, which is a correct allocator (it
// takes a critical section inside); the counters only add and subtract sizes.
unsafe impl GlobalAlloc for CountingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            let now = self.used.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.used.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: CountingHeap = CountingHeap {
    heap: LlffHeap::empty(),
    used: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

static MILLIS: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" {
    /// The top of RAM, where the stack starts (from `cortex-m-rt`'s `link.x`).
    static _stack_start: u32;
    /// The end of the statics (`.data`, `.bss`, `.uninit`), where free RAM begins.
    static __sheap: u32;
    /// The start of RAM's statics.
    static __sdata: u32;
}

/// Gives the heap its memory and paints the free stack. Call once, first thing.
pub fn init() {
    static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_BYTES] = [MaybeUninit::uninit(); HEAP_BYTES];
    static INIT: AtomicU32 = AtomicU32::new(0);
    assert_eq!(INIT.swap(1, Ordering::AcqRel), 0, "runtime::init runs once");
    // SAFETY: runs once (checked above), before any allocation; HEAP_MEM is used by
    // nothing else.
    unsafe {
        HEAP.heap
            .init(core::ptr::addr_of_mut!(HEAP_MEM) as usize, HEAP_BYTES)
    }
    paint_stack();
}

/// Fills the stack below the current frame (down to the end of the statics) with
/// [`PAINT`].
#[inline(never)]
fn paint_stack() {
    let sp = cortex_m::register::msp::read() as usize;
    let bottom = core::ptr::addr_of!(__sheap) as usize;
    // Leave this function's own frame (and a margin) alone.
    let top = sp - 256;
    let mut p = bottom;
    while p < top {
        // SAFETY: [bottom, top) lies between the end of the statics and below the
        // live stack: memory nothing uses yet.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Memory use, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct MemoryUse {
    /// RAM of the statics, the heap excluded.
    pub statics: usize,
    /// The heap's size.
    pub heap: usize,
    /// The most the heap held at once.
    pub heap_peak: usize,
    /// What the heap holds now.
    pub heap_used: usize,
    /// The RAM left for the stack.
    pub stack_size: usize,
    /// The deepest the stack went (the painted words overwritten).
    pub stack_peak: usize,
}

/// The memory use so far.
pub fn memory_use() -> MemoryUse {
    let start = core::ptr::addr_of!(__sdata) as usize;
    let bottom = core::ptr::addr_of!(__sheap) as usize;
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let mut p = bottom;
    // SAFETY: reads of RAM between the statics and the stack's top, all mapped.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    MemoryUse {
        statics: bottom - start - HEAP_BYTES,
        heap: HEAP_BYTES,
        heap_peak: HEAP.peak.load(Ordering::Relaxed),
        heap_used: HEAP.used.load(Ordering::Relaxed),
        stack_size: top - bottom,
        stack_peak: top - p,
    }
}

/// Starts the millisecond clock: SysTick from the 25 MHz core clock.
pub fn start_clock(mut syst: SYST, core_hz: u32) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(core_hz / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Called by the SysTick handler once a millisecond.
pub fn tick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}

/// Milliseconds since [`start_clock`].
pub fn millis() -> u32 {
    MILLIS.load(Ordering::Relaxed)
}

/// The command line the debugger (QEMU's `-semihosting-cmdline`, or `-kernel` and
/// `-append`) gives, read into `buf`; `None` when it does not answer.
pub fn semihosting_cmdline(buf: &mut [u8]) -> Option<&str> {
    let block = [buf.as_mut_ptr() as usize, buf.len()];
    // SAFETY: SYS_GET_CMDLINE writes at most `block[1]` bytes at `block[0]`, our
    // buffer, and the length back into `block[1]`. QEMU must run with semihosting
    // enabled, or the BKPT faults (documented in the crate README).
    let rc =
        unsafe { cortex_m_semihosting::syscall(cortex_m_semihosting::nr::GET_CMDLINE, &block) };
    // SAFETY: the debugger wrote the block behind the compiler's back.
    let len = unsafe { core::ptr::read_volatile(&block[1]) };
    if rc != 0 || len > buf.len() {
        return None;
    }
    core::str::from_utf8(&buf[..len]).ok()
}
