//! SLIP framing (RFC 1055) as the UML `slip` and `slirp` transports use it.
//!
//! A SLIP stream is a sequence of packets, each closed by [`END`]. Inside a packet an
//! `END` byte is sent as [`ESC`] [`ESC_END`] and an `ESC` byte as [`ESC`] [`ESC_ESC`].
//! Like the UML kernel (docs/protocols.md §5), [`encode`] also puts an `END` *in front* of every
//! packet, so that line noise gathered before it is flushed as a separate (bad) frame
//! instead of being glued onto the packet. The worst case is [`max_encoded_len`]
//! = 2n + 2 bytes.
//!
//! [`Decoder`] is a streaming decoder over a buffer the caller owns; the buffer's
//! length is the MTU. It takes the byte stream in any chunking and produces one event
//! per frame: the decoded bytes, or a [`DecodeError`] for a frame that was dropped.
//! Empty frames (two `END`s in a row) produce nothing. After a bad frame the decoder
//! resynchronises at the next `END`, so the frame after it is never lost.
//!
//! **Where we differ from the kernel.** The UML kernel's `slip_unesc` stores the byte
//! after an `ESC` that is followed by neither `ESC_END` nor `ESC_ESC` literally, and
//! leaves its escape flag set, so the frame is delivered with that byte in it. Such a
//! sequence never comes out of a SLIP encoder; it means the line corrupted the frame.
//! This decoder drops that frame and reports [`DecodeError::BadEscape`]. An `END`
//! always closes the current frame, as in the kernel, including right after an `ESC`
//! (reported as a bad escape of `END`). A frame longer than the MTU is dropped and
//! reported as [`DecodeError::Oversize`] instead of being truncated.
//!
//! ```
//! use umlnet_core::slip::{encode, max_encoded_len, Decoder};
//!
//! let packet = [0x45, 0xc0, 0x00, 0xdb];
//! let mut wire = [0u8; max_encoded_len(4)];
//! let n = encode(&packet, &mut wire).unwrap();
//! assert_eq!(&wire[..n], &[0xc0, 0x45, 0xdb, 0xdc, 0x00, 0xdb, 0xdd, 0xc0]);
//!
//! let mut decoder = Decoder::new([0u8; 1500]);
//! let mut frames = 0;
//! // Any chunking of the stream gives the same frames.
//! for chunk in wire[..n].chunks(3) {
//!     decoder.decode(chunk, |frame| {
//!         assert_eq!(frame, Ok(&packet[..]));
//!         frames += 1;
//!     });
//! }
//! assert_eq!(frames, 1);
//! ```

use core::fmt;

/// Closes a frame (and, sent first, flushes line noise).
pub const END: u8 = 0xC0;
/// Starts a two-byte escape sequence.
pub const ESC: u8 = 0xDB;
/// After [`ESC`]: a data byte [`END`].
pub const ESC_END: u8 = 0xDC;
/// After [`ESC`]: a data byte [`ESC`].
pub const ESC_ESC: u8 = 0xDD;

/// The MTU of UML's slip transport: the largest decoded packet it reads.
pub const UML_MTU: usize = 1500;

/// The largest encoding of an `n`-byte packet: every byte escaped, plus the leading and
/// trailing [`END`] (3002 for the UML MTU, the kernel's `ENC_BUF_SIZE`).
pub const fn max_encoded_len(n: usize) -> usize {
    2 * n + 2
}

/// The exact length [`encode`] produces for `packet`.
pub fn encoded_len(packet: &[u8]) -> usize {
    2 + packet.len() + packet.iter().filter(|&&b| b == END || b == ESC).count()
}

/// Why [`encode`] could not encode a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The output buffer is shorter than the encoded packet.
    BufferTooSmall {
        /// Bytes the encoding needs (see [`encoded_len`]).
        needed: usize,
        /// Bytes the output buffer has.
        got: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::BufferTooSmall { needed, got } => write!(
                f,
                "SLIP output buffer of {got} bytes is too small: the encoded packet needs \
                 {needed} bytes (size buffers with max_encoded_len)"
            ),
        }
    }
}

/// Encodes one packet as `END`, the escaped bytes, `END`, into `out`; returns the
/// number of bytes written.
pub fn encode(packet: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let needed = encoded_len(packet);
    if out.len() < needed {
        return Err(EncodeError::BufferTooSmall {
            needed,
            got: out.len(),
        });
    }
    let mut n = 0;
    let mut put = |b: u8| {
        out[n] = b;
        n += 1;
    };
    put(END);
    for &b in packet {
        match b {
            END => {
                put(ESC);
                put(ESC_END);
            }
            ESC => {
                put(ESC);
                put(ESC_ESC);
            }
            other => put(other),
        }
    }
    put(END);
    Ok(n)
}

