//! The firmware: boot from the command line, then serve the console, the network and
//! the web page, forever. Built with the `firmware` feature for `thumbv7m-none-eabi`.
//!
//! Boot prints a banner and the command line, configures the guest from it
//! ([`crate::boot`]), and prints `ifconfig` and `route -n` as a UML kernel's boot
//! script would. Then one loop, woken by the millisecond tick: the console's input
//! runs shell commands (`ifconfig`, `route`, `arp`, `ping` of the guest stack, plus
//! `mem` and `help`; Ctrl-C stops a ping), the guest polls its links, the HTTP server
//! ([`crate::http`]) answers on port 80.

use crate::board_link::BoardLink;
use crate::boot::{BoardPort, BootConfig};
use crate::console::{Input, LineInput};
use crate::http::HttpServer;
use crate::lan9118::Lan9118;
use crate::slip_line::SlipLine;
use crate::sys::mmio::{Board, Mmio, SYSCLK_HZ};
use crate::sys::runtime;
use crate::uart::CmsdkUart;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;
use umlnet_core::cmdline::DeviceSpec;
use umlnet_guest::guest::UNSET_MAC;
use umlnet_guest::smoltcp::time::Instant;
use umlnet_guest::{Buffers, Guest, JobId, Run};

/// The console's baud rate (QEMU ignores it; real wiring does not).
pub const BAUD: u32 = 115_200;
/// The command line used when the debugger gives none.
pub const DEFAULT_CMDLINE: &str = match option_env!("UMLNET_FIRMWARE_CMDLINE") {
    Some(line) => line,
    None => "eth0=daemon,fe:fd:0a:00:00:05 ip=10.0.0.5/24",
};
/// The web page's port.
pub const HTTP_PORT: u16 = 80;

type Console = CmsdkUart<Mmio>;

fn now() -> Instant {
    Instant::from_millis(i64::from(runtime::millis()))
}

/// Runs the firmware; never returns.
pub fn run() -> ! {
    runtime::init();
    let core = cortex_m::Peripherals::take().expect("the core peripherals, once");
    runtime::start_clock(core.SYST, SYSCLK_HZ);
    let board = Board::take().expect("the board, once");
    let mut console = CmsdkUart::new(board.uart0, SYSCLK_HZ, BAUD);
    let _ = writeln!(
        console,
        "umlnet bare-metal guest {} on mps2-an385 (Cortex-M3, LAN9118)",
        env!("CARGO_PKG_VERSION")
    );
    let mut cmdline_buf = [0u8; 512];
    let cmdline: String = match runtime::semihosting_cmdline(&mut cmdline_buf) {
        Some(line) if line.contains("eth") => line.into(),
        _ => DEFAULT_CMDLINE.into(),
    };
    let _ = writeln!(console, "Kernel command line: {cmdline}");
    let config = match BootConfig::parse(&cmdline) {
        Ok(c) => c,
        Err(e) => halt(&mut console, format_args!("umlnet: {e}")),
    };
    let mut guest = boot(&mut console, board.lan9118, board.uart1, &config);
    sync_nic_macs(&mut guest);
    for command in ["ifconfig", "route -n"] {
        let _ = writeln!(console, "# {command}");
        run_to_end(&mut console, &mut guest, command);
    }
    let slip = config
        .devices
        .iter()
        .find(|d| BoardPort::of(&d.spec) == BoardPort::Serial)
        .map(|d| d.spec.index);
    serve(console, guest, cmdline, slip)
}

