//! Ethertap's status byte ([`EthertapStatus`]) and address-change messages
//! ([`AddrChange`], [`AddrChangeRepr`]).

use core::fmt;
use core::net::Ipv4Addr;
use core::ops::Range;

use super::{ADDR_CHANGE_LEN, ADDR_CHANGE_V3_LEN, ETHERTAP_FAILED, ETHERTAP_OK};

/// The byte the ethertap helper writes first on its control socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EthertapStatus {
    /// `0x01`: the tap is open and the relay runs.
    Ready,
    /// Anything else (the helper sends `0x00`); an output block follows either way.
    Failed,
}

impl EthertapStatus {
    /// Reads the byte as the kernel does: only 1 is success.
    pub fn from_byte(b: u8) -> Self {
        if b == ETHERTAP_OK {
            EthertapStatus::Ready
        } else {
            EthertapStatus::Failed
        }
    }

    /// The byte the helper sends.
    pub fn to_byte(self) -> u8 {
        match self {
            EthertapStatus::Ready => ETHERTAP_OK,
            EthertapStatus::Failed => ETHERTAP_FAILED,
        }
    }
}

/// Byte offsets of the ethertap address-change message.
pub mod field {
    /// A fixed-size field.
    pub type Field = core::ops::Range<usize>;
    /// `what`: 0 add, 1 delete (a C enum, host order).
    pub const WHAT: Field = 0..4;
    /// The address, network order.
    pub const ADDR: Field = 4..8;
    /// The netmask, network order (version 4 only).
    pub const NETMASK: Field = 8..12;
}

/// The `what` of an address change; unknown values are kept (the original helper logs
/// `address_change - bad op : N` and carries on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChangeOp {
    /// 0, `ADD_ADDR`.
    Add,
    /// 1, `DEL_ADDR`.
    Del,
    /// Anything else.
    Unknown(u32),
}

impl From<u32> for ChangeOp {
    fn from(v: u32) -> Self {
        match v {
            0 => ChangeOp::Add,
            1 => ChangeOp::Del,
            n => ChangeOp::Unknown(n),
        }
    }
}

impl From<ChangeOp> for u32 {
    fn from(v: ChangeOp) -> u32 {
        match v {
            ChangeOp::Add => 0,
            ChangeOp::Del => 1,
            ChangeOp::Unknown(n) => n,
        }
    }
}

/// A message shorter than its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Truncated {
    /// Bytes needed.
    pub needed: usize,
    /// Bytes there were.
    pub got: usize,
}

impl fmt::Display for Truncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read from UML failed, n = {} (an address change is {} bytes)",
            self.got, self.needed
        )
    }
}

/// A zero-copy view of a version 4 address-change message (12 bytes).
#[derive(Debug, Clone)]
pub struct AddrChange<T: AsRef<[u8]>> {
    buffer: T,
}

fn get4(data: &[u8], f: Range<usize>) -> [u8; 4] {
    let mut b = [0u8; 4];
    b.copy_from_slice(&data[f]);
    b
}

impl<T: AsRef<[u8]>> AddrChange<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        AddrChange { buffer }
    }

    /// Wraps a buffer of at least 12 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Truncated> {
        let v = Self::new_unchecked(buffer);
        v.check_len()?;
        Ok(v)
    }

    /// Checks the length.
    pub fn check_len(&self) -> Result<(), Truncated> {
        let got = self.buffer.as_ref().len();
        if got < ADDR_CHANGE_LEN {
            Err(Truncated {
                needed: ADDR_CHANGE_LEN,
                got,
            })
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// `what` (native order: little-endian on x86_64).
    pub fn what(&self) -> ChangeOp {
        u32::from_ne_bytes(get4(self.buffer.as_ref(), field::WHAT)).into()
    }

    /// The address.
    pub fn addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(get4(self.buffer.as_ref(), field::ADDR))
    }

    /// The netmask.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(get4(self.buffer.as_ref(), field::NETMASK))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> AddrChange<T> {
    /// Sets `what`.
    pub fn set_what(&mut self, op: ChangeOp) {
        self.buffer.as_mut()[field::WHAT].copy_from_slice(&u32::from(op).to_ne_bytes())
    }

    /// Sets the address.
    pub fn set_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::ADDR].copy_from_slice(&a.octets())
    }

    /// Sets the netmask.
    pub fn set_netmask(&mut self, m: Ipv4Addr) {
        self.buffer.as_mut()[field::NETMASK].copy_from_slice(&m.octets())
    }
}

/// A decoded address change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AddrChangeRepr {
    /// Add or delete.
    pub op: ChangeOp,
    /// The guest's address.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub addr: Ipv4Addr,
    /// Its netmask.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub netmask: Ipv4Addr,
}

impl AddrChangeRepr {
    /// Reads a checked view.
    pub fn parse<T: AsRef<[u8]>>(msg: &AddrChange<T>) -> Self {
        AddrChangeRepr {
            op: msg.what(),
            addr: msg.addr(),
            netmask: msg.netmask(),
        }
    }

    /// Reads a version 1-3 message (8 bytes, no netmask); the netmask is then 0.0.0.0.
    pub fn parse_v3(data: &[u8]) -> Result<Self, Truncated> {
        if data.len() < ADDR_CHANGE_V3_LEN {
            return Err(Truncated {
                needed: ADDR_CHANGE_V3_LEN,
                got: data.len(),
            });
        }
        Ok(AddrChangeRepr {
            op: u32::from_ne_bytes(get4(data, field::WHAT)).into(),
            addr: Ipv4Addr::from(get4(data, field::ADDR)),
            netmask: Ipv4Addr::UNSPECIFIED,
        })
    }

    /// 12.
    pub const fn buffer_len(&self) -> usize {
        ADDR_CHANGE_LEN
    }

    /// Writes the message into a view of at least 12 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, msg: &mut AddrChange<T>) {
        msg.set_what(self.op);
        msg.set_addr(self.addr);
        msg.set_netmask(self.netmask);
    }
}
