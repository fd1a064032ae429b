//! A user-space SLIP line: SLIP-framed bytes on a stream (a pty, or the socket the UML
//! `slirp` transport gives its program as stdin/stdout) on one side, bare IPv4
//! packets on a TUN device on the other, framed with the core SLIP codec
//! ([`umlnet_core::slip`]).
//!
//! This is what the host's `N_SLIP` line discipline did for the original `uml_net`;
//! hosts without it (this one: `/proc/tty/ldiscs` lists only `n_tty` and `n_null`)
//! get the same packets through this bridge. [`run`] returns when the stream ends
//! (EOF, or `EIO` from a pty whose other side was closed).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;

use umlnet_core::slip::{Decoder, UML_MTU, encode, max_encoded_len};

use crate::sys::epoll::Poller;
use crate::sys::tun::Tap;

/// What a bridge moved before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets decoded from the stream and written to the TUN device.
    pub to_tun: u64,
    /// Packets read from the TUN device and sent SLIP-encoded on the stream.
    pub to_stream: u64,
    /// Frames dropped by the decoder (bad escape, longer than the MTU).
    pub bad_frames: u64,
}

const STREAM: u64 = 0;
const TUN: u64 = 1;

/// Relays until the stream ends: bytes read from `input` are SLIP-decoded and each
/// packet is written to `tun`; each packet read from `tun` is SLIP-encoded (`END`
/// first and last) and written to `output`. `tun` must be non-blocking.
pub fn run(input: &File, output: &File, tun: &Tap) -> io::Result<Stats> {
    let mut stats = Stats::default();
    let mut poller = Poller::new(4)?;
    poller.add(input.as_raw_fd(), STREAM)?;
    poller.add(tun.as_raw_fd(), TUN)?;
    let mut decoder = Decoder::new([0u8; UML_MTU]);
    let mut inbuf = vec![0u8; 4096];
    let mut pkt = vec![0u8; 65536];
    let mut enc = vec![0u8; max_encoded_len(65536)];
    let mut out = output;
    loop {
        let ready: Vec<_> = poller.wait(None)?.collect();
        for r in ready {
            if r.token == STREAM && (r.readable || r.hangup) {
                let n = match (&*input).read(&mut inbuf) {
                    Ok(0) => return Ok(stats),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    // A pty whose master is closed reads EIO: the line hung up.
                    Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(stats),
                    Err(e) => return Err(e),
                };
                let mut failed = None;
                decoder.decode(&inbuf[..n], |frame| match frame {
                    Ok(p) => match tun.send(p) {
                        Ok(_) => stats.to_tun += 1,
                        // A packet the host refuses (not IPv4) is dropped like on a line.
                        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => stats.bad_frames += 1,
                        Err(e) => failed = Some(e),
                    },
                    Err(_) => stats.bad_frames += 1,
                });
                if let Some(e) = failed {
                    return Err(e);
                }
            } else if r.token == TUN && r.readable {
                while let Some(n) = tun.recv(&mut pkt)? {
                    // SLIP carries IPv4 only (the UML side hands every packet up as
                    // IPv4), and only what fits the guest's MTU arrives whole.
                    if n == 0 || n > UML_MTU || pkt[0] >> 4 != 4 {
                        continue;
                    }
                    let m =
                        encode(&pkt[..n], &mut enc).map_err(|e| io::Error::other(e.to_string()))?;
                    match out.write_all(&enc[..m]) {
                        Ok(()) => stats.to_stream += 1,
                        Err(e) if matches!(e.raw_os_error(), Some(libc::EIO | libc::EPIPE)) => {
                            return Ok(stats);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

/// `umlnet slip-bridge`: the program for the UML kernel's `slirp` transport, which
/// speaks SLIP on the program's stdin/stdout. It makes a TUN device, sets the host up
/// as the UML networking page's by-hand SLIP setup says (the host end `--local` with the guest
/// `--peer` as its point-to-point peer, the guest's ARP entry published on the LAN
/// devices whose routes hold it, forwarding), bridges until the guest goes, then
/// withdraws what it set up (the TUN device goes with its descriptor).
///
/// `eth0=slirp,,/usr/bin/umlnet,slip-bridge,--local,10.0.7.1,--peer,10.0.7.2`
///
/// Creating and configuring the TUN device needs `CAP_NET_ADMIN` (run UML as root, or
/// give umlnet the capability).
#[derive(Debug, Clone, clap::Args)]
pub struct BridgeArgs {
    /// The host end's address.
    #[arg(long)]
    pub local: Ipv4Addr,
    /// The guest's address (the other end of the line).
    #[arg(long)]
    pub peer: Ipv4Addr,
    /// The TUN device's name (a `%d` is replaced by the first free number).
    #[arg(long, default_value = "umlsl%d")]
    pub dev: String,
    /// Print the host setup and exit without changing anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// Why `slip-bridge` could not start.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The device name is not a valid interface name.
    #[error("slip-bridge: '{0}' is not a valid interface name")]
    BadName(String),
    /// The host end and the guest have the same address.
    #[error("slip-bridge: --local and --peer must differ (both are {0})")]
    SameAddress(Ipv4Addr),
    /// Creating the TUN device failed.
    #[error("slip-bridge: creating TUN device '{dev}' failed: {source} (this needs CAP_NET_ADMIN)")]
    Tun {
        /// The name asked for.
        dev: String,
        /// The error.
        source: io::Error,
    },
    /// The host plan could not be made.
    #[error("slip-bridge: {0}")]
    Plan(#[from] umlnet_core::host::PlanError),
    /// A host change failed (and what was done of the plan was undone).
    #[error("slip-bridge: {0}")]
    Apply(#[from] crate::hostapply::ApplyError),
    /// Reading or writing the line or the device failed.
    #[error("slip-bridge: {0}")]
    Io(#[from] io::Error),
}

/// The host plan `slip-bridge` applies for TUN device `dev`.
pub fn bridge_plan(
    dev: &str,
    local: Ipv4Addr,
    peer: Ipv4Addr,
    routes: &[umlnet_core::host::LanRoute],
) -> Result<umlnet_core::host::Plan, BridgeError> {
    use umlnet_core::cmdline::{DeviceSpec, Slip, Transport};
    use umlnet_core::host::{GuestAddr, HostContext, Setup, plan_for};
    if local == peer {
        return Err(BridgeError::SameAddress(local));
    }
    let spec = DeviceSpec {
        index: 0,
        transport: Transport::Slip(Slip { gate: Some(local) }),
    };
    let guests = [GuestAddr {
        ip: peer,
        netmask: None,
    }];
    let ctx = HostContext {
        setup: Setup::Manual {
            gate: None,
            create_tap: false,
        },
        ..HostContext::new(Some(dev), &guests, routes)
    };
    Ok(plan_for(&spec, &ctx)?)
}

fn host_routes() -> Vec<umlnet_core::host::LanRoute> {
    crate::sys::sysctl::routes()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| umlnet_core::host::LanRoute::new(&r.iface, r.dest, r.mask).ok())
        .collect()
}

/// Runs `slip-bridge` on this process's stdin and stdout.
pub fn bridge_stdio(args: &BridgeArgs) -> Result<Stats, BridgeError> {
    use crate::hostapply::{Applier, TUN_CLONE, Tolerance};
    use crate::sys::tun::TunMode;
    use std::os::fd::AsFd;
    if umlnet_core::host::if_name(&args.dev).is_err() {
        return Err(BridgeError::BadName(args.dev.clone()));
    }
    if args.dry_run {
        let plan = bridge_plan(&args.dev, args.local, args.peer, &host_routes())?;
        print!("ip tuntap add dev {} mode tun\n{plan}", args.dev);
        return Ok(Stats::default());
    }
    let tun = Tap::open_device(
        std::path::Path::new(TUN_CLONE),
        &args.dev,
        TunMode::Tun,
        true,
    )
    .map_err(|source| BridgeError::Tun {
        dev: args.dev.clone(),
        source,
    })?;
    let plan = bridge_plan(tun.name(), args.local, args.peer, &host_routes())?;
    let mut applier = Applier::new(false, Tolerance::Strict);
    applier.apply(&plan)?;
    eprintln!(
        "slip-bridge: SLIP on stdin/stdout <-> {} ({} peer {})",
        tun.name(),
        args.local,
        args.peer
    );
    let input = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let output = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    let result = run(&input, &output, &tun);
    applier.rollback(&plan);
    Ok(result?)
}

/// `umlnet slip-bridge`: runs [`bridge_stdio`], prints an error line on failure, and
/// returns the exit status.
pub fn main(args: &BridgeArgs) -> std::process::ExitCode {
    match bridge_stdio(args) {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_bridge_plan_is_the_seeds_slip_setup() {
        let routes = [umlnet_core::host::LanRoute::new(
            "eth0",
            [10, 9, 7, 0].into(),
            [255, 255, 255, 0].into(),
        )
        .unwrap()];
        let plan = bridge_plan(
            "umlsl0",
            Ipv4Addr::new(10, 9, 7, 1),
            Ipv4Addr::new(10, 9, 7, 2),
            &routes,
        )
        .unwrap();
        assert_eq!(
            plan.to_string(),
            "ip addr add 10.9.7.1 peer 10.9.7.2/32 dev umlsl0\n\
             ip link set dev umlsl0 up\n\
             ip neigh add proxy 10.9.7.2 dev eth0\n\
             sysctl -w net.ipv4.ip_forward=1\n"
        );
        assert!(matches!(
            bridge_plan(
                "umlsl0",
                Ipv4Addr::new(10, 9, 7, 1),
                Ipv4Addr::new(10, 9, 7, 1),
                &[]
            ),
            Err(BridgeError::SameAddress(_))
        ));
    }
}
