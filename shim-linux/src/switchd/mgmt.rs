//! The `-mgmt` console: a unix stream socket taking one command per line and answering
//! with lines of text, each answer ended by an empty line.
//!
//! Commands: `ports`, `macs`, `stats`, `hub on|off`, `help`. Try it with
//! `socat - UNIX-CONNECT:<path>` or [`switch_status`].

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use umlnet_core::switch::{MacSlot, PortId, PortSlot, Switch};

use super::daemon::{DaemonStats, SwitchDaemon};
use super::ports::{PortKind, addr_label};
use super::token::Token;
use crate::sys::epoll::Poller;

/// At most this many addresses are listed by `macs` (the count is always given).
pub const MAX_MACS_LISTED: usize = 1000;

/// One attached port as the console shows it.
pub(crate) struct PortView {
    pub id: u16,
    pub kind: String,
    pub up_secs: u64,
}

/// What a console command may look at.
pub(crate) struct View<'a, I: Iterator<Item = PortView>> {
    pub sw: &'a Switch<Vec<MacSlot>, Vec<PortSlot>>,
    pub ports: I,
    pub stats: &'a DaemonStats,
    pub pending: usize,
    /// The VXLAN counters, when the switch has uplinks.
    pub vxlan: Option<super::vxlan::VxlanStats>,
}

/// What a console command does.
pub(crate) enum Outcome {
    /// Answer with this text.
    Text(String),
    /// Switch hub mode on or off (the caller answers).
    SetHub(bool),
}

const HELP: &str = "commands:\n\
  ports        attached ports: id, kind, data address, counters, learned addresses\n\
  macs         learned addresses: mac, port, seconds since last seen\n\
  stats        switch-wide counters\n\
  hub on|off   flood every frame (hub) or learn and forward (switch)\n\
  help         this text";

pub(crate) fn execute<I: Iterator<Item = PortView>>(line: &str, v: View<'_, I>) -> Outcome {
    let words: Vec<&str> = line.split_whitespace().collect();
    let text = match words.as_slice() {
        ["help"] | ["?"] => HELP.to_string(),
        ["ports"] => {
            let mut ports: Vec<PortView> = v.ports.collect();
            ports.sort_by_key(|p| p.id);
            let mut s = format!("{} ports\n", ports.len());
            for p in ports {
                let st = v.sw.port_stats(PortId(p.id)).unwrap_or_default();
                s.push_str(&format!(
                    "port {} {} up {}s rx {} frames {} bytes tx {} frames {} bytes tx_errors {} drops {} macs {}\n",
                    p.id,
                    p.kind,
                    p.up_secs,
                    st.rx_frames,
                    st.rx_bytes,
                    st.tx_frames,
                    st.tx_bytes,
                    st.tx_errors,
                    st.drops.total(),
                    st.learned
                ));
            }
            s
        }
        ["macs"] => {
            let mut s = format!("{} addresses\n", v.sw.len());
            for e in v.sw.entries().take(MAX_MACS_LISTED) {
                s.push_str(&format!(
                    "{} port {} age {}s\n",
                    e.mac,
                    e.port.0,
                    e.age.secs()
                ));
            }
            if v.sw.len() > MAX_MACS_LISTED {
                s.push_str(&format!("... and {} more\n", v.sw.len() - MAX_MACS_LISTED));
            }
            s
        }
        ["stats"] => {
            let st = v.sw.stats();
            let d = v.stats;
            let mut s = format!(
                "mode {}\nports {}\naddresses {} of {}\nrx_frames {}\nrx_bytes {}\nunicast_frames {}\nflooded_frames {}\n\
                 unknown_unicast_frames {}\ndrops_runt {}\ndrops_oversize {}\ndrops_reflected {}\ndrops_unknown_sender {}\n\
                 tx_frames {}\ntx_deferred {}\ntx_queue_full {}\ntx_refused {}\ntx_other_errors {}\nlearned {}\nmoved {}\nevicted {}\naged {}\npurged {}\n\
                 connections {}\nports_attached {}\nports_detached {}\nrequests_refused {}\npending_requests {}\ncaptured {}",
                if v.sw.is_hub() { "hub" } else { "switch" },
                v.sw.port_count(),
                v.sw.len(),
                v.sw.capacity(),
                st.rx_frames,
                st.rx_bytes,
                st.unicast_frames,
                st.flooded_frames,
                st.unknown_unicast_frames,
                st.drops.runt,
                st.drops.oversize,
                st.drops.reflected,
                d.unknown_sender,
                d.tx_frames,
                d.tx_deferred,
                d.tx_queue_full,
                d.tx_refused,
                d.tx_other_errors,
                st.learned,
                st.moved,
                st.evicted,
                st.aged,
                st.purged,
                d.connections,
                d.ports_attached,
                d.ports_detached,
                d.requests_refused,
                v.pending,
                d.captured
            );
            for (name, n) in v.vxlan.iter().flat_map(|x| x.lines()) {
                s.push_str(&format!("\n{name} {n}"));
            }
            s
        }
        ["hub", "on"] => return Outcome::SetHub(true),
        ["hub", "off"] => return Outcome::SetHub(false),
        ["hub"] => format!(
            "hub is {}; say 'hub on' or 'hub off'",
            if v.sw.is_hub() { "on" } else { "off" }
        ),
        [] => "empty command; try 'help'".to_string(),
        _ => format!("unknown command '{line}'; try 'help'"),
    };
    Outcome::Text(text)
}

