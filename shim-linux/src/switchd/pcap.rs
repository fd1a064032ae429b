//! The `-pcap` capture file: Ethernet frames written with the headers of
//! [`umlnet_core::pcap`], stamped with the wall clock. `tcpdump -r` and Wireshark
//! read it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use umlnet_core::pcap::{self as format, LinkType};

/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u32 = LinkType::Ethernet.code();
/// The snapshot length written in the header; frames are never cut below it.
pub use umlnet_core::pcap::SNAPLEN;

/// Writes frames to a capture file (buffered; call [`PcapWriter::flush`] when idle).
pub struct PcapWriter<W: Write> {
    out: W,
    frames: u64,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates (truncating) `path` and writes the global header.
    pub fn create(path: &Path) -> io::Result<Self> {
        PcapWriter::new(BufWriter::with_capacity(64 * 1024, File::create(path)?))
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header to `out`.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&format::global_header(LinkType::Ethernet))?;
        Ok(PcapWriter { out, frames: 0 })
    }

    /// Appends one frame stamped with `when`.
    pub fn write_frame(&mut self, frame: &[u8], when: SystemTime) -> io::Result<()> {
        let t = when.duration_since(UNIX_EPOCH).unwrap_or_default();
        let h = format::record_header(t.as_secs() as u32, t.subsec_micros(), frame.len());
        self.out.write_all(&h)?;
        self.out
            .write_all(&frame[..format::captured_len(frame.len())])?;
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Pushes buffered records to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::time::Duration;

    #[test]
    fn header_and_record_layout() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let frame = [0xffu8; 42];
        w.write_frame(
            &frame,
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000),
        )
        .unwrap();
        assert_eq!(w.frames(), 1);
        let b = w.into_inner();
        assert_eq!(&b[..8], &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
        assert_eq!(&b[16..24], &[0xff, 0xff, 0, 0, 1, 0, 0, 0]);
        assert_eq!(
            u32::from_le_bytes(b[24..28].try_into().unwrap()),
            1_700_000_000
        );
        assert_eq!(u32::from_le_bytes(b[28..32].try_into().unwrap()), 123_456);
        assert_eq!(&b[32..40], &[42, 0, 0, 0, 42, 0, 0, 0]);
        assert_eq!(&b[40..], &frame[..]);
    }
}
