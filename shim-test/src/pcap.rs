//! A pcap (libpcap classic format) writer, in memory.
//!
//! Each simulated segment keeps one capture, timestamped with the virtual clock, so
//! that a run can be opened in Wireshark or `tcpdump -r`, and two runs of one seed can
//! be compared byte for byte.
//!
//! ```
//! use umlnet_sim::pcap::{LinkType, Pcap};
//! let mut p = Pcap::new(LinkType::Ethernet);
//! p.record(1_500_000, &[0xff; 14]);
//! assert_eq!(p.frames(), 1);
//! assert_eq!(&p.bytes()[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
//! assert_eq!(p.bytes().len(), 24 + 16 + 14);
//! ```

use std::vec::Vec;

/// What the captured frames are.
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

/// The snapshot length written in the header: whole frames are always captured.
pub const SNAPLEN: u32 = 65_535;

/// A capture file being built: the 24-byte global header, then one record per frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcap {
    bytes: Vec<u8>,
    frames: usize,
}

impl Pcap {
    /// An empty capture (just the global header), little-endian, microsecond stamps.
    pub fn new(link: LinkType) -> Pcap {
        let mut bytes = Vec::with_capacity(4096);
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        bytes.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        bytes.extend_from_slice(&SNAPLEN.to_le_bytes());
        bytes.extend_from_slice(&link.code().to_le_bytes());
        Pcap { bytes, frames: 0 }
    }

    /// Appends one frame seen at `micros` microseconds of virtual time.
    pub fn record(&mut self, micros: u64, frame: &[u8]) {
        let len = frame.len().min(SNAPLEN as usize);
        self.bytes
            .extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(len as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&frame[..len]);
        self.frames += 1;
    }

    /// The whole file so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many frames were recorded.
    pub fn frames(&self) -> usize {
        self.frames
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let mut p = Pcap::new(LinkType::Raw);
        p.record(3_000_250, &[0x45, 0, 0, 20]);
        let b = p.bytes();
        assert_eq!(&b[4..8], &[2, 0, 4, 0]);
        assert_eq!(&b[16..20], &65_535u32.to_le_bytes());
        assert_eq!(&b[20..24], &101u32.to_le_bytes());
        assert_eq!(&b[24..28], &3u32.to_le_bytes());
        assert_eq!(&b[28..32], &250u32.to_le_bytes());
        assert_eq!(&b[32..36], &4u32.to_le_bytes());
        assert_eq!(&b[36..40], &4u32.to_le_bytes());
        assert_eq!(&b[40..], &[0x45, 0, 0, 20]);
    }
}
