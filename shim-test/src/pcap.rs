//! A pcap (libpcap classic format) writer, in memory, with the headers of
//! [`umlnet_core::pcap`].
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

use umlnet_core::pcap;

pub use umlnet_core::pcap::{LinkType, SNAPLEN};

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
        bytes.extend_from_slice(&pcap::global_header(link));
        Pcap { bytes, frames: 0 }
    }

    /// Appends one frame seen at `micros` microseconds of virtual time.
    pub fn record(&mut self, micros: u64, frame: &[u8]) {
        let (secs, usecs) = ((micros / 1_000_000) as u32, (micros % 1_000_000) as u32);
        self.bytes
            .extend_from_slice(&pcap::record_header(secs, usecs, frame.len()));
        self.bytes
            .extend_from_slice(&frame[..pcap::captured_len(frame.len())]);
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