/// Why a received frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// The frame decoded to more bytes than the decoder's MTU.
    Oversize {
        /// Decoded length of the dropped frame (saturating).
        len: usize,
        /// The decoder's MTU (its buffer length).
        mtu: usize,
    },
    /// An [`ESC`] was followed by `byte`, which is neither [`ESC_END`] nor [`ESC_ESC`]
    /// (an [`END`] here means the frame ended inside an escape).
    BadEscape {
        /// The byte found after the `ESC`.
        byte: u8,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Oversize { len, mtu } => write!(
                f,
                "SLIP frame of {len} bytes is longer than the MTU of {mtu} bytes; dropped"
            ),
            DecodeError::BadEscape { byte: END } => f.write_str(
                "SLIP frame ended right after an ESC (0xdb 0xc0): the line corrupted it; dropped",
            ),
            DecodeError::BadEscape { byte } => write!(
                f,
                "SLIP escape 0xdb followed by 0x{byte:02x} instead of 0xdc or 0xdd: \
                 the line corrupted the frame; dropped"
            ),
        }
    }
}

/// A streaming SLIP decoder over a caller-owned buffer whose length is the MTU.
///
/// Use an array (`Decoder::new([0u8; 1500])`) or a borrowed slice
/// (`Decoder::new(&mut buf[..mtu])`).
#[derive(Debug, Clone)]
pub struct Decoder<B> {
    buffer: B,
    /// Decoded bytes of the current frame (counted on past the MTU once oversize).
    len: usize,
    /// The previous byte was an unconsumed [`ESC`].
    escaped: bool,
    /// The current frame is being dropped for this reason.
    error: Option<DecodeError>,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Decoder<B> {
    /// A decoder with an empty frame in progress; its MTU is `buffer`'s length.
    pub fn new(buffer: B) -> Self {
        Decoder {
            buffer,
            len: 0,
            escaped: false,
            error: None,
        }
    }

    /// The largest frame this decoder delivers.
    pub fn mtu(&self) -> usize {
        self.buffer.as_ref().len()
    }

    /// True when no frame is in progress (the last byte seen was an `END`, or nothing
    /// was fed yet).
    pub fn is_idle(&self) -> bool {
        self.len == 0 && !self.escaped && self.error.is_none()
    }

    /// Forgets the frame in progress, as if an `END` had been received.
    pub fn reset(&mut self) {
        self.len = 0;
        self.escaped = false;
        self.error = None;
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> B {
        self.buffer
    }

    /// Feeds one byte. Returns an event when this byte closed a non-empty frame: the
    /// frame's bytes (valid until the next call), or why it was dropped.
    pub fn push(&mut self, byte: u8) -> Option<Result<&[u8], DecodeError>> {
        match self.step(byte)? {
            Ok(len) => Some(Ok(&self.buffer.as_ref()[..len])),
            Err(e) => Some(Err(e)),
        }
    }

    /// Feeds bytes up to and including the first one that completes an event; returns
    /// how many bytes of `input` were consumed and the event, if any. Bytes after the
    /// event are not consumed: feed them again (`&input[consumed..]`).
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<&[u8], DecodeError>>) {
        for (i, &byte) in input.iter().enumerate() {
            if let Some(event) = self.step(byte) {
                let event = event.map(|len| &self.buffer.as_ref()[..len]);
                return (i + 1, Some(event));
            }
        }
        (input.len(), None)
    }

    /// Feeds all of `input`, calling `on_frame` once per completed frame, in order.
    pub fn decode(&mut self, input: &[u8], mut on_frame: impl FnMut(Result<&[u8], DecodeError>)) {
        for &byte in input {
            if let Some(event) = self.step(byte) {
                on_frame(event.map(|len| &self.buffer.as_ref()[..len]));
            }
        }
    }

    /// The state machine: returns the length of a completed frame, or its error.
    fn step(&mut self, byte: u8) -> Option<Result<usize, DecodeError>> {
        if byte == END {
            let event = match self.error {
                Some(DecodeError::Oversize { mtu, .. }) => {
                    Some(Err(DecodeError::Oversize { len: self.len, mtu }))
                }
                Some(e) => Some(Err(e)),
                None if self.escaped => Some(Err(DecodeError::BadEscape { byte: END })),
                None if self.len > 0 => Some(Ok(self.len)),
                None => None,
            };
            self.reset();
            return event;
        }
        let data = if self.escaped {
            self.escaped = false;
            match byte {
                ESC_END => END,
                ESC_ESC => ESC,
                other => {
                    if self.error.is_none() {
                        self.error = Some(DecodeError::BadEscape { byte: other });
                    }
                    return None;
                }
            }
        } else if byte == ESC {
            self.escaped = true;
            return None;
        } else {
            byte
        };
        match self.error {
            None => {
                let mtu = self.mtu();
                match self.buffer.as_mut().get_mut(self.len) {
                    Some(slot) => *slot = data,
                    None => self.error = Some(DecodeError::Oversize { len: 0, mtu }),
                }
                self.len += 1;
            }
            Some(DecodeError::Oversize { .. }) => self.len = self.len.saturating_add(1),
            Some(DecodeError::BadEscape { .. }) => {}
        }
        None
    }
}

/// Fuzz entry: decodes `data` in two ways that must agree (whole chunks through
/// [`Decoder::feed`], single bytes through [`Decoder::push`]) and re-encodes every
/// good frame to check that it decodes back to itself. Never panics on any input.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    const MTU: usize = 64;
    let mut chunked = Decoder::new([0u8; MTU]);
    let mut bytewise = Decoder::new([0u8; MTU]);
    let mut rest = data;
    while !rest.is_empty() {
        let (consumed, event) = chunked.feed(rest);
        assert!(consumed >= 1 && consumed <= rest.len());
        let (head, last) = rest[..consumed].split_at(consumed - 1);
        for &b in head {
            assert!(bytewise.push(b).is_none(), "push saw an event feed did not");
        }
        let other = bytewise.push(last[0]);
        assert_eq!(event, other);
        if let Some(Ok(frame)) = event {
            assert!(!frame.is_empty() && frame.len() <= MTU);
            let mut wire = [0u8; max_encoded_len(MTU)];
            let n = encode(frame, &mut wire).expect("max_encoded_len is enough");
            assert_eq!(n, encoded_len(frame));
            let mut again = Decoder::new([0u8; MTU]);
            let mut seen = 0;
            again.decode(&wire[..n], |f| {
                assert_eq!(f, Ok(frame));
                seen += 1;
            });
            assert_eq!(seen, 1);
            assert!(again.is_idle());
        }
        rest = &rest[consumed..];
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    type Event = Result<Vec<u8>, DecodeError>;

    fn decode_all<const N: usize>(input: &[u8]) -> Vec<Event> {
        let mut d = Decoder::new([0u8; N]);
        let mut out = Vec::new();
        d.decode(input, |e| out.push(e.map(<[u8]>::to_vec)));
        out
    }

    fn encode_vec(packet: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; max_encoded_len(packet.len())];
        let n = encode(packet, &mut out).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn encoding_matches_the_kernel() {
        assert_eq!(encode_vec(&[]), [END, END]);
        assert_eq!(encode_vec(&[1, 2]), [END, 1, 2, END]);
        assert_eq!(
            encode_vec(&[END, ESC, ESC_END, ESC_ESC]),
            [END, ESC, ESC_END, ESC, ESC_ESC, ESC_END, ESC_ESC, END]
        );
        assert_eq!(max_encoded_len(UML_MTU), 3002);
        assert_eq!(encode_vec(&[END; 1500]).len(), 3002);
    }

    #[test]
    fn encode_reports_short_buffer() {
        let mut out = [0u8; 5];
        assert_eq!(
            encode(&[1, END, 3], &mut out),
            Err(EncodeError::BufferTooSmall { needed: 6, got: 5 })
        );
        assert_eq!(
            EncodeError::BufferTooSmall { needed: 6, got: 5 }.to_string(),
            "SLIP output buffer of 5 bytes is too small: the encoded packet needs 6 bytes \
             (size buffers with max_encoded_len)"
        );
    }

    #[test]
    fn empty_frames_are_skipped() {
        assert_eq!(decode_all::<16>(&[END, END, END]), []);
        assert_eq!(decode_all::<16>(&[END, END, 7, END, END]), [Ok(vec![7])]);
    }

    #[test]
    fn bad_escape_drops_only_its_frame() {
        let stream = [END, 1, ESC, 0x41, 2, END, END, 3, 4, END];
        assert_eq!(
            decode_all::<16>(&stream),
            [Err(DecodeError::BadEscape { byte: 0x41 }), Ok(vec![3, 4])]
        );
        // END right after ESC closes the frame as well, and reports it.
        assert_eq!(
            decode_all::<16>(&[5, ESC, END, 6, END]),
            [Err(DecodeError::BadEscape { byte: END }), Ok(vec![6])]
        );
        // ESC ESC: the second ESC is not ESC_ESC, so the frame is bad.
        assert_eq!(
            decode_all::<16>(&[ESC, ESC, ESC_ESC, END]),
            [Err(DecodeError::BadEscape { byte: ESC })]
        );
        assert_eq!(
            DecodeError::BadEscape { byte: 0x41 }.to_string(),
            "SLIP escape 0xdb followed by 0x41 instead of 0xdc or 0xdd: the line corrupted \
             the frame; dropped"
        );
    }

    #[test]
    fn oversize_frame_is_reported_with_its_length() {
        let mut stream = encode_vec(&[9; 10]);
        stream.extend(encode_vec(&[1, 2, 3, 4]));
        assert_eq!(
            decode_all::<4>(&stream),
            [
                Err(DecodeError::Oversize { len: 10, mtu: 4 }),
                Ok(vec![1, 2, 3, 4])
            ]
        );
        assert_eq!(
            DecodeError::Oversize { len: 10, mtu: 4 }.to_string(),
            "SLIP frame of 10 bytes is longer than the MTU of 4 bytes; dropped"
        );
    }

    #[test]
    fn feed_stops_after_each_event() {
        let mut stream = encode_vec(&[1]);
        stream.extend(encode_vec(&[2, 3]));
        let mut d = Decoder::new([0u8; 8]);
        let (n, e) = d.feed(&stream);
        assert_eq!((n, e), (3, Some(Ok(&[1][..]))));
        let (m, e) = d.feed(&stream[n..]);
        assert_eq!((m, e), (4, Some(Ok(&[2, 3][..]))));
        assert_eq!(d.feed(&stream[n + m..]), (0, None));
        assert!(d.is_idle());
    }

    #[test]
    fn slice_buffer_sets_the_mtu() {
        let mut storage = [0u8; 1500];
        let mut d = Decoder::new(&mut storage[..2]);
        assert_eq!(d.mtu(), 2);
        assert!(d.push(1).is_none());
        assert!(d.push(2).is_none());
        assert!(d.push(3).is_none());
        assert_eq!(
            d.push(END),
            Some(Err(DecodeError::Oversize { len: 3, mtu: 2 }))
        );
    }

    fn packet() -> impl Strategy<Value = Vec<u8>> {
        // Bias towards the special bytes.
        proptest::collection::vec(
            prop_oneof![
                Just(END),
                Just(ESC),
                Just(ESC_END),
                Just(ESC_ESC),
                any::<u8>()
            ],
            1..64,
        )
    }

    proptest! {
        #[test]
        fn decode_of_encode_is_identity(p in packet()) {
            let wire = encode_vec(&p);
            prop_assert_eq!(wire.len(), encoded_len(&p));
            prop_assert!(wire.len() <= max_encoded_len(p.len()));
            prop_assert_eq!(decode_all::<64>(&wire), vec![Ok(p)]);
        }

        #[test]
        fn any_chunking_gives_the_same_frames(
            packets in proptest::collection::vec(packet(), 0..6),
            cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..10),
        ) {
            let wire: Vec<u8> = packets.iter().flat_map(|p| encode_vec(p)).collect();
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            cuts.push(0);
            cuts.push(wire.len());
            cuts.sort();
            let mut d = Decoder::new([0u8; 64]);
            let mut got = Vec::new();
            for w in cuts.windows(2) {
                d.decode(&wire[w[0]..w[1]], |e| got.push(e.map(<[u8]>::to_vec)));
            }
            let want: Vec<Event> = packets.into_iter().map(Ok).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn good_frames_survive_garbage_between_them(
            packets in proptest::collection::vec(packet(), 1..5),
            garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..5),
        ) {
            // garbage, frame, garbage, frame, ... : every frame still arrives, in order,
            // whatever the garbage was (oversize runs, bad escapes, stray ENDs).
            let mut wire = Vec::new();
            for (i, p) in packets.iter().enumerate() {
                wire.extend(&garbage[i % garbage.len()]);
                wire.extend(encode_vec(p));
            }
            let got: Vec<Vec<u8>> = decode_all::<64>(&wire).into_iter().filter_map(Result::ok).collect();
            let mut want = packets.iter();
            let mut next = want.next();
            for frame in &got {
                if Some(frame) == next {
                    next = want.next();
                }
            }
            prop_assert!(next.is_none(), "a good frame was lost: got {:?}", got);
            // And none of them was merged with the garbage in front of it.
            let tail: Vec<Vec<u8>> = got.iter().rev().take(1).cloned().collect();
            prop_assert_eq!(tail, vec![packets.last().unwrap().clone()]);
        }

        #[test]
        fn fuzz_one_never_panics(bytes in proptest::collection::vec(
            prop_oneof![Just(END), Just(ESC), Just(ESC_END), Just(ESC_ESC), any::<u8>()], 0..300)) {
            fuzz_one(&bytes);
        }
    }
}
