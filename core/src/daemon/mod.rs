//! The `uml_switch` control protocol (the kernel's `daemon` transport, docs/protocols.md §3).
//!
//! A client connects a stream socket to the switch's control path, binds a datagram
//! socket (its *data address*), and writes one request naming that address. The switch
//! answers with the 110-byte `sockaddr_un` of its own data socket; from then on frames
//! are bare datagrams between the two data addresses, and closing the control
//! connection is the only teardown.
//!
//! This module holds the request layouts every known client sends, decoded from **one
//! read** of up to [`MAX_REQUEST_LEN`] bytes (there is no reassembly, as in the original
//! switch), the reply, and [`DataAddr`], the opaque 110-byte socket address both sides
//! exchange.
//!
//! Byte order: the integers are the C structure's `uint32_t`/`enum` fields in the
//! **host's native order**. On x86_64 (the real UML kernel and uml_switch) that is
//! little-endian, which is why the kernel's request starts `ce fa ed fe 03 00 00 00`;
//! the code uses `from_ne_bytes`/`to_ne_bytes` so that a guest built for another
//! host order speaks that host's protocol, exactly as the C code does.
//!
//! ```
//! use umlnet_core::daemon::{DataAddr, RequestRepr, REQUEST_LEN};
//!
//! // What a UML kernel with pid 4242 sends.
//! let addr = DataAddr::uml_abstract(4242, 123_456);
//! let repr = RequestRepr::V3 { addr, port: 0, description: b"" };
//! let mut buf = [0u8; REQUEST_LEN];
//! let n = repr.emit(&mut buf).unwrap();
//! assert_eq!(&buf[..8], &[0xce, 0xfa, 0xed, 0xfe, 3, 0, 0, 0]);
//! assert_eq!(RequestRepr::parse(&buf[..n]), Ok(repr));
//! ```

mod addr;
mod fuzz;
mod reply;
mod request;
#[cfg(test)]
mod test;

pub use addr::{AddrError, DataAddr};
pub use fuzz::fuzz_request;
pub use reply::{ReplyError, emit_reply, parse_reply};
pub use request::{EmitError, Layout, Request, RequestError, RequestRepr};

use core::ops::Range;

/// The request magic, `0xfeedface` (`SWITCH_MAGIC`).
pub const MAGIC: u32 = 0xfeed_face;
/// The protocol version the 6.1 kernel sends and this module speaks.
pub const VERSION: u32 = 3;
/// The only request type: "connect me" (`REQ_NEW_CONTROL`, C enum value 0).
pub const REQ_NEW_CONTROL: u32 = 0;
/// Length of the kernel's version 3 request (`struct request_v3`, with 2 bytes of tail padding).
pub const REQUEST_LEN: usize = 124;
/// Length of the version 1 request (`magic, type, mac[6], sockaddr_un`).
pub const REQUEST_V1_LEN: usize = 124;
/// Length of the version 0 request (`type, mac[6], sockaddr_un`; no magic).
pub const REQUEST_V0_LEN: usize = 120;
/// Shortest version 3 request a switch can act on: everything up to the end of the address
/// (vde2's packed layout with an empty description).
pub const REQUEST_V3_MIN_LEN: usize = field::ADDR.end;
/// The most a switch reads for one request (vde2's read size; uml_switch reads 124).
pub const MAX_REQUEST_LEN: usize = 256;
/// Longest description a version 3 request can carry within [`MAX_REQUEST_LEN`].
pub const MAX_DESCRIPTION_LEN: usize = MAX_REQUEST_LEN - field::DESCRIPTION.start;
/// Length of a `struct sockaddr_un` on Linux: a u16 family and 108 bytes of path.
pub const SOCKADDR_UN_LEN: usize = 110;
/// Length of `sun_path`.
pub const SUN_PATH_LEN: usize = SOCKADDR_UN_LEN - 2;
/// Longest filesystem path or abstract name that [`DataAddr`] builds (108 less one byte:
/// the terminating NUL of a path, or the leading NUL of an abstract name).
pub const SUN_NAME_MAX: usize = SUN_PATH_LEN - 1;
/// `AF_UNIX`, the only family the protocol uses.
pub const AF_UNIX: u16 = 1;
/// Length of the switch's reply: its data socket's `sockaddr_un`.
pub const REPLY_LEN: usize = SOCKADDR_UN_LEN;

/// Byte offsets of the request layouts.
pub mod field {
    /// A fixed-size field.
    pub type Field = core::ops::Range<usize>;
    /// A field running to the end of the buffer.
    pub type Rest = core::ops::RangeFrom<usize>;

    /// Version 3 (the kernel, uml_switch, vde2).
    pub const MAGIC: Field = 0..4;
    /// Protocol version (3).
    pub const VERSION: Field = 4..8;
    /// Request type; vde2 clients put a requested port number in bits 8 and up.
    pub const TYPE: Field = 8..12;
    /// The client's data `sockaddr_un`, 110 bytes.
    pub const ADDR: Field = 12..122;
    /// The C structure's tail padding (not initialised by the kernel).
    pub const PADDING: Field = 122..124;
    /// vde2's packed layout: a description string (no terminating NUL on the wire).
    pub const DESCRIPTION: Rest = 122..;

    /// Version 1: `magic, type, mac[6], sockaddr_un` (124 bytes). The type sits where
    /// version 3 has its version, which is how the original tells the two apart.
    pub mod v1 {
        use super::Field;
        /// The magic.
        pub const MAGIC: Field = 0..4;
        /// Request type.
        pub const TYPE: Field = 4..8;
        /// The client's MAC address.
        pub const MAC: Field = 8..14;
        /// The client's data `sockaddr_un`.
        pub const ADDR: Field = 14..124;
    }

    /// Version 0: `type, mac[6], sockaddr_un` (120 bytes), no magic, no reply.
    pub mod v0 {
        use super::Field;
        /// Request type.
        pub const TYPE: Field = 0..4;
        /// The client's MAC address.
        pub const MAC: Field = 4..10;
        /// The client's data `sockaddr_un`.
        pub const ADDR: Field = 10..120;
    }
}

fn read_u32(data: &[u8], f: Range<usize>) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&data[f]);
    // Native order: little-endian on x86_64, as the kernel and uml_switch write it.
    u32::from_ne_bytes(b)
}

fn description_of(data: &[u8]) -> &[u8] {
    if data.len() <= REQUEST_LEN {
        return &[];
    }
    let rest = &data[field::DESCRIPTION];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    &rest[..end]
}

fn write_u32(data: &mut [u8], f: Range<usize>, v: u32) {
    data[f].copy_from_slice(&v.to_ne_bytes());
}
