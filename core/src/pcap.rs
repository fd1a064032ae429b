//! pcap, the libpcap "classic" capture format: the headers, encoded into byte arrays.
//!
//! A capture file is a 24-byte global header, then for each frame a 16-byte record
//! header (seconds, microseconds, captured length, original length) followed by the
//! captured bytes. `tcpdump -r` and Wireshark read it. This module only encodes the
//! headers (little-endian, microsecond stamps, [`SNAPLEN`]); writing them and the
//! frames somewhere, and reading a clock, is the caller's business: the switch daemon
//! writes a file, the simulator a buffer stamped with its virtual clock.
//!
//! ```
//! use umlnet_core::pcap::{self, LinkType};
//! let head = pcap::global_header(LinkType::Ethernet);
//! assert_eq!(&head[..4], &[0xd4, 0xc3, 0xb2, 0xa1]); // the magic, little-endian
//! let frame = [0xffu8; 60];
//! let rec = pcap::record_header(1_700_000_000, 250, frame.len());
//! assert_eq!(&rec[8..16], &[60, 0, 0, 0, 60, 0, 0, 0]); // captured, original length
//! // The bytes of the frame that follow the record header:
//! assert_eq!(pcap::captured_len(frame.len()), 60);
//! ```

/// The magic number, which also says the byte order and that stamps are microseconds.
pub const MAGIC: u32 = 0xa1b2_c3d4;
/// The format version: 2.4.
pub const VERSION: (u16, u16) = (2, 4);
/// The snapshot length written in the global header: frames up to this long are
/// captured whole (longer ones are cut to it).
pub const SNAPLEN: u32 = 65_535;
/// Bytes of the global header.
pub const GLOBAL_HEADER_LEN: usize = 24;
/// Bytes of a record header.
pub const RECORD_HEADER_LEN: usize = 16;

/// What the captured frames are (the `network` field of the global header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// Ethernet frames without FCS (`LINKTYPE_ETHERNET`, 1).
    Ethernet,
    /// Bare IPv4/IPv6 packets (`LINKTYPE_RAW`, 101), as a SLIP line carries them.
    Raw,
}

impl LinkType {
    /// The `network` field of the pcap global header.
    pub const fn code(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
        }
    }
}

/// The global header of a capture of `link` frames: magic, version 2.4, time zone 0,
/// sigfigs 0, [`SNAPLEN`], link type.
pub fn global_header(link: LinkType) -> [u8; GLOBAL_HEADER_LEN] {
    let mut h = [0u8; GLOBAL_HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    h[4..6].copy_from_slice(&VERSION.0.to_le_bytes());
    h[6..8].copy_from_slice(&VERSION.1.to_le_bytes());
    // 8..12: time zone offset, 12..16: sigfigs, both 0.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&link.code().to_le_bytes());
    h
}

/// How many bytes of a frame of `len` bytes are captured (at most [`SNAPLEN`]).
pub fn captured_len(len: usize) -> usize {
    len.min(SNAPLEN as usize)
}

/// The record header of a frame of `len` bytes seen at `secs` seconds and `micros`
/// microseconds (of a clock the caller chooses); the first [`captured_len`]`(len)`
/// bytes of the frame follow it.
pub fn record_header(secs: u32, micros: u32, len: usize) -> [u8; RECORD_HEADER_LEN] {
    let mut h = [0u8; RECORD_HEADER_LEN];
    h[0..4].copy_from_slice(&secs.to_le_bytes());
    h[4..8].copy_from_slice(&micros.to_le_bytes());
    h[8..12].copy_from_slice(&(captured_len(len) as u32).to_le_bytes());
    h[12..16].copy_from_slice(&(len as u32).to_le_bytes());
    h
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn header_layouts() {
        let g = global_header(LinkType::Raw);
        assert_eq!(&g[..8], &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
        assert_eq!(&g[8..16], &[0; 8]);
        assert_eq!(&g[16..24], &[0xff, 0xff, 0, 0, 101, 0, 0, 0]);
        assert_eq!(global_header(LinkType::Ethernet)[20], 1);
        let r = record_header(3, 250, 70_000);
        assert_eq!(&r[..8], &[3, 0, 0, 0, 250, 0, 0, 0]);
        assert_eq!(&r[8..12], &65_535u32.to_le_bytes());
        assert_eq!(&r[12..16], &70_000u32.to_le_bytes());
    }
}
