//! Where the helper's answer goes ([`Channel`]): output blocks and refusals on fd 1,
//! in the form the kernel reads for each command.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;

use nix::sys::socket::SockType;
use umlnet_core::helper::{TuntapUpReply, emit_output_block, output_block_len};

use crate::sys::fdpass::{self, FdKind};

/// Where the helper's answer goes, which decides how a refusal is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Channel {
    /// An output block on fd 1 (`add`, `del`, `slip`).
    Block,
    /// The `tuntap up` datagram on fd 1 (text only when refusing).
    TuntapDatagram,
    /// The ethertap status byte then an output block on fd 1.
    EthertapStatus,
}

/// Guesses the reply channel from the raw argv, so that even an argv that does not
/// parse is refused in the form the kernel reads.
pub(super) fn channel_for(args: &[OsString]) -> Channel {
    let word = |i: usize| args.get(i).and_then(|a| a.to_str()).unwrap_or("");
    let first = if word(0).bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        1
    } else {
        0
    };
    match (word(first), word(first + 1)) {
        ("tuntap", "up") => Channel::TuntapDatagram,
        ("ethertap", _) => Channel::EthertapStatus,
        _ => Channel::Block,
    }
}

/// Writes a refusal (possibly several lines of transcript, the last one the reason) on
/// the channel if fd 1 is the socket the kernel gives, else as plain text on stdout;
/// returns the exit status 1.
pub(super) fn refuse_on(channel: Channel, text: &str) -> i32 {
    let text = text.trim_end_matches('\n').to_string() + "\n";
    let kind = fdpass::fd_kind(1);
    let stdout = io::stdout();
    let sent = match (channel, kind) {
        (Channel::TuntapDatagram, FdKind::Unix(SockType::Datagram)) => {
            let reply = TuntapUpReply::Failed {
                text: text.as_bytes(),
            };
            let mut buf = vec![0u8; reply.buffer_len()];
            reply
                .emit(&mut buf)
                .ok()
                .and_then(|n| fdpass::send_with_fd(stdout.as_fd(), &[&buf[..n]], None).ok())
                .is_some()
        }
        (Channel::EthertapStatus, FdKind::Unix(SockType::Stream)) => {
            let mut out = vec![umlnet_core::helper::ETHERTAP_FAILED];
            out.extend_from_slice(&block(&text));
            write_fd1(&out).is_ok()
        }
        (Channel::Block, FdKind::Unix(SockType::Stream)) => write_fd1(&block(&text)).is_ok(),
        _ => false,
    };
    if !sent {
        let _ = stdout.lock().write_all(text.as_bytes());
    }
    1
}

pub(super) fn block(text: &str) -> Vec<u8> {
    let mut buf = vec![0u8; output_block_len(text.as_bytes())];
    // The buffer has exactly the needed length.
    let n = emit_output_block(text.as_bytes(), &mut buf).unwrap_or(0);
    buf.truncate(n);
    buf
}

/// Writes `bytes` to fd 1 in one piece (not through the line-buffered `Stdout`, which
/// would split a block at its last newline, and the kernel reads a block with exactly
/// two reads).
pub(super) fn write_fd1(bytes: &[u8]) -> io::Result<()> {
    let _ = io::stdout().lock().flush();
    File::from(io::stdout().as_fd().try_clone_to_owned()?).write_all(bytes)
}

/// Sends `text` as an output block when fd 1 is the kernel's stream socket, else as
/// plain text (a user running the helper by hand, or a dry run).
pub(super) fn reply_text(text: &str) -> io::Result<()> {
    if fdpass::fd_kind(1) == FdKind::Unix(SockType::Stream) {
        write_fd1(&block(text))
    } else {
        write_fd1(text.as_bytes())
    }
}
