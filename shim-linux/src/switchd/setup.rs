//! Setting the switch up: the control socket (a stale one reclaimed, a live one
//! refused), the data socket, the TAP port, the console, the capture file, the uplinks.

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use umlnet_core::daemon::DataAddr;
use umlnet_core::switch::{DEFAULT_MAX_FRAME_LEN, MacSlot, PortSlot, Switch};

use super::daemon::{DaemonStats, MAC_PER_PORT, MAC_SLOTS, PORT_SLOTS, SwitchDaemon};
use super::error::{SwitchError, io_err};
use super::ports::{AddrHasherBuilder, PortKind};
use super::spin::BUSY_POLL;
use super::{Config, pcap, vxlan};
use crate::sys::socket::{DgramSocket, SOCKADDR_UN_LEN};
use crate::sys::tun::Tap;

/// Checks a taken socket path before it is probed or removed: it must be a socket
/// (not a link or anything else) and ours.
pub(super) fn check_taken_path(path: &Path) -> Result<(), SwitchError> {
    let meta = std::fs::symlink_metadata(path).map_err(io_err("inspecting", path.display()))?;
    if !meta.file_type().is_socket() {
        return Err(SwitchError::NotASocket(path.to_path_buf()));
    }
    let ours = crate::sys::access::effective_uid();
    if meta.uid() != ours {
        return Err(SwitchError::NotOurs {
            path: path.to_path_buf(),
            owner: meta.uid(),
            ours,
        });
    }
    Ok(())
}

/// Gives a socket file we just bound its mode and group.
fn set_access(path: &Path, mode: u32, gid: Option<u32>) -> Result<(), SwitchError> {
    if let Some(g) = gid {
        std::os::unix::fs::lchown(path, None, Some(g))
            .map_err(io_err("setting the group of", path.display()))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io_err("setting the mode of", path.display()))
}

/// The group id `-group` names (a name from the group database, or a number).
fn resolve_group(group: &str) -> Result<u32, SwitchError> {
    if let Ok(n) = group.parse::<u32>() {
        return Ok(n);
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        _ => Err(SwitchError::NoSuchGroup(group.to_string())),
    }
}

/// Binds `path` as a listening stream socket, reclaiming a stale socket file the way the
/// original does: if the path is in use, a `connect` probe that is refused means nobody
/// serves it, so it is removed and bound again. A path that is not a socket of our
/// own user is refused before anything is probed or removed.
pub(super) fn bind_control(path: &Path) -> Result<UnixListener, SwitchError> {
    match UnixListener::bind(path) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            check_taken_path(path)?;
            match UnixStream::connect(path) {
                Ok(_) => Err(SwitchError::CtlInUse(path.to_path_buf())),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)
                        .map_err(io_err("removing the stale control socket", path.display()))?;
                    tracing::info!("removed stale control socket '{}'", path.display());
                    UnixListener::bind(path)
                        .map_err(io_err("binding the control socket", path.display()))
                }
                Err(e) => Err(io_err("probing the control socket", path.display())(e)),
            }
        }
        Err(e) => Err(io_err("binding the control socket", path.display())(e)),
    }
}

/// Binds the `-compat-v0` filesystem data socket, reclaiming a stale one.
pub(super) fn bind_data_path(path: &Path) -> Result<(DgramSocket, DataAddr), SwitchError> {
    let raw = crate::sys::socket::path_addr_bytes(path)
        .map_err(io_err("data socket path", path.display()))?;
    match DgramSocket::bind_raw(&raw, SOCKADDR_UN_LEN) {
        Ok(s) => Ok((s, DataAddr::from_array(raw))),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            check_taken_path(path)?;
            let probe = DgramSocket::new().map_err(io_err("socket", "data probe"))?;
            match probe.connect_raw(&raw, SOCKADDR_UN_LEN) {
                Ok(()) => Err(SwitchError::DataInUse(path.to_path_buf())),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)
                        .map_err(io_err("removing the stale data socket", path.display()))?;
                    let s = DgramSocket::bind_raw(&raw, SOCKADDR_UN_LEN)
                        .map_err(io_err("binding the data socket", path.display()))?;
                    Ok((s, DataAddr::from_array(raw)))
                }
                Err(e) => Err(io_err("probing the data socket", path.display())(e)),
            }
        }
        Err(e) => Err(io_err("binding the data socket", path.display())(e)),
    }
}

