//! Handing a ready socket to a running switch (`uml_switch -fdpass <path>`), for a
//! program that starts UML itself with `vec0:transport=fd,fd=N`.
//!
//! The program makes a `socketpair(AF_UNIX, SOCK_SEQPACKET)`, gives one end to the
//! kernel (inherited as descriptor `N`) and hands the other to the switch with
//! [`hand_over`]: it connects to the switch's `-fdpass` stream socket and sends the
//! 10 bytes [`HANDOFF_MAGIC`] with the descriptor attached (`SCM_RIGHTS`). The switch
//! answers with one line, `port <n>\n` or `refused: <why>\n`, and closes the
//! connection. The port lives until the kernel's end is closed (the kernel exits, or
//! the program closes its copy of that end and the kernel does too).

use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::sys::fdpass::send_with_fd;

/// The bytes that carry the descriptor.
pub const HANDOFF_MAGIC: &[u8] = b"umlnet-fd\n";

/// The switch's answer to a hand-over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The socket is port `n`.
    Port(u16),
    /// The switch did not take the socket, and why.
    Refused(String),
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Port(n) => writeln!(f, "port {n}"),
            Answer::Refused(why) => writeln!(f, "refused: {}", why.replace('\n', " ")),
        }
    }
}

impl Answer {
    /// Reads an answer line back; `None` for anything else.
    pub fn parse(line: &str) -> Option<Answer> {
        let line = line.strip_suffix('\n')?;
        if let Some(n) = line.strip_prefix("port ") {
            return n.parse().ok().map(Answer::Port);
        }
        line.strip_prefix("refused: ")
            .map(|w| Answer::Refused(w.to_string()))
    }
}

/// Hands `sock` (one end of a `SOCK_SEQPACKET` socket pair) to the switch listening
/// on `path` and returns its port number. The caller may close its copy afterwards.
pub fn hand_over(path: &Path, sock: BorrowedFd<'_>) -> io::Result<u16> {
    let mut s = UnixStream::connect(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "connecting to the switch's -fdpass socket {}: {e}",
                path.display()
            ),
        )
    })?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    send_with_fd(
        s.as_fd(),
        &[HANDOFF_MAGIC],
        Some(std::os::fd::AsRawFd::as_raw_fd(&sock)),
    )?;
    let mut line = String::new();
    s.read_to_string(&mut line)?;
    match Answer::parse(&line) {
        Some(Answer::Port(n)) => Ok(n),
        Some(Answer::Refused(why)) => Err(io::Error::other(format!(
            "the switch at {} refused the socket: {why}",
            path.display()
        ))),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the switch at {} answered {line:?}, not `port <n>`",
                path.display()
            ),
        )),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn answers_read_back() {
        assert_eq!(Answer::parse("port 7\n"), Some(Answer::Port(7)));
        assert_eq!(
            Answer::parse("refused: no\n"),
            Some(Answer::Refused("no".into()))
        );
        for bad in ["port 7", "port x\n", "porte 1\n", "", "port 70000\n"] {
            assert_eq!(Answer::parse(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn every_answer_survives_its_line(n: u16, why in "[ -~]{0,40}") {
            prop_assert_eq!(Answer::parse(&Answer::Port(n).to_string()), Some(Answer::Port(n)));
            let r = Answer::Refused(why.clone());
            prop_assert_eq!(Answer::parse(&r.to_string()), Some(r));
        }
    }
}
