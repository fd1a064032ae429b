//! The fuzz entry point: parses arbitrary argvs and replies and checks that what is
//! accepted encodes back to the same bytes.

use core::fmt::Write as _;

use crate::fmt_sink::Sink;

use super::{
    ADDR_CHANGE_LEN, ARGV_MAX, AddrChange, AddrChangeRepr, EchoLine, HelperCall, TuntapUpReply,
    emit_output_block, parse_output_block,
};

/// Fuzz entry point: splits `data` on NUL and ASCII whitespace into an argv, parses it,
/// and on success checks that [`HelperCall::to_argv`] parses back to the same call.
/// Also runs the reply decoders on the raw bytes and every `Display`.
#[doc(hidden)]
pub fn fuzz_argv(data: &[u8]) {
    let mut sink = Sink(0);
    let mut words: heapless::Vec<&str, 16> = heapless::Vec::new();
    let mut utf8 = true;
    for w in data
        .split(|&b| b == 0 || b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        match core::str::from_utf8(w) {
            Ok(s) => {
                if words.push(s).is_err() {
                    break;
                }
            }
            Err(_) => utf8 = false,
        }
    }
    if utf8 {
        match HelperCall::parse(&words) {
            Ok(call) => {
                let argv = call.to_argv();
                let mut strs: heapless::Vec<&str, ARGV_MAX> = heapless::Vec::new();
                for a in &argv {
                    let _ = strs.push(a.as_str());
                }
                assert_eq!(HelperCall::parse(&strs).as_ref(), Ok(&call));
                let _ = write!(sink, "{call}{}", EchoLine(&strs));
            }
            Err(e) => {
                let _ = write!(sink, "{e}");
            }
        }
    }
    match parse_output_block(data) {
        Ok(b) => {
            let mut buf = [0u8; 4096];
            if let Ok(n) = emit_output_block(b.text, &mut buf) {
                assert_eq!(parse_output_block(&buf[..n]).map(|o| o.text), Ok(b.text));
            }
        }
        Err(e) => {
            let _ = write!(sink, "{e}");
        }
    }
    for fd in [false, true] {
        match TuntapUpReply::parse(data, fd) {
            Ok(r) => {
                let mut buf = [0u8; 4096];
                if let Ok(n) = r.emit(&mut buf) {
                    assert_eq!(TuntapUpReply::parse(&buf[..n], fd).as_ref(), Ok(&r));
                }
            }
            Err(e) => {
                let _ = write!(sink, "{e}");
            }
        }
    }
    if let Ok(v) = AddrChange::new_checked(data) {
        let r = AddrChangeRepr::parse(&v);
        let mut buf = [0u8; ADDR_CHANGE_LEN];
        r.emit(&mut AddrChange::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &data[..ADDR_CHANGE_LEN]);
    }
    let _ = AddrChangeRepr::parse_v3(data);
}