/// Binds an abstract data socket named like the original's: `{0, pid, usec}`, zeros.
fn bind_data_abstract() -> Result<(DgramSocket, DataAddr), SwitchError> {
    let pid = std::process::id();
    let mut usec = crate::sys::process::wall_clock_micros();
    let mut last = None;
    for _ in 0..16 {
        let addr = DataAddr::uml_abstract(pid, usec);
        match DgramSocket::bind_raw(addr.as_bytes(), SOCKADDR_UN_LEN) {
            Ok(s) => return Ok((s, addr)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                usec = usec.wrapping_add(1);
                last = Some(e);
            }
            Err(e) => return Err(io_err("binding the data socket", "abstract")(e)),
        }
    }
    Err(io_err("binding the data socket", "abstract")(
        last.unwrap_or_else(|| io::ErrorKind::AddrInUse.into()),
    ))
}

impl SwitchDaemon {
    /// Sets everything up as the original does before it prints its banner: the control
    /// socket (stale one reclaimed, live one refused), the data socket, the TAP port,
    /// and the umlnet extras (console, capture file).
    pub fn bind(cfg: Config) -> Result<SwitchDaemon, SwitchError> {
        let gid = cfg.group.as_deref().map(resolve_group).transpose()?;
        // Bind with nobody else allowed in, then open up as asked: no client reaches a
        // socket before it has its mode and group.
        let umask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
        let res = Self::bind_private(cfg, gid, umask.bits() as u32);
        nix::sys::stat::umask(umask);
        res
    }

