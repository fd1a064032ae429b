//! The virtual clock: when the next event is due, and [`Net::advance_to`], which
//! carries out deliveries and link changes in time order.

use super::{Carrier, Event, INBOX_DEPTH, Net, new_switch, port_of};
use smoltcp::time::Instant;
use umlnet_core::switch;

impl Net {
    /// When the next event (a delivery, a fault) is due.
    pub fn next_event(&self) -> Option<Instant> {
        self.0.borrow().events.first_key_value().map(|(k, _)| k.0)
    }

    /// Moves the clock to `t` (never backwards), carrying out every event due by then,
    /// in time order and, at one time, in the order they were scheduled. Returns how
    /// many frames were put into inboxes.
    pub fn advance_to(&self, t: Instant) -> usize {
        let mut delivered = 0;
        loop {
            let mut s = self.0.borrow_mut();
            let Some(entry) = s.events.first_entry() else {
                break;
            };
            if entry.key().0 > t {
                break;
            }
            let ((at, _), ev) = entry.remove_entry();
            if at > s.now {
                s.now = at;
            }
            match ev {
                Event::Deliver { to, frame } => {
                    let st = &mut *s;
                    let e = &mut st.endpoints[to];
                    let g = &mut st.segments[e.segment];
                    if e.attached && g.up && e.inbox.len() < INBOX_DEPTH {
                        e.inbox.push_back(frame);
                        g.stats.delivered += 1;
                        delivered += 1;
                    } else {
                        g.stats.dropped += 1;
                        st.spare.push(frame);
                    }
                }
                Event::Down(seg) => {
                    s.segments[seg].up = false;
                    let line = std::format!("{}: link down", s.segments[seg].name);
                    drop(s);
                    self.log(line);
                }
                Event::Up(seg) => {
                    s.segments[seg].up = true;
                    let line = std::format!("{}: link up", s.segments[seg].name);
                    drop(s);
                    self.log(line);
                }
                Event::Restart(seg) => {
                    let st = &mut *s;
                    let g = &mut st.segments[seg];
                    if let Carrier::Switch(sw) = &mut g.carrier {
                        let mut fresh = new_switch(sw.is_hub());
                        for &e in &g.endpoints {
                            if st.endpoints[e].attached {
                                let _ = fresh.add_port(switch::PortId(port_of(&g.endpoints, e)));
                            }
                        }
                        *sw = fresh;
                    }
                    let line = std::format!("{}: switch restarted, address table empty", g.name);
                    drop(s);
                    self.log(line);
                }
            }
        }
        let mut s = self.0.borrow_mut();
        if t > s.now {
            s.now = t;
        }
        delivered
    }
}
