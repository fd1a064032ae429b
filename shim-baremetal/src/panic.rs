//! The firmware's panic handler: prints where the panic happened on the debugger's
//! console (semihosting, which is QEMU's stderr) and ends the run with a failure
//! status, as `panic-semihosting` with its `exit` feature does, but without the
//! panic's message. Formatting the message would link `core`'s `Debug` for `str` and
//! `char` (with its Unicode tables) for the panics inside `core` that quote a string,
//! about 2 KiB of flash; the file and line name the place just as well.

use core::panic::PanicInfo;
use cortex_m_semihosting::{debug, hprintln};

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    match info.location() {
        Some(at) => hprintln!("panicked at {}:{}:{}", at.file(), at.line(), at.column()),
        None => hprintln!("panicked"),
    }
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