    fn bind_private(
        cfg: Config,
        gid: Option<u32>,
        umask: u32,
    ) -> Result<SwitchDaemon, SwitchError> {
        let socket_mode = cfg.mode.unwrap_or(0o777 & !umask);
        let console_mode = cfg.mode.unwrap_or(0o600);
        let mut owned_paths = Vec::new();
        let listener = bind_control(&cfg.ctl)?;
        owned_paths.push(cfg.ctl.clone());
        // From here on a failure must remove what we created: build a guard-like value early.
        let cleanup = |paths: &[PathBuf]| {
            for p in paths {
                let _ = std::fs::remove_file(p);
            }
        };
        let res = (|| {
            listener
                .set_nonblocking(true)
                .map_err(io_err("O_NONBLOCK on", cfg.ctl.display()))?;
            set_access(&cfg.ctl, socket_mode, gid)?;
            let (data, data_addr) = match &cfg.data {
                Some(p) => {
                    let r = bind_data_path(p)?;
                    owned_paths.push(p.clone());
                    set_access(p, socket_mode, gid)?;
                    r
                }
                None => bind_data_abstract()?,
            };
            // Queued frames towards slow receivers are charged to our send buffer.
            let _ = data.set_send_buffer(8 << 20);
            let _ = data.set_recv_buffer(4 << 20);
            let tap = match &cfg.tap {
                Some(dev) => Some(Tap::open(dev).map_err(io_err("attaching the tap device", dev))?),
                None => None,
            };
            let mgmt_listener = match &cfg.mgmt {
                Some(p) => {
                    let l = bind_control(p).map_err(|e| match e {
                        SwitchError::CtlInUse(p) => SwitchError::Io {
                            what: "the console socket is served by another process",
                            path: p.display().to_string(),
                            source: io::ErrorKind::AddrInUse.into(),
                        },
                        other => other,
                    })?;
                    owned_paths.push(p.clone());
                    l.set_nonblocking(true)
                        .map_err(io_err("O_NONBLOCK on", p.display()))?;
                    set_access(p, console_mode, gid)?;
                    Some(l)
                }
                None => None,
            };
            let pcap = match &cfg.pcap {
                Some(p) => Some(
                    pcap::PcapWriter::create_bounded(p, cfg.pcap_size)
                        .map_err(io_err("creating the capture file", p.display()))?,
                ),
                None => None,
            };
            let uplinks = vxlan::Uplinks::bind(&cfg.vxlan)
                .map_err(io_err("setting up the uplinks", "-vxlan"))?;
            // The vector and QEMU sockets get the same mode and group as the control
            // socket.
            let peers_from = owned_paths.len();
            let vector = super::vector::bind_listeners(&cfg, &mut owned_paths)?;
            let qemu = super::qemu::bind(&cfg, &mut owned_paths)?;
            for p in &owned_paths[peers_from..] {
                set_access(p, socket_mode, gid)?;
            }
            let l2tp = super::l2tpv3::bind(&cfg.l2tpv3)
                .map_err(io_err("setting up the L2TPv3 links", "-l2tpv3"))?;
            Ok((
                data,
                data_addr,
                tap,
                mgmt_listener,
                pcap,
                uplinks,
                vector,
                qemu,
                l2tp,
            ))
        })();
        let (data, data_addr, tap, mgmt_listener, pcap, uplinks, vector, (stream, dgram), l2tp) =
            match res {
                Ok(v) => v,
                Err(e) => {
                    cleanup(&owned_paths);
                    return Err(e);
                }
            };
        let seed = u64::from(std::process::id()) << 32
            ^ u64::from(crate::sys::process::wall_clock_micros());
        let mut sw = Box::new(Switch::new(
            vec![MacSlot::EMPTY; MAC_SLOTS],
            vec![PortSlot::EMPTY; PORT_SLOTS],
        ));
        sw.set_hub(cfg.hub);
        sw.set_max_frame_len(DEFAULT_MAX_FRAME_LEN);
        sw.set_hash_seed(seed.rotate_left(17) ^ 0x5bd1_e995);
        sw.set_port_limit(MAC_PER_PORT);
        let mut d = SwitchDaemon {
            cfg,
            listener,
            data,
            data_addr,
            tap,
            mgmt_listener,
            pcap,
            sw,
            ports: (0..PORT_SLOTS).map(|_| None).collect(),
            free_ids: (0..PORT_SLOTS as u16).rev().collect(),
            by_addr: HashMap::with_hasher(AddrHasherBuilder(seed)),
            last_hit: None,
            last_egress: None,
            pending: HashMap::new(),
            mgmt_conns: HashMap::new(),
            stats: DaemonStats::default(),
            started: std::time::Instant::now(),
            owned_paths,
            tap_port: None,
            port_socket_seq: 0,
            backlogged: Vec::new(),
            to_arm: Vec::new(),
            backlog_bytes: 0,
            uplinks,
            uplink_ports: Vec::new(),
            busy_poll: BUSY_POLL,
            admission: super::admission::Admission::new(),
            diag_warned: false,
            vector,
            l2tp: Vec::new(),
            qemu: super::qemu::QemuPorts {
                stream,
                ..Default::default()
            },
        };
        d.attach_dgram_peers(dgram);
        d.attach_l2tp(l2tp);
        if d.tap.is_some() {
            let id = d
                .alloc_port(PortKind::Tap)
                .expect("a fresh switch has free ports");
            d.tap_port = Some(id);
        }
        for i in 0..d.uplinks.len() {
            let id = d
                .alloc_port(PortKind::Vxlan(i))
                .expect("a fresh switch has free ports");
            d.uplink_ports.push(id);
            tracing::info!("VXLAN uplink {} is port {id}", d.uplinks.describe(i));
        }
        Ok(d)
    }

    /// The line the original prints once it is ready (without the newline):
    /// `<argv0> attached to unix socket '<ctl>'` (or `…sockets '<ctl>' and '<data>'`),
    /// followed by ` tap device '<dev>'` with `-tap`.
    pub fn banner(&self) -> String {
        let mut s = match &self.cfg.data {
            Some(d) => format!(
                "{} attached to unix sockets '{}' and '{}'",
                self.cfg.argv0,
                self.cfg.ctl.display(),
                d.display()
            ),
            None => format!(
                "{} attached to unix socket '{}'",
                self.cfg.argv0,
                self.cfg.ctl.display()
            ),
        };
        if let Some(t) = &self.tap {
            s.push_str(&format!(" tap device '{}'", t.name()));
        }
        s
    }
}
