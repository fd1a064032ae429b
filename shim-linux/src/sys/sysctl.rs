//! The two IPv4 sysctls host setup writes (`net.ipv4.ip_forward`,
//! `net.ipv4.conf.<dev>.proxy_arp`) and the route table the helper reads
//! (`/proc/net/route`). Paths are fixed; the only variable part, a device name, must be
//! a plain name (no `/`, not `.` or `..`), and the final component is opened without
//! following symlinks.

use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;

use umlnet_core::ifname::{self, WhiteSpace};

fn plain_name(dev: &str) -> io::Result<&str> {
    if ifname::check(dev, WhiteSpace::Ascii).is_ok() && !dev.contains('\0') {
        Ok(dev)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("'{}' is not a network device name", dev.escape_debug()),
        ))
    }
}

fn write_value(path: &str, on: bool) -> io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    f.write_all(if on { b"1\n" } else { b"0\n" })
}

fn read_value(path: &str) -> io::Result<bool> {
    let mut s = String::new();
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?
        .read_to_string(&mut s)?;
    Ok(s.trim() != "0")
}

/// Turns IPv4 forwarding on (`net.ipv4.ip_forward=1`).
pub fn set_ip_forward() -> io::Result<()> {
    write_value("/proc/sys/net/ipv4/ip_forward", true)
}

/// Reads `net.ipv4.ip_forward`.
pub fn ip_forward() -> io::Result<bool> {
    read_value("/proc/sys/net/ipv4/ip_forward")
}

/// Sets `net.ipv4.conf.<dev>.proxy_arp`.
pub fn set_proxy_arp(dev: &str, on: bool) -> io::Result<()> {
    let dev = plain_name(dev)?;
    write_value(&format!("/proc/sys/net/ipv4/conf/{dev}/proxy_arp"), on)
}

/// Reads `net.ipv4.conf.<dev>.proxy_arp`.
pub fn proxy_arp(dev: &str) -> io::Result<bool> {
    let dev = plain_name(dev)?;
    read_value(&format!("/proc/sys/net/ipv4/conf/{dev}/proxy_arp"))
}

/// One line of `/proc/net/route`: interface, destination, mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcRoute {
    /// `Iface`.
    pub iface: String,
    /// `Destination`.
    pub dest: Ipv4Addr,
    /// `Gateway` (0.0.0.0 for a route without one).
    pub gateway: Ipv4Addr,
    /// `Mask`.
    pub mask: Ipv4Addr,
}

/// Parses the text of `/proc/net/route` (hex words of the in-memory, network-order
/// address); malformed lines are skipped.
pub fn parse_proc_route(text: &str) -> Vec<ProcRoute> {
    let hex = |s: &str| {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| Ipv4Addr::from(v.to_ne_bytes()))
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some(ProcRoute {
                iface: (*f.first()?).to_string(),
                dest: hex(f.get(1)?)?,
                gateway: hex(f.get(2)?)?,
                mask: hex(f.get(7)?)?,
            })
        })
        .collect()
}

/// Reads the IPv4 routes of the calling thread's network namespace
/// (`/proc/thread-self/net/route`: right also in a thread that entered another one).
pub fn routes() -> io::Result<Vec<ProcRoute>> {
    let mut s = String::new();
    std::fs::File::open("/proc/thread-self/net/route")?.read_to_string(&mut s)?;
    Ok(parse_proc_route(&s))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn proc_route_lines_are_read_as_the_helper_reads_them() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                    eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    broken\n";
        let r = parse_proc_route(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].iface, "eth0");
        assert_eq!(r[0].dest, Ipv4Addr::new(192, 168, 0, 0));
        assert_eq!(r[0].mask, Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(r[1].dest, Ipv4Addr::UNSPECIFIED);
        assert_eq!(r[1].gateway, Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(r[0].gateway, Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn device_names_cannot_leave_the_conf_directory() {
        for bad in [
            "",
            ".",
            "..",
            "../../../etc",
            "a/b",
            "tap0 x",
            "sixteen_chars_xx",
        ] {
            assert!(set_proxy_arp(bad, true).is_err(), "{bad:?}");
        }
        assert!(proxy_arp("lo").is_ok());
    }
}
