//! A load generator for switches that speak the daemon protocol: ours, the original
//! `uml_switch` and `vde_switch`, measured side by side (`umlnet-bench switch`).
//!
//! Clients attach exactly as the UML kernel does ([`umlnet_linux::switchd::client`]): abstract
//! 110-byte data addresses, never connected. The switch runs pinned to one CPU
//! (`taskset`), the generator to another. Rows: unicast 1→1 and 2→2 with 60- and
//! 1514-byte frames, broadcast to 3 and to 999 ports, paced and windowed rows, and a
//! ping-pong round trip.
//!
//! The clients wait for frames in one of two ways ([`Clients`]): asleep, as UML kernels
//! do (blocking `sendmmsg` per sender thread, one receiving thread in `epoll_wait` at a
//! higher priority, [`RECEIVER_NICE`] over [`SENDER_NICE`], since they share the
//! generator's CPU), so a switch pays for waking its clients; or spinning, one thread
//! that never sleeps, so what is left is the switch's own work per frame.
//!
//! Method, the same for every switch: in the throughput rows a sender keeps at most
//! [`THROUGHPUT_WINDOW`] frames in flight per receiver: otherwise a sender that is
//! cheaper per frame than its receivers outruns them and the row measures the
//! scheduler, not the switch. Paced rows show the loss when the receivers keep up.
//! Delivered frames/s is counted at the receivers, over the time until the last frame
//! arrived (frames a switch queued and delivered after the senders stopped count, and
//! so does the time they took); loss is 1 − delivered ÷ (sent × receivers per frame);
//! each cell is the median of `--repeat` runs, each on a fresh switch. The switch's
//! CPU time per delivered frame (`/proc/<pid>/schedstat`) is shown too: it tells
//! whether the switch or the generator limited a row (the switch's share of its CPU)
//! and what a frame costs the switch, which other load on the machine disturbs less
//! than the rate (ours includes its busy-poll windows). Right after the switches ran
//! the 999-port row, [`fanout_floor`] measures that row's kernel floor: the time the
//! kernel alone takes to hand one frame to one receiver, which every switch pays per
//! delivered frame, so its table ([`FloorSummary`]) gives how far any switch could get
//! there.
//!
//! Modules: [`scenario`] (the rows), [`target`] (the switches), [`row`] (one row against
//! one switch), `sleeping` and `spinning` (the two generators), `receive` (their
//! receiving side), [`floor`] (the kernel floor), [`table`] (the Markdown tables) and
//! [`run`](mod@run) (a whole run).

pub mod floor;
mod receive;
pub mod row;
pub mod run;
pub mod scenario;
mod sleeping;
mod spinning;
pub mod table;
pub mod target;

pub use floor::{Floor, FloorSummary, fanout_floor};
pub use receive::RECEIVER_NICE;
pub use row::{Cell, Clients, RowResult, cpu_ns, run_row, run_rtt};
pub use run::{BenchOptions, run};
pub use scenario::{GIVE_UP, Pattern, SCENARIOS, Scenario, THROUGHPUT_WINDOW};
pub use sleeping::SENDER_NICE;
pub use target::{Running, Target};
