//! A minimal pcap (libpcap "classic" format) writer for Ethernet frames.
//!
//! Layout: a 24-byte global header (magic `0xa1b2c3d4` in host order, version 2.4,
//! zone 0, sigfigs 0, snaplen, link type 1 = `LINKTYPE_ETHERNET`), then per frame a
//! 16-byte record header (seconds, microseconds, captured length, original length)
//! and the frame. `tcpdump -r` and Wireshark read it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// The snapshot length written in the header; frames are never cut below it.
pub const SNAPLEN: u32 = 65535;

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
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_ne_bytes());
        h[4..6].copy_from_slice(&2u16.to_ne_bytes());
        h[6..8].copy_from_slice(&4u16.to_ne_bytes());
        h[16..20].copy_from_slice(&SNAPLEN.to_ne_bytes());
        h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_ne_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, frames: 0 })
    }

    /// Appends one frame stamped with `when`.
    pub fn write_frame(&mut self, frame: &[u8], when: SystemTime) -> io::Result<()> {
        let t = when.duration_since(UNIX_EPOCH).unwrap_or_default();
        let len = frame.len().min(SNAPLEN as usize) as u32;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(t.as_secs() as u32).to_ne_bytes());
        h[4..8].copy_from_slice(&t.subsec_micros().to_ne_bytes());
        h[8..12].copy_from_slice(&len.to_ne_bytes());
        h[12..16].copy_from_slice(&(frame.len() as u32).to_ne_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&frame[..len as usize])?;
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
