//! The serial console's line input: bytes in, whole command lines (or a Ctrl-C) out,
//! with the echo a terminal expects.

/// The longest command line kept; longer input is refused when Enter comes.
pub const LINE_MAX: usize = 160;

/// What a byte completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Enter: the line typed (without the line end).
    Line(heapless::String<LINE_MAX>),
    /// Enter after more than [`LINE_MAX`] bytes.
    TooLong,
    /// Ctrl-C.
    Interrupt,
}

/// The line being typed.
#[derive(Debug, Default)]
pub struct LineInput {
    line: heapless::String<LINE_MAX>,
    overflow: bool,
    last_cr: bool,
}

impl LineInput {
    /// An empty line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one byte; `echo` gets what the terminal should show. `\r`, `\n` and
    /// `\r\n` each end one line; backspace and DEL erase; other control bytes and
    /// non-ASCII bytes are dropped.
    pub fn push(&mut self, byte: u8, mut echo: impl FnMut(&[u8])) -> Option<Input> {
        let after_cr = core::mem::replace(&mut self.last_cr, byte == b'\r');
        match byte {
            b'\n' if after_cr => None,
            b'\r' | b'\n' => {
                echo(b"\r\n");
                let line = core::mem::take(&mut self.line);
                Some(if core::mem::take(&mut self.overflow) {
                    Input::TooLong
                } else {
                    Input::Line(line)
                })
            }
            0x03 => {
                echo(b"^C\r\n");
                self.line.clear();
                self.overflow = false;
                Some(Input::Interrupt)
            }
            0x08 | 0x7f => {
                if self.line.pop().is_some() {
                    echo(b"\x08 \x08");
                }
                None
            }
            b' '..=b'~' => {
                if self.line.push(char::from(byte)).is_ok() {
                    echo(&[byte]);
                } else {
                    self.overflow = true;
                }
                None
            }
            _ => None,
        }
    }
}

/// Fuzz entry point: any bytes typed. Lines come back printable and within
/// [`LINE_MAX`]; the echo is printable text, line ends and erasures only.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let mut input = LineInput::new();
    for &b in data {
        let mut echo_ok = true;
        let event = input.push(b, |e| {
            echo_ok &= e
                .iter()
                .all(|&c| (b' '..=b'~').contains(&c) || matches!(c, b'\r' | b'\n' | 0x08));
        });
        assert!(echo_ok, "echo of {b:#04x}");
        if let Some(Input::Line(line)) = event {
            assert!(line.len() <= LINE_MAX);
            assert!(line.bytes().all(|c| (b' '..=b'~').contains(&c)));
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn feed(input: &mut LineInput, bytes: &[u8]) -> (Vec<Input>, Vec<u8>) {
        let mut echoed = Vec::new();
        let out = bytes
            .iter()
            .filter_map(|&b| input.push(b, |e| echoed.extend_from_slice(e)))
            .collect();
        (out, echoed)
    }

    #[test]
    fn lines_erase_and_interrupt() {
        let mut i = LineInput::new();
        let (out, echo) = feed(&mut i, b"ifconfix\x7fg\r\nroute -n\n\x03");
        let line = |s: &str| Input::Line(heapless::String::try_from(s).unwrap());
        assert_eq!(out, [line("ifconfig"), line("route -n"), Input::Interrupt]);
        assert_eq!(echo, b"ifconfix\x08 \x08g\r\nroute -n\r\n^C\r\n");
        let long = [b'x'; LINE_MAX + 1];
        let (out, _) = feed(&mut i, &long);
        assert!(out.is_empty());
        assert_eq!(feed(&mut i, b"\r").0, [Input::TooLong]);
        assert_eq!(feed(&mut i, b"ok\r").0, [line("ok")]);
    }

    proptest! {
        #[test]
        fn any_typing_keeps_the_rules(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            super::fuzz_one(&data);
            // Printable text followed by Enter comes back as it was typed.
            let text: Vec<u8> = data.iter().map(|b| b' ' + b % 95).take(LINE_MAX).collect();
            let mut i = LineInput::new();
            let mut all = text.clone();
            all.push(b'\r');
            let (out, _) = feed(&mut i, &all);
            let want = heapless::String::try_from(core::str::from_utf8(&text).unwrap()).unwrap();
            prop_assert_eq!(out, std::vec![Input::Line(want)]);
        }
    }
}