/// Asks the console at `path` for `stats`, `ports` and `macs` and returns the answers
/// (what `umlnet switch-status <path>` prints).
pub fn switch_status(path: &Path) -> io::Result<String> {
    let context =
        |what: String| move |e: io::Error| io::Error::new(e.kind(), format!("{what}: {e}"));
    let mut s = UnixStream::connect(path).map_err(context(format!(
        "connecting to the switch console '{}' (was uml_switch started with -mgmt?)",
        path.display()
    )))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"stats\nports\nmacs\n")?;
    let mut r = BufReader::new(s);
    let mut out = String::new();
    let mut answers = 0;
    let mut line = String::new();
    while answers < 3 {
        line.clear();
        if r.read_line(&mut line)
            .map_err(context("reading the console's answer".to_string()))?
            == 0
        {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the switch console closed the connection after {answers} of 3 answers"),
            ));
        }
        if line == "\n" {
            answers += 1;
        }
        out.push_str(&line);
    }
    Ok(out)
}
/// A `-mgmt` console connection and the bytes of its unfinished line.
/// Console connections open at once; more are closed as they come.
pub const MAX_CONSOLES: usize = 16;

pub(super) struct MgmtConn {
    pub(super) stream: UnixStream,
    pub(super) input: Vec<u8>,
    /// The peer is root or the switch's own user (`SO_PEERCRED`): it may change the
    /// switch (`hub on|off`); anybody else who can reach the console may only look.
    pub(super) may_change: bool,
}

impl SwitchDaemon {
    /// Accepts every waiting `-mgmt` console connection.
    pub(super) fn accept_mgmt(&mut self, poller: &Poller) {
        let Some(l) = &self.mgmt_listener else { return };
        loop {
            match l.accept() {
                Ok((s, _)) => {
                    if self.mgmt_conns.len() >= MAX_CONSOLES {
                        if self.admission.log.allow() {
                            tracing::warn!(
                                "{MAX_CONSOLES} console connections open; closing a new one"
                            );
                        }
                        continue;
                    }
                    if s.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let fd = s.as_raw_fd();
                    let ours = crate::sys::access::effective_uid();
                    let may_change = crate::sys::access::peer_cred(fd)
                        .is_ok_and(|c| c.uid == 0 || c.uid == ours);
                    if poller.add(fd, u64::from(Token::Mgmt(fd))).is_ok() {
                        self.mgmt_conns.insert(
                            fd,
                            MgmtConn {
                                stream: s,
                                input: Vec::new(),
                                may_change,
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // Out of descriptors: rest rather than be woken for it at once.
                    self.out_of_descriptors(poller, Token::MgmtListener, &e);
                    return;
                }
            }
        }
    }

    /// Reads a console connection and answers each whole line it has sent.
    pub(super) fn mgmt_event(&mut self, poller: &Poller, fd: RawFd) {
        let Some(conn) = self.mgmt_conns.get_mut(&fd) else {
            return;
        };
        let mut buf = [0u8; 1024];
        let close = match conn.stream.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                conn.input.extend_from_slice(&buf[..n]);
                conn.input.len() > 4096
            }
            Err(e) => {
                !(e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted)
            }
        };
        let mut close = close;
        while let Some(nl) = self
            .mgmt_conns
            .get(&fd)
            .and_then(|c| c.input.iter().position(|b| *b == b'\n'))
        {
            let line: Vec<u8> = self
                .mgmt_conns
                .get_mut(&fd)
                .expect("checked")
                .input
                .drain(..=nl)
                .collect();
            let line = String::from_utf8_lossy(&line).trim().to_string();
            let may_change = self.mgmt_conns.get(&fd).is_some_and(|c| c.may_change);
            let mut reply = self.mgmt_command(&line, may_change);
            if !reply.ends_with('\n') {
                reply.push('\n');
            }
            reply.push('\n');
            let conn = self.mgmt_conns.get_mut(&fd).expect("checked");
            match conn.stream.write(reply.as_bytes()) {
                Ok(n) if n == reply.len() => {}
                // A console that does not read its answers is dropped rather than waited for.
                _ => close = true,
            }
            if close {
                break;
            }
        }
        if close {
            let _ = poller.delete(fd);
            self.mgmt_conns.remove(&fd);
        }
    }

    /// Runs one console command and returns its answer; a command that changes the
    /// switch is refused unless `may_change`.
    pub(super) fn mgmt_command(&mut self, line: &str, may_change: bool) -> String {
        let now = self.now();
        self.sw.age(now);
        let view = View {
            sw: &self.sw,
            ports: self.ports.iter().enumerate().filter_map(|(i, p)| {
                p.as_ref().map(|p| PortView {
                    id: i as u16,
                    kind: match &p.kind {
                        PortKind::Client { addr, layout, .. } => {
                            format!("{layout} {}", addr_label(addr))
                        }
                        PortKind::Tap => {
                            format!("tap {}", self.tap.as_ref().map_or("", |t| t.name()))
                        }
                        PortKind::Vxlan(u) => self.uplinks.describe(*u),
                    },
                    up_secs: now.saturating_duration_since(p.attached_at).secs(),
                })
            }),
            stats: &self.stats,
            pending: self.pending.len(),
            vxlan: (!self.uplinks.is_empty()).then(|| self.uplinks.stats()),
        };
        match execute(line, view) {
            Outcome::Text(t) => t,
            Outcome::SetHub(_) if !may_change => format!(
                "refused: only root or uid {} (the switch's user) may change the switch",
                crate::sys::access::effective_uid()
            ),
            Outcome::SetHub(on) => {
                self.sw.set_hub(on);
                format!("hub {}", if on { "on" } else { "off" })
            }
        }
    }
}
