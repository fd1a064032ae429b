//! The `uml_net` helper protocol (docs/protocols.md §2): the argv the kernel runs the setuid helper
//! with, and the bytes the helper answers with.
//!
//! * [`HelperCall::parse`] turns the argv (without `argv[0]`) into a typed call, for
//!   every form the original helper accepts (the version 4 forms of the 6.1 kernel and
//!   the older ones of docs/protocols.md §2.7). Because `uml_net` runs **setuid root**, the grammar is
//!   strict: interface names are 1 to 15 letters or digits, addresses are exactly four
//!   decimal octets, netmasks are contiguous, file descriptors are 3 to 65535, and an
//!   extra or missing argument is an error naming its position. Nothing that could
//!   reach a shell or a path survives parsing.
//! * [`HelperCall::to_argv`] produces the exact argv the kernel sends; parsing it gives
//!   the call back.
//! * The output block ([`emit_output_block`], [`parse_output_block`]) with its
//!   `* <argv>` echo line ([`EchoLine`]) and failure lines ([`NotZeroLine`],
//!   [`ExecFailedLine`]); the dynamic-tuntap reply ([`TuntapUpReply`]); ethertap's
//!   status byte ([`EthertapStatus`]) and address-change messages ([`AddrChange`],
//!   [`AddrChangeRepr`]).
//!
//! ```
//! use umlnet_core::helper::{Command, HelperCall};
//! use core::net::Ipv4Addr;
//!
//! let call = HelperCall::parse(&["4", "tuntap", "up", "10.9.0.1"]).unwrap();
//! assert_eq!(call.command, Command::TuntapUp { gate: Some(Ipv4Addr::new(10, 9, 0, 1)) });
//! let argv = call.to_argv();
//! assert!(argv.iter().map(|s| s.as_str()).eq(["4", "tuntap", "up", "10.9.0.1"]));
//! assert!(HelperCall::parse(&["4", "add", "tap0;rm -rf /", "10.0.0.2", "255.255.255.0"]).is_err());
//! ```

mod arg;
mod argv;
mod call;
mod error;
mod ethertap;
mod fuzz;
mod output;
#[cfg(test)]
mod test;
mod tuntap;

pub use crate::ifname::{IFNAME_MAX, IFNAMSIZ, IfName};
pub use arg::{is_contiguous, parse_fd, parse_if_name, parse_ipv4, parse_netmask, parse_tap_name};
pub use call::{AddrOp, Command, HelperCall, Transport};
pub use error::{ArgvError, Expected};
pub use ethertap::{AddrChange, AddrChangeRepr, ChangeOp, EthertapStatus, Truncated, field};
pub use fuzz::fuzz_argv;
pub use output::{
    BufferTooSmall, EchoLine, ExecFailedLine, NotZeroLine, OUTPUT_LEN_FIELD, OutputBlock,
    OutputError, emit_output_block, output_block_len, parse_output_block,
};
pub use tuntap::{TuntapReplyError, TuntapUpReply};

/// The helper protocol version the 6.1 kernel sends (`UML_NET_VERSION`).
pub const UML_NET_VERSION: u32 = 4;
/// Lowest file descriptor a helper accepts for a passed socket (0, 1 and 2 are stdio).
pub const FD_MIN: u16 = 3;
/// Most arguments any form has (without `argv[0]`).
pub const ARGV_MAX: usize = 8;
/// Longest single argument the encoder produces (`255.255.255.255`, or a name).
pub const ARG_MAX: usize = 15;
/// The ethertap status byte for success.
pub const ETHERTAP_OK: u8 = 1;
/// The ethertap status byte for failure.
pub const ETHERTAP_FAILED: u8 = 0;
/// Length of a version 4 ethertap address-change message.
pub const ADDR_CHANGE_LEN: usize = 12;
/// Length of a version 1-3 ethertap address-change message (no netmask).
pub const ADDR_CHANGE_V3_LEN: usize = 8;

/// One encoded argument.
pub type Arg = heapless::String<ARG_MAX>;
/// An encoded argv (without `argv[0]`).
pub type Argv = heapless::Vec<Arg, ARGV_MAX>;
