//! Reading the console's `stats`, `ports` and `macs` answers.

use super::{Address, Counters, Mode, Port, SwitchStatus};

/// Why the console's text could not be read: the line (1-based), what it says, and
/// what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "switch console answer, line {line} ({text:?}): expected {expected}; is this a umlnet \
     uml_switch -mgmt console of the same version as umlnet?"
)]
pub struct StatusError {
    /// The line, counting from 1 (one past the last line when the text ends early).
    pub line: usize,
    /// The line's text (empty past the end).
    pub text: String,
    /// What the line should have been.
    pub expected: &'static str,
}

/// The lines of the text with their numbers, read one at a time.
struct Lines<'a> {
    lines: std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'a>>>,
    count: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        Lines {
            lines: text.lines().enumerate().peekable(),
            count: text.lines().count(),
        }
    }

    /// The next line and its number, or an error `expected` past the end.
    fn next(&mut self, expected: &'static str) -> Result<(usize, &'a str), StatusError> {
        match self.lines.next() {
            Some((i, l)) => Ok((i + 1, l)),
            None => Err(StatusError {
                line: self.count + 1,
                text: String::new(),
                expected,
            }),
        }
    }

    /// The lines up to the empty line that ends an answer (which is consumed), and
    /// that empty line's number.
    fn answer(&mut self, what: &'static str) -> Result<Answer<'a>, StatusError> {
        let mut lines = Vec::new();
        loop {
            let (n, l) = self.next(what)?;
            if l.is_empty() {
                return Ok(Answer { lines, end: n });
            }
            lines.push((n, l));
        }
    }
}

/// A numbered line of the console's text.
type Line<'a> = (usize, &'a str);

/// One console answer: its lines with their numbers, and the number of the empty line
/// that ended it.
struct Answer<'a> {
    lines: Vec<Line<'a>>,
    end: usize,
}

impl<'a> Answer<'a> {
    /// The first line, or an error at the end of the answer when it has none.
    fn first(&self, expected: &'static str) -> Result<(Line<'a>, &[Line<'a>]), StatusError> {
        match self.lines.split_first() {
            Some((&first, rest)) => Ok((first, rest)),
            None => Err(bad(self.end, "", expected)),
        }
    }
}

fn bad(line: usize, text: &str, expected: &'static str) -> StatusError {
    StatusError {
        line,
        text: text.to_string(),
        expected,
    }
}

fn number<T: std::str::FromStr>(
    word: &str,
    (n, line): (usize, &str),
    expected: &'static str,
) -> Result<T, StatusError> {
    // Only plain decimal digits (FromStr would also take a leading '+').
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(n, line, expected));
    }
    word.parse().map_err(|_| bad(n, line, expected))
}

/// `<n>s` as seconds.
fn seconds(word: &str, at: (usize, &str), expected: &'static str) -> Result<u64, StatusError> {
    let Some(digits) = word.strip_suffix('s') else {
        return Err(bad(at.0, at.1, expected));
    };
    number(digits, at, expected)
}

/// Reads the three answers `umlnet switch-status` collects (`stats`, then `ports`,
/// then `macs`, each ended by an empty line).
pub fn parse(text: &str) -> Result<SwitchStatus, StatusError> {
    let mut lines = Lines::new(text);
    let stats = lines.answer("the 'stats' answer, ended by an empty line")?;
    let ports = lines.answer("the 'ports' answer, ended by an empty line")?;
    let macs = lines.answer("the 'macs' answer, ended by an empty line")?;
    if let Some((i, l)) = lines.lines.next() {
        return Err(bad(i + 1, l, "nothing after the 'macs' answer"));
    }
    let mut status = parse_stats(&stats)?;
    status.ports = parse_ports(&ports)?;
    let (listed, addresses) = parse_macs(&macs)?;
    if listed != status.address_count {
        let at = macs.lines.first().copied().unwrap_or((macs.end, ""));
        return Err(bad(
            at.0,
            at.1,
            "as many addresses as the 'stats' answer counted",
        ));
    }
    status.addresses = addresses;
    Ok(status)
}

const MODE: &str = "'mode switch' or 'mode hub'";
const PORTS: &str = "'ports <count>'";
const ADDRESSES: &str = "'addresses <count> of <capacity>'";
const COUNTER: &str = "'<counter name> <count>'";

