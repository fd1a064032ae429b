//! Host interface names: their size ([`IFNAMSIZ`], [`IFNAME_MAX`]), the string that holds
//! one ([`IfName`]), and the check Linux makes before it takes one ([`check`], after the
//! kernel's `dev_valid_name`).
//!
//! ```
//! use umlnet_core::ifname::{NameError, WhiteSpace, check};
//!
//! assert_eq!(check("tap0", WhiteSpace::Unicode), Ok(()));
//! assert_eq!(check("..", WhiteSpace::Unicode), Err(NameError::Dot));
//! assert_eq!(check("a/b", WhiteSpace::Unicode), Err(NameError::Forbidden));
//! assert_eq!(check("sixteen_letters_", WhiteSpace::Unicode), Err(NameError::TooLong));
//! ```

use core::fmt;

/// `IFNAMSIZ`: the size of the kernel's name buffer, NUL included (the NUL-padded name
/// at the front of the tuntap reply has this size).
pub const IFNAMSIZ: usize = 16;
/// Longest interface name: [`IFNAMSIZ`] less the NUL.
pub const IFNAME_MAX: usize = IFNAMSIZ - 1;

/// A host interface name such as `tap0`, at most [`IFNAME_MAX`] bytes.
pub type IfName = heapless::String<IFNAME_MAX>;

/// What [`check`] counts as white space. The kernel refuses the bytes its `isspace`
/// knows; callers differ in how they read a Rust string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WhiteSpace {
    /// ASCII white space (`char::is_ascii_whitespace`: space, tab, newline, form feed,
    /// carriage return).
    Ascii,
    /// Unicode white space (`char::is_whitespace`).
    Unicode,
}

/// Why [`check`] refused a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is `.` or `..`.
    Dot,
    /// The name holds a `/`, a `:` or white space.
    Forbidden,
    /// The name is longer than [`IFNAME_MAX`] bytes.
    TooLong,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::Empty => "the name is empty",
            NameError::Dot => "the name is '.' or '..'",
            NameError::Forbidden => "the name holds '/', ':' or white space",
            NameError::TooLong => "the name is longer than 15 bytes",
        })
    }
}

impl core::error::Error for NameError {}

/// Checks a host interface name the way Linux does (`dev_valid_name`): not empty, not
/// `.` or `..`, no `/`, `:` or white space (as `spaces` says), at most [`IFNAME_MAX`]
/// bytes. The reasons are tried in that order, so a long name with a `/` in it is
/// [`NameError::Forbidden`].
pub fn check(name: &str, spaces: WhiteSpace) -> Result<(), NameError> {
    let is_space = match spaces {
        WhiteSpace::Ascii => char::is_ascii_whitespace,
        WhiteSpace::Unicode => |c: &char| c.is_whitespace(),
    };
    if name.is_empty() {
        Err(NameError::Empty)
    } else if name == "." || name == ".." {
        Err(NameError::Dot)
    } else if name.chars().any(|c| c == '/' || c == ':' || is_space(&c)) {
        Err(NameError::Forbidden)
    } else if name.len() > IFNAME_MAX {
        Err(NameError::TooLong)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reasons_in_order() {
        assert_eq!(check("", WhiteSpace::Ascii), Err(NameError::Empty));
        assert_eq!(check(".", WhiteSpace::Ascii), Err(NameError::Dot));
        assert_eq!(check("...", WhiteSpace::Ascii), Ok(()));
        assert_eq!(
            check("eth0:1", WhiteSpace::Ascii),
            Err(NameError::Forbidden)
        );
        assert_eq!(
            check("a very long name", WhiteSpace::Ascii),
            Err(NameError::Forbidden)
        );
        assert_eq!(check("fifteen_letters", WhiteSpace::Ascii), Ok(()));
        assert_eq!(check("a\u{a0}b", WhiteSpace::Ascii), Ok(()));
        assert_eq!(
            check("a\u{a0}b", WhiteSpace::Unicode),
            Err(NameError::Forbidden)
        );
        assert_eq!(check("a\u{b}b", WhiteSpace::Ascii), Ok(()));
        assert_eq!(
            check("a\u{b}b", WhiteSpace::Unicode),
            Err(NameError::Forbidden)
        );
    }

    proptest! {
        /// The host plans' old check, kept as it was.
        #[test]
        fn unicode_is_the_old_host_check(name in "\\PC{0,17}|[a-z./: \t]{0,17}") {
            let old = !name.is_empty()
                && name.len() <= IFNAME_MAX
                && name != "."
                && name != ".."
                && !name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace());
            prop_assert_eq!(check(&name, WhiteSpace::Unicode).is_ok(), old);
        }

        /// The command-line parser's old character check, kept as it was.
        #[test]
        fn ascii_is_the_old_command_line_check(name in "\\PC{0,17}|[a-z./: \t\u{b}]{0,17}") {
            let old = name != "."
                && name != ".."
                && !name.bytes().any(|c| c == b'/' || c == b':' || c.is_ascii_whitespace());
            let new = !matches!(check(&name, WhiteSpace::Ascii), Err(NameError::Dot | NameError::Forbidden));
            prop_assert_eq!(new, old);
        }
    }
}
