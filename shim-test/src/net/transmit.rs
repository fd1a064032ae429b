//! Frames into and out of a segment: sending (capture, transcript, where the carrier
//! sends the frame, the faults drawn for each copy) and reading an endpoint's inbox.

use super::faults::corrupt;
use super::{
    Carrier, Corruption, EPOCH, EndpointId, Event, Framing, MTU, Net, Segment, SegmentId, SimError,
    port_of, stamp,
};
use crate::summary;
use smoltcp::time::{Duration, Instant};
use std::string::String;
use std::vec;
use std::vec::Vec;
use umlnet_core::link::SendStatus;
use umlnet_core::slip;
use umlnet_core::switch::{self, Verdict};

impl Net {
    pub(super) fn recv(&self, ep: EndpointId, buf: &mut [u8]) -> Result<Option<usize>, SimError> {
        let mut s = self.0.borrow_mut();
        let e = &mut s.endpoints[ep.0];
        if !e.attached {
            return Err(SimError::Detached);
        }
        match e.inbox.pop_front() {
            Some(f) => {
                let n = f.len().min(buf.len());
                buf[..n].copy_from_slice(&f[..n]);
                s.spare.push(f);
                Ok(Some(n))
            }
            None => Ok(None),
        }
    }

    /// Whether an endpoint has frames waiting.
    pub fn has_input(&self, ep: EndpointId) -> bool {
        !self.0.borrow().endpoints[ep.0].inbox.is_empty()
    }

    pub(super) fn send(&self, ep: EndpointId, frame: &[u8]) -> Result<SendStatus, SimError> {
        let mut guard = self.0.borrow_mut();
        let s = &mut *guard;
        let e = &s.endpoints[ep.0];
        if !e.attached {
            return Err(SimError::Detached);
        }
        let now = s.now;
        let g = &mut s.segments[e.segment];
        g.stats.sent += 1;
        if s.capture {
            capture(g, ep.0, now, frame);
        }
        if s.trace_frames {
            let line = std::format!(
                "{} {}: {} > {}",
                stamp(now),
                g.name,
                e.name,
                summary::summarize(g.framing, frame)
            );
            s.transcript.push(line);
        }
        if !g.up {
            g.stats.dropped += 1;
            return Ok(SendStatus::Sent);
        }
        let mut targets: [usize; 8] = [0; 8];
        let mut many: Vec<usize> = Vec::new();
        let mut n = 0;
        let mut push = |t: usize| {
            if n < targets.len() {
                targets[n] = t;
            } else {
                if many.is_empty() {
                    many.extend_from_slice(&targets);
                }
                many.push(t);
            }
            n += 1;
        };
        match &mut g.carrier {
            Carrier::Wire | Carrier::Hub => {
                for &t in &g.endpoints {
                    if t != ep.0 && s.endpoints[t].attached {
                        push(t);
                    }
                }
            }
            Carrier::Switch(sw) => {
                let me = switch::PortId(port_of(&g.endpoints, ep.0));
                let when = umlnet_core::time::Instant::from_millis((now - EPOCH).total_millis());
                match sw.forward(me, frame, when) {
                    Verdict::Drop(_) => g.stats.dropped += 1,
                    Verdict::Unicast(p) => {
                        if let Some(&t) = g.endpoints.get(usize::from(p.0)) {
                            push(t);
                        }
                    }
                    Verdict::Flood { except } => {
                        for (i, &t) in g.endpoints.iter().enumerate() {
                            if i != usize::from(except.0) && s.endpoints[t].attached {
                                push(t);
                            }
                        }
                    }
                }
            }
        }
        let list: &[usize] = if many.is_empty() {
            &targets[..n]
        } else {
            &many
        };
        let faults = g.faults;
        let latency = g.latency;
        let framing = g.framing;
        let seg = e.segment;
        for &to in list {
            if !faults.any() {
                let mut copy = s.spare.pop().unwrap_or_default();
                copy.clear();
                copy.extend_from_slice(frame);
                let seq = s.seq;
                s.seq += 1;
                s.events
                    .insert((now + latency, seq), Event::Deliver { to, frame: copy });
                continue;
            }
            let rng = &mut s.rng;
            let g = &mut s.segments[seg];
            if rng.chance(faults.loss) {
                g.stats.lost += 1;
                if s.trace_frames {
                    let line = std::format!(
                        "{} {}: fault: lost to {}",
                        stamp(now),
                        g.name,
                        s.endpoints[to].name
                    );
                    s.transcript.push(line);
                }
                continue;
            }
            let mut at = now + latency;
            let mut what = String::new();
            if rng.chance(faults.reorder) {
                g.stats.reordered += 1;
                at += latency * (1 + rng.below(4) as u32);
                what.push_str(" held back");
            }
            if rng.chance(faults.delay) {
                g.stats.delayed += 1;
                at += Duration::from_micros(rng.below(faults.max_delay.total_micros() + 1));
                what.push_str(" delayed");
            }
            let mut copy = frame.to_vec();
            if rng.chance(faults.corrupt) && corrupt(framing, &mut copy, rng) {
                g.stats.corrupted += 1;
                what.push_str(" corrupted");
                s.corruptions.push(Corruption {
                    segment: SegmentId(seg),
                    to: EndpointId(to),
                    bytes: copy.clone(),
                });
            }
            let dup = rng.chance(faults.duplicate);
            if dup {
                g.stats.duplicated += 1;
                what.push_str(" duplicated");
            }
            if s.trace_frames && !what.is_empty() {
                let line = std::format!(
                    "{} {}: fault:{what} to {} (due {})",
                    stamp(now),
                    g.name,
                    s.endpoints[to].name,
                    stamp(at)
                );
                s.transcript.push(line);
            }
            if dup {
                let seq = s.seq;
                s.seq += 1;
                s.events.insert(
                    (at + latency / 2, seq),
                    Event::Deliver {
                        to,
                        frame: copy.clone(),
                    },
                );
            }
            let seq = s.seq;
            s.seq += 1;
            s.events
                .insert((at, seq), Event::Deliver { to, frame: copy });
        }
        Ok(SendStatus::Sent)
    }
}

fn capture(g: &mut Segment, from: usize, now: Instant, frame: &[u8]) {
    let micros = (now - Instant::ZERO).total_micros();
    match g.framing {
        Framing::Ethernet => g.pcap.record(micros, frame),
        Framing::Ethertap => {
            if let Ok(f) = umlnet_core::ethernet::strip_ethertap(frame) {
                g.pcap.record(micros, f);
            }
        }
        Framing::Slip => {
            let dec = g
                .capture
                .entry(from)
                .or_insert_with(|| slip::Decoder::new(vec![0; MTU]));
            let pcap = &mut g.pcap;
            dec.decode(frame, |r| {
                if let Ok(p) = r {
                    pcap.record(micros, p);
                }
            });
        }
    }
}
