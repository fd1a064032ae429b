//! The command text, matched by prefix as the kernel does ([`Command::parse`]), and the
//! device numbers in it ([`parse_device_number`]).

use core::fmt;

/// The kernel's commands that are not about networking, in its table order.
pub const OTHER_COMMANDS: [&str; 9] = [
    "halt", "reboot", "sysrq", "cad", "stop", "go", "log", "proc", "stack",
];

/// A request's command text, matched as the 6.1 kernel matches it.
///
/// The text ends at `len` or at the first NUL. A command is recognised when the text
/// **starts with** its name (so `versions` is `version`); arguments start after the
/// name and, for `config` and `remove`, after any white space. The device class is
/// matched by prefix too (`eth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Command<'a> {
    /// `version`: the kernel answers `<sysname> <nodename> <release> <version> <machine>`.
    Version,
    /// `help`: the command list.
    Help,
    /// `config eth<n>=<spec>`: add a device. `arg` is the whole argument
    /// (`eth4=mcast`), in the kernel command-line form that [`crate::cmdline`] parses.
    ConfigEth {
        /// `eth<n>=<transport>,…` exactly as given.
        arg: &'a str,
    },
    /// `config eth<n>` without `=`: query a device (the 6.1 kernel has no query for
    /// eth and answers [`NO_GET_CONFIG`](super::NO_GET_CONFIG)).
    GetConfigEth {
        /// The text after `eth` (normally `<n>`).
        name: &'a str,
    },
    /// `config` of anything that is not `eth…` ([`BAD_CONFIGURATION_OPTION`](super::BAD_CONFIGURATION_OPTION) unless
    /// it is another device class, such as `ubd`).
    ConfigOther {
        /// The argument after `config` and white space.
        arg: &'a str,
    },
    /// `remove eth<n>` with `<n>` an entire base-0 number (`8`, `010`, `0x8`).
    RemoveEth {
        /// The device number.
        index: u32,
    },
    /// `remove eth<x>` where `<x>` is not an entire number
    /// ([`COULDNT_PARSE_DEVICE_NUMBER`](super::COULDNT_PARSE_DEVICE_NUMBER)).
    RemoveEthBadNumber {
        /// The text after `eth`.
        text: &'a str,
    },
    /// `remove` of anything that is not `eth…` ([`BAD_REMOVE_OPTION`](super::BAD_REMOVE_OPTION) unless it is
    /// another device class).
    RemoveOther {
        /// The argument after `remove` and white space.
        arg: &'a str,
    },
    /// A kernel command that is not about networking (one of [`OTHER_COMMANDS`]).
    Other {
        /// The command name.
        name: &'static str,
        /// Everything after the name, as given.
        args: &'a str,
    },
    /// Text that matches no command ([`UNKNOWN_COMMAND`](super::UNKNOWN_COMMAND)), or that is not UTF-8.
    Unknown {
        /// The text (up to the first NUL).
        text: &'a [u8],
    },
}

/// The kernel's `isspace` for ASCII (it includes vertical tab, which Rust's
/// `is_ascii_whitespace` does not).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

impl<'a> Command<'a> {
    /// Matches a request's command text.
    pub fn parse(text: &'a [u8]) -> Command<'a> {
        let text = match text.iter().position(|&b| b == 0) {
            Some(nul) => &text[..nul],
            None => text,
        };
        let Ok(s) = core::str::from_utf8(text) else {
            return Command::Unknown { text };
        };
        if s.starts_with("version") {
            Command::Version
        } else if s.starts_with("help") {
            Command::Help
        } else if let Some(rest) = s.strip_prefix("config") {
            let arg = rest.trim_start_matches(is_space);
            match arg.strip_prefix("eth") {
                Some(name) if name.contains('=') => Command::ConfigEth { arg },
                Some(name) => Command::GetConfigEth { name },
                None => Command::ConfigOther { arg },
            }
        } else if let Some(rest) = s.strip_prefix("remove") {
            let arg = rest.trim_start_matches(is_space);
            match arg.strip_prefix("eth") {
                Some(text) => match parse_device_number(text) {
                    Some(index) => Command::RemoveEth { index },
                    None => Command::RemoveEthBadNumber { text },
                },
                None => Command::RemoveOther { arg },
            }
        } else if let Some(name) = OTHER_COMMANDS.iter().copied().find(|n| s.starts_with(n)) {
            Command::Other {
                name,
                args: &s[name.len()..],
            }
        } else {
            Command::Unknown { text }
        }
    }
}

impl fmt::Display for Command<'_> {
    /// The canonical command text (what [`Command::parse`] reads back to the same
    /// command).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Command::Version => f.write_str("version"),
            Command::Help => f.write_str("help"),
            Command::ConfigEth { arg } | Command::ConfigOther { arg } => {
                write!(f, "config {arg}")
            }
            Command::GetConfigEth { name } => write!(f, "config eth{name}"),
            Command::RemoveEth { index } => write!(f, "remove eth{index}"),
            Command::RemoveEthBadNumber { text } => write!(f, "remove eth{text}"),
            Command::RemoveOther { arg } => write!(f, "remove {arg}"),
            Command::Other { name, args } => write!(f, "{name}{args}"),
            Command::Unknown { text } => match core::str::from_utf8(text) {
                Ok(s) => f.write_str(s),
                Err(_) => {
                    for chunk in text.utf8_chunks() {
                        f.write_str(chunk.valid())?;
                        for b in chunk.invalid() {
                            write!(f, "\\x{b:02x}")?;
                        }
                    }
                    Ok(())
                }
            },
        }
    }
}

/// Reads a device number as the kernel's `simple_strtoul(…, 0)` plus its "entire
/// string" check: `0x`/`0X` followed by a hex digit is hexadecimal, a leading `0`
/// octal, otherwise decimal; no sign, no white space, at least one digit, nothing
/// after. Where the kernel's `int` would wrap (values of 2^31 and more) this returns
/// `None`, so those are reported as unparsable instead of naming another device.
pub fn parse_device_number(text: &str) -> Option<u32> {
    let b = text.as_bytes();
    let (radix, digits) = match b {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &text[2..]),
        [b'0', ..] => (8, text),
        _ => (10, text),
    };
    if digits.is_empty() || !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    let n = u32::from_str_radix(digits, radix).ok()?;
    (n <= i32::MAX as u32).then_some(n)
}