/// Creates the interfaces and applies the `ip=` words.
fn boot(
    console: &mut Console,
    lan9118: Mmio,
    uart1: Mmio,
    config: &BootConfig,
) -> Guest<BoardLink<Mmio>> {
    let mut lan9118 = Some(lan9118);
    let mut uart1 = Some(uart1);
    // TCP sequence numbers, ports and ping ids: from the LAN9118's free-running
    // counter (how long the boot took, to 40 ns), or a constant without one.
    let mut seed = 0x756d_6c6e_6574_u64;
    let mut links = Vec::new();
    for d in &config.devices {
        for w in &d.warnings {
            let _ = writeln!(console, "eth{}: warning: {w}", d.spec.index);
        }
        let link = match BoardPort::of(&d.spec) {
            BoardPort::Ethernet => {
                let mac = d.spec.transport.mac().unwrap_or(UNSET_MAC);
                let regs = lan9118.take().expect("one Ethernet device (boot checks)");
                match Lan9118::new(regs, mac) {
                    Ok(mut nic) => {
                        seed ^= u64::from(nic.free_run());
                        BoardLink::Ethernet(nic)
                    }
                    Err(e) => halt(console, format_args!("eth{}: {e}", d.spec.index)),
                }
            }
            BoardPort::Serial => {
                let regs = uart1.take().expect("one SLIP device (boot checks)");
                BoardLink::Slip(alloc::boxed::Box::new(SlipLine::new(CmsdkUart::new(
                    regs, SYSCLK_HZ, BAUD,
                ))))
            }
        };
        links.push(link);
    }
    let mut guest = Guest::with_buffers(seed, now(), Buffers::SMALL);
    for (d, link) in config.devices.iter().zip(links) {
        announce(console, &d.spec);
        if let Err(e) = guest.add_device(&d.spec, link) {
            halt(console, format_args!("umlnet: {e}"));
        }
    }
    for ip in &config.ips {
        let dev = ip.device;
        let result = guest
            .set_address(dev, ip.addr, ip.prefix_len)
            .and_then(|()| guest.set_up(dev, true))
            .and_then(|()| match ip.gateway {
                Some(gw) => guest.add_route(core::net::Ipv4Addr::UNSPECIFIED, 0, Some(gw), None, 0),
                None => Ok(()),
            });
        if let Err(e) = result {
            let _ = writeln!(console, "ip= for eth{dev}: {e}");
        }
    }
    guest
}

fn announce(console: &mut Console, spec: &DeviceSpec) {
    let port = match BoardPort::of(spec) {
        BoardPort::Ethernet => "LAN9118 Ethernet at 0x40200000",
        BoardPort::Serial => "SLIP on UART1 at 0x40005000",
    };
    let _ = writeln!(
        console,
        "Netdevice {} ({}) : {port}",
        spec.index,
        spec.transport.kind()
    );
}

/// Keeps each Ethernet controller's address filter on its interface's MAC (which
/// changes when an interface without a configured MAC comes up with an address).
fn sync_nic_macs(guest: &mut Guest<BoardLink<Mmio>>) {
    for index in guest.interface_indices() {
        let Some(mac) = guest.interface(index).map(|i| i.mac) else {
            continue;
        };
        if let Some(BoardLink::Ethernet(nic)) = guest.link_mut(index)
            && nic.mac() != mac
        {
            let _ = nic.set_mac(mac);
        }
    }
}

/// Runs a command that is not a job (or waits for the job) and prints its output.
fn run_to_end(console: &mut Console, guest: &mut Guest<BoardLink<Mmio>>, line: &str) {
    match guest.run(line, now()) {
        Run::Done(out) => {
            let _ = console.write_str(&out.text);
        }
        Run::Started(job) => loop {
            guest.poll(now());
            if guest.job_finished(job) {
                if let Some(out) = guest.take_job(job) {
                    let _ = console.write_str(&out.text);
                }
                return;
            }
            cortex_m::asm::wfi();
        },
    }
}

fn prompt(console: &mut Console) {
    let _ = console.write_str("# ");
}

