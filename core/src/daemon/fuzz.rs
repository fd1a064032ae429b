//! The fuzz entry point: the request decoder on arbitrary bytes, and what it accepts
//! encodes back to the same bytes.

use crate::fmt_sink::Sink;

use super::{
    MAX_DESCRIPTION_LEN, MAX_REQUEST_LEN, REPLY_LEN, Request, RequestRepr, emit_reply, parse_reply,
};

/// Fuzz entry point: classifies `data` as a request read, and checks that whatever
/// parses re-encodes to a request that parses to the same thing; also runs the view,
/// the reply decoder and every `Display`.
#[doc(hidden)]
pub fn fuzz_request(data: &[u8]) {
    use core::fmt::Write;
    let mut sink = Sink(0);
    match RequestRepr::parse(data) {
        Ok(repr) => {
            let _ = write!(sink, "{repr}");
            let mut buf = [0u8; MAX_REQUEST_LEN];
            let n = repr.emit(&mut buf).expect("a parsed request re-encodes");
            assert_eq!(n, repr.buffer_len());
            assert_eq!(RequestRepr::parse(&buf[..n]), Ok(repr));
            if repr.wants_reply() {
                let mut reply = [0u8; REPLY_LEN];
                emit_reply(repr.addr(), &mut reply).expect("reply fits");
                assert_eq!(parse_reply(&reply), Ok(*repr.addr()));
            }
        }
        Err(e) => {
            let _ = write!(sink, "{e}");
        }
    }
    if let Ok(req) = Request::new_checked(data) {
        let _ = (req.magic(), req.version(), req.request_type());
        let _ = write!(sink, "{}", req.addr());
        assert!(req.description().len() <= MAX_DESCRIPTION_LEN);
    }
    match parse_reply(data) {
        Ok(a) => {
            let _ = write!(sink, "{a:?}");
        }
        Err(e) => {
            let _ = write!(sink, "{e}");
        }
    }
}
