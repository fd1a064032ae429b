//! `smoltcp-anchor`: the size anchor for the firmware. The same board, the same
//! LAN9118 driver, heap, clock and console, and plain smoltcp doing what the firmware
//! does on the network (a fixed 10.0.0.5/24 with MAC fe:fd:0a:00:00:05, ping answered,
//! one page on port 80), without umlnet's command line, guest routing, ARP and shell.
//! `docs/baremetal.md` sets their sizes side by side.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::vec;
use core::fmt::Write as _;
// The panic handler is the library's (`umlnet_baremetal::panic`).
use umlnet_baremetal as _;
use umlnet_baremetal::lan9118::Lan9118;
use umlnet_baremetal::smoltcp::iface::{Config, Interface, SocketSet};
use umlnet_baremetal::smoltcp::socket::tcp;
use umlnet_baremetal::smoltcp::time::Instant;
use umlnet_baremetal::smoltcp::wire::{EthernetAddress, IpAddress, IpCidr};
use umlnet_baremetal::sys::mmio::{Board, SYSCLK_HZ};
use umlnet_baremetal::sys::runtime;
use umlnet_baremetal::uart::CmsdkUart;
use umlnet_core::mac::MacAddr;
use umlnet_guest::LinkDevice;

const PAGE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n\
<html><body><h1>smoltcp anchor</h1></body></html>\n";

#[cortex_m_rt::entry]
fn main() -> ! {
    runtime::init();
    let core = cortex_m::Peripherals::take().expect("the core peripherals, once");
    runtime::start_clock(core.SYST, SYSCLK_HZ);
    let board = Board::take().expect("the board, once");
    let mut console = CmsdkUart::new(board.uart0, SYSCLK_HZ, 115_200);
    let mac = [0xfe, 0xfd, 10, 0, 0, 5];
    let nic = match Lan9118::new(board.lan9118, MacAddr(mac)) {
        Ok(n) => n,
        Err(e) => {
            let _ = writeln!(console, "{e}");
            loop {
                cortex_m::asm::wfi();
            }
        }
    };
    let mut dev = LinkDevice::new(nic);
    let now = || Instant::from_millis(i64::from(runtime::millis()));
    let mut iface = Interface::new(Config::new(EthernetAddress(mac).into()), &mut dev, now());
    iface.update_ip_addrs(|a| {
        let _ = a.push(IpCidr::new(IpAddress::v4(10, 0, 0, 5), 24));
    });
    let mut sockets = SocketSet::new(vec![]);
    let new_tcp = || {
        tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 2048]),
            tcp::SocketBuffer::new(vec![0; 2048]),
        )
    };
    let mut http = sockets.add(new_tcp());
    let _ = writeln!(console, "smoltcp anchor: 10.0.0.5/24, port 80");
    loop {
        iface.poll(now(), &mut dev, &mut sockets);
        let s = sockets.get_mut::<tcp::Socket>(http);
        if !s.is_open() {
            let _ = s.listen(80);
        }
        if s.can_recv() {
            let _ = s.recv(|b| (b.len(), ()));
            let _ = s.send_slice(PAGE);
            s.close();
        }
        if s.state() == tcp::State::TimeWait {
            sockets.remove(http);
            http = sockets.add(new_tcp());
        }
        if console.read_byte() == Some(b'm') {
            let m = runtime::memory_use();
            let _ = writeln!(
                console,
                "mem: heap peak {} B, stack peak {} B",
                m.heap_peak, m.stack_peak
            );
        }
        cortex_m::asm::wfi();
    }
}

#[cortex_m_rt::exception]
fn SysTick() {
    runtime::tick();
}
