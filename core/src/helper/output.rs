//! The output block the helper answers with ([`emit_output_block`],
//! [`parse_output_block`]) and the lines in it ([`EchoLine`], [`NotZeroLine`],
//! [`ExecFailedLine`]).

use core::fmt::{self, Write as _};

/// Size of the block's length prefix.
pub const OUTPUT_LEN_FIELD: usize = 4;

/// Bytes [`emit_output_block`] writes for `text`: 4, plus the text and its NUL when
/// there is any text.
pub fn output_block_len(text: &[u8]) -> usize {
    if text.is_empty() {
        OUTPUT_LEN_FIELD
    } else {
        OUTPUT_LEN_FIELD + text.len() + 1
    }
}

/// A buffer too small for what was to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BufferTooSmall {
    /// Bytes needed.
    pub needed: usize,
    /// Bytes available.
    pub got: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "buffer of {} bytes is too small, {} are needed",
            self.got, self.needed
        )
    }
}

/// Writes an output block: `used` as a native-order (little-endian on x86_64) 4-byte
/// int counting the text **and** its terminating NUL, then the text and the NUL. No
/// text gives the empty block `00 00 00 00`. Returns the bytes written.
pub fn emit_output_block(text: &[u8], buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let needed = output_block_len(text);
    if buf.len() < needed || needed - OUTPUT_LEN_FIELD > i32::MAX as usize {
        return Err(BufferTooSmall {
            needed,
            got: buf.len(),
        });
    }
    let used = (needed - OUTPUT_LEN_FIELD) as u32;
    buf[..OUTPUT_LEN_FIELD].copy_from_slice(&used.to_ne_bytes());
    if !text.is_empty() {
        buf[OUTPUT_LEN_FIELD..needed - 1].copy_from_slice(text);
        buf[needed - 1] = 0;
    }
    Ok(needed)
}

/// A decoded output block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutputBlock<'a> {
    /// The text the kernel prints: up to the first NUL.
    pub text: &'a [u8],
    /// Bytes the block took from the stream (4 + `used`).
    pub len: usize,
}

/// Why an output block could not be read, in the kernel's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OutputError {
    /// Fewer than 4 bytes.
    ShortLength {
        /// Bytes there were.
        got: usize,
    },
    /// Fewer text bytes than `used` announced.
    ShortData {
        /// Bytes there were after the length.
        got: usize,
        /// `used`.
        expected: usize,
    },
    /// A negative `used` (the kernel reads it as an `int`).
    NegativeLength(i32),
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OutputError::ShortLength { got } => write!(
                f,
                "read_output - read of length failed, read only {got} of {OUTPUT_LEN_FIELD} bytes"
            ),
            OutputError::ShortData { got, expected } => write!(
                f,
                "read_output - read of data failed, read only {got} of {expected} bytes"
            ),
            OutputError::NegativeLength(n) => {
                write!(f, "read_output - the helper sent a negative length {n}")
            }
        }
    }
}

/// Reads one output block from the front of `data` (more may follow it).
pub fn parse_output_block(data: &[u8]) -> Result<OutputBlock<'_>, OutputError> {
    let Some(len) = data.get(..OUTPUT_LEN_FIELD) else {
        return Err(OutputError::ShortLength { got: data.len() });
    };
    let used = i32::from_ne_bytes([len[0], len[1], len[2], len[3]]);
    let used = usize::try_from(used).map_err(|_| OutputError::NegativeLength(used))?;
    let rest = &data[OUTPUT_LEN_FIELD..];
    let body = rest.get(..used).ok_or(OutputError::ShortData {
        got: rest.len(),
        expected: used,
    })?;
    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
    Ok(OutputBlock {
        text: &body[..end],
        len: OUTPUT_LEN_FIELD + used,
    })
}

/// The line the helper adds before each command it runs: `* <argv joined by spaces>\n`.
#[derive(Debug, Clone, Copy)]
pub struct EchoLine<'a>(pub &'a [&'a str]);

impl fmt::Display for EchoLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('*')?;
        for a in self.0 {
            f.write_char(' ')?;
            f.write_str(a)?;
        }
        f.write_char('\n')
    }
}

/// The line after a command that had to succeed and did not:
/// `'<argv0>' didn't exit with status 0\n`.
#[derive(Debug, Clone, Copy)]
pub struct NotZeroLine<'a>(pub &'a str);

impl fmt::Display for NotZeroLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "'{}' didn't exit with status 0", self.0)
    }
}

/// The line for a command that could not be executed:
/// `Failed to exec '<argv0>'<strerror>\n` (no separator, as the original prints it).
#[derive(Debug, Clone, Copy)]
pub struct ExecFailedLine<'a> {
    /// The program.
    pub argv0: &'a str,
    /// `strerror(errno)`.
    pub error: &'a str,
}

impl fmt::Display for ExecFailedLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Failed to exec '{}'{}", self.argv0, self.error)
    }
}