/// The main loop.
fn serve(
    mut console: Console,
    mut guest: Guest<BoardLink<Mmio>>,
    cmdline: String,
    slip: Option<u32>,
) -> ! {
    let mut input = LineInput::new();
    let mut http = HttpServer::new(HTTP_PORT);
    let mut job: Option<(JobId, usize)> = None;
    prompt(&mut console);
    loop {
        while let Some(byte) = console.read_byte() {
            let mut echo = Vec::new();
            let event = input.push(byte, |e| echo.extend_from_slice(e));
            console.write_bytes(&echo);
            match event {
                Some(Input::Interrupt) => {
                    if let Some((id, _)) = job {
                        guest.interrupt(id, now());
                    } else {
                        prompt(&mut console);
                    }
                }
                Some(Input::TooLong) => {
                    let _ = writeln!(
                        console,
                        "line too long (at most {} bytes)",
                        crate::console::LINE_MAX
                    );
                    prompt(&mut console);
                }
                Some(Input::Line(line)) if job.is_none() => {
                    job = command(&mut console, &mut guest, line.trim());
                    if job.is_none() {
                        sync_nic_macs(&mut guest);
                        prompt(&mut console);
                    }
                }
                Some(Input::Line(_)) => {
                    let _ = writeln!(console, "busy: Ctrl-C stops the running command");
                }
                None => {}
            }
        }
        guest.poll(now());
        match http.poll(&mut guest, |g| page(g, &cmdline)) {
            Ok(Some(served)) => {
                let _ = writeln!(
                    console,
                    "\nhttp: {} \"{}\" 200",
                    served.peer, served.request_line
                );
            }
            Ok(None) => {}
            Err(e) => {
                let _ = writeln!(console, "\nhttp: {e}");
            }
        }
        if let Some((id, printed)) = &mut job {
            if let Some(text) = guest.job_output(*id) {
                let _ = console.write_str(&text[(*printed).min(text.len())..]);
                *printed = text.len();
            }
            if guest.job_finished(*id) {
                if let Some(out) = guest.take_job(*id) {
                    let _ = console.write_str(&out.text[(*printed).min(out.text.len())..]);
                }
                job = None;
                prompt(&mut console);
            }
        }
        guest.poll(now());
        if !slip_receiving(&mut guest, slip) {
            cortex_m::asm::wfi();
        }
    }
}

/// Whether the SLIP line (`eth<slip>`) is in the middle of a frame (then the loop
/// polls on without sleeping until the next tick: the UART holds one byte).
fn slip_receiving(guest: &mut Guest<BoardLink<Mmio>>, slip: Option<u32>) -> bool {
    slip.is_some_and(
        |index| matches!(guest.link_mut(index), Some(BoardLink::Slip(line)) if line.receiving()),
    )
}

/// Runs one console line: the firmware's own commands, else the guest's shell.
fn command(
    console: &mut Console,
    guest: &mut Guest<BoardLink<Mmio>>,
    line: &str,
) -> Option<(JobId, usize)> {
    match line {
        "" => None,
        "help" => {
            let _ = writeln!(
                console,
                "commands: ifconfig, route, arp, ping (as net-tools and iputils), \
                 mem (memory use), help"
            );
            None
        }
        "mem" => {
            let m = runtime::memory_use();
            let _ = writeln!(
                console,
                "mem: statics {} B, heap {} B (peak {} B, now {} B), stack {} B (peak {} B)",
                m.statics, m.heap, m.heap_peak, m.heap_used, m.stack_size, m.stack_peak
            );
            None
        }
        _ => match guest.run(line, now()) {
            Run::Done(out) => {
                let _ = console.write_str(&out.text);
                None
            }
            Run::Started(id) => Some((id, 0)),
        },
    }
}

/// The web page: who answers, how it was configured, its interfaces.
fn page(guest: &mut Guest<BoardLink<Mmio>>, cmdline: &str) -> Vec<u8> {
    let mut body = String::new();
    let _ = write!(
        body,
        "<html><head><title>umlnet bare-metal guest</title></head><body>\n\
         <h1>umlnet bare-metal guest</h1>\n\
         <p>A Cortex-M3 (QEMU mps2-an385) running umlnet's guest stack, up {} ms, \
         booted with <code>{}</code></p>\n<pre>\n",
        runtime::millis(),
        cmdline
    );
    if let Run::Done(out) = guest.run("ifconfig", now()) {
        body.push_str(&out.text);
    }
    body.push_str("</pre>\n</body></html>\n");
    body.into_bytes()
}

fn halt(console: &mut Console, why: core::fmt::Arguments<'_>) -> ! {
    let _ = writeln!(console, "{why}");
    let _ = writeln!(console, "halted: fix the command line and restart");
    loop {
        cortex_m::asm::wfi();
    }
}
