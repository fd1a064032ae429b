//! QEMU's stream framing (`-netdev stream`, `-netdev socket,listen=/connect=`): each
//! Ethernet frame is sent as a 4-byte big-endian length, then the frame.
//!
//! QEMU 7.2 (`net/stream.c`, `net/net.c` `net_fill_rstate`) reads a length, then that
//! many bytes; a length above its receive buffer (`NET_BUFSIZE`, 69632 bytes) ends the
//! connection. [`next_frame`] finds the next whole frame in what has arrived so far, so
//! a reader can take any number of bytes at a time.
//!
//! ```
//! use umlnet_core::qemu_stream::{next_frame, prefix};
//!
//! let mut wire = prefix(3).to_vec();
//! wire.extend_from_slice(b"abc");
//! wire.extend_from_slice(&prefix(2)[..3]); // the next one has not fully arrived
//! let f = next_frame(&wire).unwrap().unwrap();
//! assert_eq!(&wire[f.clone()], b"abc");
//! assert_eq!(next_frame(&wire[f.end..]).unwrap(), None);
//! ```

use core::ops::Range;

/// Bytes of the length in front of each frame.
pub const PREFIX_LEN: usize = 4;

/// The longest frame a length may announce: QEMU's `NET_BUFSIZE` (4096 + 65536);
/// anything longer is not a frame QEMU could have sent or would accept.
pub const MAX_FRAME_LEN: usize = 4096 + 65536;

/// The length announced is above [`MAX_FRAME_LEN`]: the stream is not QEMU's framing
/// (or is out of step), and the connection should be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong(pub u32);

impl core::fmt::Display for TooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "a stream frame announces {} bytes, more than QEMU's {MAX_FRAME_LEN}",
            self.0
        )
    }
}

/// The bytes that go in front of a frame of `len` bytes.
pub fn prefix(len: usize) -> [u8; PREFIX_LEN] {
    (len as u32).to_be_bytes()
}

/// Where the first whole frame of `buf` is (its bytes, after the prefix); `None` when
/// the prefix or the frame has not fully arrived. The next frame starts at the range's
/// end.
pub fn next_frame(buf: &[u8]) -> Result<Option<Range<usize>>, TooLong> {
    let Some(p) = buf.get(..PREFIX_LEN) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([p[0], p[1], p[2], p[3]]);
    if len as usize > MAX_FRAME_LEN {
        return Err(TooLong(len));
    }
    let end = PREFIX_LEN + len as usize;
    Ok((buf.len() >= end).then_some(PREFIX_LEN..end))
}

/// The fuzz target: walks `data` frame by frame and checks every range lies in it and
/// that the frames and their prefixes add up to what was consumed.
pub fn fuzz_one(data: &[u8]) {
    let mut at = 0;
    while let Ok(Some(r)) = next_frame(&data[at..]) {
        assert!(r.start == PREFIX_LEN && r.end <= data.len() - at);
        assert_eq!(prefix(r.len()), data[at..at + PREFIX_LEN]);
        at += r.end;
    }
    assert!(at <= data.len());
}

#[cfg(test)]
mod test {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    #[test]
    fn lengths_are_big_endian_and_bounded() {
        assert_eq!(prefix(42), [0, 0, 0, 42]);
        assert_eq!(prefix(0x0102), [0, 0, 1, 2]);
        let mut b = std::vec![0, 0, 0x01, 0x02];
        b.extend(core::iter::repeat_n(7u8, 0x102));
        assert_eq!(next_frame(&b), Ok(Some(4..4 + 0x102)));
        assert_eq!(next_frame(&b[..100]), Ok(None));
        assert_eq!(next_frame(&b[..3]), Ok(None));
        assert_eq!(
            next_frame(&[0, 1, 0x10, 1]),
            Err(TooLong(0x11001)),
            "69633 bytes is one more than QEMU takes"
        );
        assert_eq!(next_frame(&[0, 1, 0x10, 0]), Ok(None));
        assert_eq!(next_frame(&[0, 0, 0, 0]), Ok(Some(4..4)));
        fuzz_one(&[0xff; 9]);
        fuzz_one(&[]);
    }

    proptest! {
        #[test]
        fn frames_written_back_to_back_are_read_back_whatever_the_cut(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1600), 0..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut wire = Vec::new();
            for f in &frames {
                wire.extend_from_slice(&prefix(f.len()));
                wire.extend_from_slice(f);
            }
            // A reader that got only the first `cut` bytes sees a prefix of the frames.
            let cut = cut.index(wire.len() + 1);
            let mut at = 0;
            let mut got = Vec::new();
            while let Some(r) = next_frame(&wire[at..cut]).unwrap() {
                got.push(wire[at + r.start..at + r.end].to_vec());
                at += r.end;
            }
            prop_assert_eq!(&got[..], &frames[..got.len()]);
            if cut == wire.len() {
                prop_assert_eq!(got, frames);
            }
        }

        #[test]
        fn any_bytes_are_walked_without_panicking(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            fuzz_one(&data);
        }
    }
}
