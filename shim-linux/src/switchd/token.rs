//! What a readiness report from the poller is about: one [`Token`] per watched
//! descriptor, carried through `epoll` as a `u64` (as in mio).
//!
//! The encoding is the kind in the high 32 bits and an id (a port number, a descriptor,
//! an uplink socket index) in the low 32 bits.

use std::os::fd::RawFd;

/// A watched descriptor, as the event loop dispatches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    /// The control socket's listener: new connections to accept.
    Listener,
    /// The shared data socket (v0 clients, `-compat-v0`, fallback).
    Data,
    /// The `signalfd` for SIGINT and SIGTERM.
    Signal,
    /// The `-tap` device.
    Tap,
    /// A terminal on stdin (EOF stops the switch).
    Stdin,
    /// The `-mgmt` console's listener.
    MgmtListener,
    /// A control connection whose request has not been read yet (its descriptor).
    Pending(RawFd),
    /// The control connection of an attached port (its port number).
    PortControl(u16),
    /// A `-mgmt` console connection (its descriptor).
    Mgmt(RawFd),
    /// The data socket of a port's own (its port number): frames in, room to send out.
    PortData(u16),
    /// A VXLAN uplink socket (its socket index in [`super::vxlan::Uplinks`]).
    Vxlan(usize),
}

const LISTENER: u64 = 1;
const DATA: u64 = 2;
const SIGNAL: u64 = 3;
const TAP: u64 = 4;
const STDIN: u64 = 5;
const MGMT_LISTENER: u64 = 6;
const PENDING: u64 = 7;
const PORT_CONTROL: u64 = 8;
const MGMT: u64 = 9;
const PORT_DATA: u64 = 10;
const VXLAN: u64 = 11;

impl Token {
    /// The token a `u64` from the poller stands for; `None` for one it never was given.
    pub(super) fn from_u64(t: u64) -> Option<Token> {
        let id = (t & 0xffff_ffff) as u32;
        Some(match t >> 32 {
            LISTENER => Token::Listener,
            DATA => Token::Data,
            SIGNAL => Token::Signal,
            TAP => Token::Tap,
            STDIN => Token::Stdin,
            MGMT_LISTENER => Token::MgmtListener,
            PENDING => Token::Pending(id as RawFd),
            PORT_CONTROL => Token::PortControl(id as u16),
            MGMT => Token::Mgmt(id as RawFd),
            PORT_DATA => Token::PortData(id as u16),
            VXLAN => Token::Vxlan(id as usize),
            _ => return None,
        })
    }
}

impl From<Token> for u64 {
    fn from(t: Token) -> u64 {
        let (kind, id) = match t {
            Token::Listener => (LISTENER, 0),
            Token::Data => (DATA, 0),
            Token::Signal => (SIGNAL, 0),
            Token::Tap => (TAP, 0),
            Token::Stdin => (STDIN, 0),
            Token::MgmtListener => (MGMT_LISTENER, 0),
            Token::Pending(fd) => (PENDING, fd as u64),
            Token::PortControl(p) => (PORT_CONTROL, u64::from(p)),
            Token::Mgmt(fd) => (MGMT, fd as u64),
            Token::PortData(p) => (PORT_DATA, u64::from(p)),
            Token::Vxlan(i) => (VXLAN, i as u64),
        };
        (kind << 32) | id
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn every_token_survives_the_trip_through_epoll() {
        let all = [
            Token::Listener,
            Token::Data,
            Token::Signal,
            Token::Tap,
            Token::Stdin,
            Token::MgmtListener,
            Token::Pending(7),
            Token::PortControl(4095),
            Token::Mgmt(1000),
            Token::PortData(0),
            Token::Vxlan(3),
        ];
        for t in all {
            assert_eq!(Token::from_u64(u64::from(t)), Some(t));
        }
        // The encoding the loop used before the enum: kind << 32 | id.
        assert_eq!(u64::from(Token::PortData(5)), (10 << 32) | 5);
        assert_eq!(Token::from_u64(0), None);
        assert_eq!(Token::from_u64(12 << 32), None);
    }
}