fn parse_stats(answer: &Answer<'_>) -> Result<SwitchStatus, StatusError> {
    let (first, rest) = answer.first(MODE)?;
    let mut it = rest.iter().copied();
    let mode = match first.1 {
        "mode switch" => Mode::Switch,
        "mode hub" => Mode::Hub,
        _ => return Err(bad(first.0, first.1, MODE)),
    };
    let at = it.next().ok_or_else(|| bad(first.0 + 1, "", PORTS))?;
    let port_count = match at.1.split(' ').collect::<Vec<_>>().as_slice() {
        ["ports", n] => number(n, at, PORTS)?,
        _ => return Err(bad(at.0, at.1, PORTS)),
    };
    let at2 = it.next().ok_or_else(|| bad(at.0 + 1, "", ADDRESSES))?;
    let (address_count, address_capacity) = match at2.1.split(' ').collect::<Vec<_>>().as_slice() {
        ["addresses", n, "of", cap] => (number(n, at2, ADDRESSES)?, number(cap, at2, ADDRESSES)?),
        _ => return Err(bad(at2.0, at2.1, ADDRESSES)),
    };
    let mut counters = Counters::default();
    for at in it {
        match at.1.split(' ').collect::<Vec<_>>().as_slice() {
            [name, n]
                if !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    && !counters.0.iter().any(|(k, _)| k == name) =>
            {
                counters.0.push((name.to_string(), number(n, at, COUNTER)?));
            }
            _ => return Err(bad(at.0, at.1, COUNTER)),
        }
    }
    Ok(SwitchStatus {
        mode,
        port_count,
        address_count,
        address_capacity,
        counters,
        ports: Vec::new(),
        addresses: Vec::new(),
    })
}

const PORT_COUNT: &str = "'<count> ports'";
const PORT: &str = "'port <id> <kind> up <n>s rx <n> frames <n> bytes tx <n> frames <n> bytes \
                    tx_errors <n> drops <n> macs <n>'";

fn parse_ports(answer: &Answer<'_>) -> Result<Vec<Port>, StatusError> {
    let (first, rest) = answer.first(PORT_COUNT)?;
    let count: usize = match first.1.split(' ').collect::<Vec<_>>().as_slice() {
        [n, "ports"] => number(n, first, PORT_COUNT)?,
        _ => return Err(bad(first.0, first.1, PORT_COUNT)),
    };
    if count != rest.len() {
        return Err(bad(
            first.0,
            first.1,
            "as many port lines as the count says",
        ));
    }
    rest.iter().map(|&at| parse_port(at)).collect()
}

fn parse_port(at: (usize, &str)) -> Result<Port, StatusError> {
    let words: Vec<&str> = at.1.split(' ').collect();
    // port <id> <kind...> and then 18 words of counters.
    if words.len() < 21 || words[0] != "port" {
        return Err(bad(at.0, at.1, PORT));
    }
    let tail = &words[words.len() - 18..];
    let kind = words[2..words.len() - 18].join(" ");
    if kind.is_empty() || kind.trim() != kind || kind.contains("  ") {
        return Err(bad(at.0, at.1, PORT));
    }
    let [
        "up",
        up,
        "rx",
        rx_f,
        "frames",
        rx_b,
        "bytes",
        "tx",
        tx_f,
        "frames",
        tx_b,
        "bytes",
        "tx_errors",
        errors,
        "drops",
        drops,
        "macs",
        macs,
    ] = tail
    else {
        return Err(bad(at.0, at.1, PORT));
    };
    Ok(Port {
        id: number(words[1], at, PORT)?,
        kind,
        up_secs: seconds(up, at, PORT)?,
        rx_frames: number(rx_f, at, PORT)?,
        rx_bytes: number(rx_b, at, PORT)?,
        tx_frames: number(tx_f, at, PORT)?,
        tx_bytes: number(tx_b, at, PORT)?,
        tx_errors: number(errors, at, PORT)?,
        drops: number(drops, at, PORT)?,
        macs: number(macs, at, PORT)?,
    })
}

const ADDRESS_COUNT: &str = "'<count> addresses'";
const ADDRESS: &str = "'<mac> port <id> age <n>s'";
const MORE: &str = "'... and <n> more' after the last address listed";

fn parse_macs(answer: &Answer<'_>) -> Result<(u64, Vec<Address>), StatusError> {
    let (first, mut rest) = answer.first(ADDRESS_COUNT)?;
    let count: u64 = match first.1.split(' ').collect::<Vec<_>>().as_slice() {
        [n, "addresses"] => number(n, first, ADDRESS_COUNT)?,
        _ => return Err(bad(first.0, first.1, ADDRESS_COUNT)),
    };
    let mut unlisted = 0;
    if let Some((&last, before)) = rest.split_last()
        && last.1.starts_with("...")
    {
        match last.1.split(' ').collect::<Vec<_>>().as_slice() {
            ["...", "and", n, "more"] => unlisted = number(n, last, MORE)?,
            _ => return Err(bad(last.0, last.1, MORE)),
        }
        if unlisted == 0 {
            return Err(bad(last.0, last.1, MORE));
        }
        rest = before;
    }
    let addresses = rest
        .iter()
        .map(|&at| match at.1.split(' ').collect::<Vec<_>>().as_slice() {
            [mac, "port", port, "age", age] if umlnet_core::mac::MacAddr::parse(mac).is_ok() => {
                Ok(Address {
                    mac: mac.to_string(),
                    port: number(port, at, ADDRESS)?,
                    age_secs: seconds(age, at, ADDRESS)?,
                })
            }
            _ => Err(bad(at.0, at.1, ADDRESS)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if addresses.len() as u64 + unlisted != count {
        return Err(bad(
            first.0,
            first.1,
            "as many address lines (and '... and <n> more') as the count says",
        ));
    }
    Ok((count, addresses))
}
