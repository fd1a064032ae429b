//! How a host resolves a neighbour with ARP, as Linux's defaults have it: the numbers
//! the guest stack and the simulated host both follow, so that a guest and a host
//! give up on an unreachable neighbour at the same moment.
//!
//! A neighbour that does not answer is asked [`PROBES`] times, [`RETRANS`] apart; while
//! it is being asked, at most [`QUEUE`] packets wait for it (the oldest is dropped
//! beyond that). The frames themselves are Ethernet frames of type
//! [`EtherType::Arp`](crate::ethernet::EtherType::Arp).
//!
//! ```
//! use umlnet_core::arp;
//!
//! // An unreachable neighbour is given up after three requests one second apart.
//! assert_eq!(arp::RETRANS.total_millis() * u64::from(arp::PROBES), 3000);
//! ```

use crate::time::Duration;

/// ARP requests sent before a neighbour is declared unreachable (Linux `mcast_solicit`).
pub const PROBES: u8 = 3;
/// Time between ARP requests for an unresolved neighbour (Linux `retrans_time`).
pub const RETRANS: Duration = Duration::from_secs(1);
/// Packets kept per unresolved neighbour (the oldest is dropped beyond this; Linux
/// holds more, three suffice for pings).
pub const QUEUE: usize = 3;
