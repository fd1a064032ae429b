//! The fuzz entry point: every decoder on arbitrary bytes, and what is accepted encodes
//! back to the same bytes.

use super::{
    Command, Error, MAGIC, MAX_DATA, MAX_REPLY_LEN, NOTIFY_HEADER_LEN, NotifyPacket, NotifyRepr,
    REQUEST_HEADER_LEN, REQUEST_LEN, Rejection, ReplyDatagram, ReplyPacket, ReplyReader, ReplyRepr,
    RequestPacket, RequestRepr, V0_REJECTION, parse_reply_datagram, reply_chunks,
};

/// Fuzz entry: reads `data` as a request (and its command), a reply and a notification,
/// and checks that whatever parses encodes back to the same bytes; then sends `data`
/// through [`reply_chunks`] and [`ReplyReader`]. Never panics on any input.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    use core::fmt::Write as _;

    match RequestPacket::new_checked(data) {
        Ok(packet) => {
            let repr = RequestRepr::parse(&packet).expect("checked");
            let mut out = [0u8; REQUEST_LEN];
            assert_eq!(repr.encode(&mut out), Ok(REQUEST_LEN));
            let again = RequestRepr::parse(&RequestPacket::new_unchecked(&out[..]));
            assert_eq!(again, Ok(repr));
            let command = Command::parse(repr.command);
            let mut printed: heapless::String<2048> = heapless::String::new();
            write!(printed, "{command}").expect("2048 bytes hold any printed command");
            if !matches!(command, Command::Unknown { text } if core::str::from_utf8(text).is_err())
            {
                assert_eq!(Command::parse(printed.as_bytes()), command);
            }
        }
        Err(e) => {
            if data.len() >= REQUEST_HEADER_LEN && data[..4] != MAGIC.to_ne_bytes() {
                assert!(matches!(e, Error::BadMagic { .. }));
                assert_eq!(e.kernel_answer(), Some(Rejection::PlainText(V0_REJECTION)));
            }
        }
    }

    if let Ok(datagram) = parse_reply_datagram(data) {
        if let ReplyDatagram::Chunk(repr) = datagram {
            let mut out = [0u8; MAX_REPLY_LEN];
            let n = repr.encode(&mut out).expect("a parsed chunk fits");
            // `more` is normalised to 0/1; everything else is as received.
            assert_eq!(&out[..4], &data[..4]);
            assert_eq!(&out[8..n], &data[8..n]);
            let again = ReplyRepr::parse(&ReplyPacket::new_unchecked(&out[..n]));
            assert_eq!(again, Ok(repr));
        }
        let mut reader = ReplyReader::new([0u8; MAX_DATA]);
        let _ = reader.push(data);
    }

    if let Ok(packet) = NotifyPacket::new_checked(data) {
        let repr = NotifyRepr::parse(&packet).expect("checked");
        let mut out = [0u8; NOTIFY_HEADER_LEN + MAX_DATA];
        let n = repr.encode(&mut out).expect("a parsed notification fits");
        assert_eq!(&out[..n], &data[..n]);
    }

    let mut reader = ReplyReader::new([0u8; 4096]);
    let mut whole = None;
    for chunk in reply_chunks(data, -22, false) {
        let mut out = [0u8; MAX_REPLY_LEN];
        let n = chunk.encode(&mut out).expect("chunks fit");
        match reader.push(&out[..n]) {
            Ok(Some((err, text))) => {
                assert_eq!(err, -22);
                assert_eq!(text, data);
                whole = Some(());
            }
            Ok(None) => assert!(chunk.more),
            Err(e) => {
                assert!(data.len() > 4096);
                assert!(matches!(e, Error::BufferTooSmall { .. }));
                return;
            }
        }
    }
    assert!(whole.is_some());
}
