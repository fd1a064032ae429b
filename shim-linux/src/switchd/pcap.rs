//! The `-pcap` capture file: Ethernet frames written with the headers of
//! [`umlnet_core::pcap`], stamped with the wall clock. `tcpdump -r` and Wireshark
//! read it.
//!
//! The file is opened without following a symbolic link, must be a regular file of
//! ours when it exists already, and stops growing at a size bound (`-pcap-size`): a
//! switch running as root writes nothing through a link someone planted, and a flood
//! cannot fill the disk.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::MetadataExt;
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
    /// Bytes written, header included.
    size: u64,
    /// The most bytes the file may hold.
    limit: u64,
    /// Frames not written because the file reached its bound.
    skipped: u64,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates `path` (mode 0600; an existing file is emptied), writes the global
    /// header and stops at `limit` bytes. Refuses a symbolic link, anything but a
    /// regular file, and a file that belongs to another user.
    pub fn create_bounded(path: &Path, limit: u64) -> io::Result<Self> {
        let f = crate::sys::access::open_nofollow_for_writing(path).map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a symbolic link; give the path of the file itself",
                )
            } else {
                e
            }
        })?;
        let meta = f.metadata()?;
        let ours = crate::sys::access::effective_uid();
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "it exists and is not a regular file; choose another path",
            ));
        }
        if meta.uid() != ours {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "it belongs to uid {}, not to this switch's uid {ours}; remove it or choose another path",
                    meta.uid()
                ),
            ));
        }
        f.set_len(0)?;
        let mut w = PcapWriter::new(BufWriter::with_capacity(64 * 1024, f))?;
        w.limit = limit;
        Ok(w)
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header to `out`; no size bound.
    pub fn new(mut out: W) -> io::Result<Self> {
        let header = format::global_header(LinkType::Ethernet);
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            frames: 0,
            size: header.len() as u64,
            limit: u64::MAX,
            skipped: 0,
        })
    }

    /// Appends one frame stamped with `when`; `Ok(false)` (and nothing written) when
    /// it would take the file beyond its bound.
    pub fn write_frame(&mut self, frame: &[u8], when: SystemTime) -> io::Result<bool> {
        let t = when.duration_since(UNIX_EPOCH).unwrap_or_default();
        let h = format::record_header(t.as_secs() as u32, t.subsec_micros(), frame.len());
        let data = &frame[..format::captured_len(frame.len())];
        let record = (h.len() + data.len()) as u64;
        if self.size + record > self.limit {
            if self.skipped == 0 {
                tracing::warn!(
                    "the capture file reached its bound of {} bytes (-pcap-size); further frames are not written",
                    self.limit
                );
            }
            self.skipped += 1;
            return Ok(false);
        }
        self.out.write_all(&h)?;
        self.out.write_all(data)?;
        self.size += record;
        self.frames += 1;
        Ok(true)
    }

    /// Frames not written because the file reached its bound.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Bytes written so far, the header included.
    pub fn size(&self) -> u64 {
        self.size
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

    #[test]
    fn the_file_stops_at_its_bound_and_refuses_links_and_foreign_files() {
        let dir = std::env::temp_dir().join(format!("umlnet-pcap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("cap.pcap");
        std::fs::write(&p, b"old contents that must go").unwrap();
        // Header (24) + two 60-byte frames with their 16-byte headers = 176.
        let mut w = PcapWriter::create_bounded(&p, 24 + 2 * 76 + 75).unwrap();
        for _ in 0..5 {
            w.write_frame(&[0u8; 60], UNIX_EPOCH).unwrap();
        }
        assert_eq!((w.frames(), w.skipped(), w.size()), (2, 3, 176));
        w.flush().unwrap();
        drop(w);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 176);
        let link = dir.join("link.pcap");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let e = PcapWriter::create_bounded(&link, 1 << 20).err().unwrap();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(PcapWriter::create_bounded(&dir, 1 << 20).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
