//! Reading the options of `vec<n>:` into a typed [`Vector`] (docs/protocols.md §9).
//!
//! First the split, as `uml_parse_vector_ifspec` does it (`,` between pairs, `=` between
//! key and value, no quoting, at most 20 pairs); then each key, as the kernel function
//! that reads it does (`get_mtu` and friends in `drivers/vector_kern.c`, the
//! `user_init_*_fds` functions in `drivers/vector_user.c`, the `build_*_transport_data`
//! functions in `drivers/vector_transports.c`).

use core::net::IpAddr;
use core::str::FromStr;

use crate::ifname::{self, WhiteSpace};
use crate::num::{Dialect, strtoul};

use super::super::vector::{
    BessVector, FdVector, FilePath, GreVector, L2tpv3Vector, Pair, RawVector, TapVector,
    VECTOR_DEPTH_MAX, VECTOR_ID_MAX, VECTOR_MAX_KEYS, VECTOR_MTU_MAX, VECTOR_MTU_MIN, Vector,
    VectorKey, VectorKind, VectorTransport,
};
use super::super::{ErrorKind, Field, IfName, PanicCause, SocketPath, Warning};
use super::{Cx, Error, Transport, TransportKind};

type K = VectorKey;

/// The values given, by key.
struct Table<'a> {
    values: [Option<&'a str>; VectorKey::ALL.len()],
}

impl<'a> Table<'a> {
    fn get(&self, key: VectorKey) -> Option<&'a str> {
        self.values[key.slot()]
    }
}

/// A whole field of decimal digits (what `kstrtoul(…, 10)` reads, without its sign).
fn decimal(text: &str) -> Option<u64> {
    let (v, n) = strtoul(text.as_bytes(), 10, Dialect::Kernel);
    (n > 0 && n == text.len() && text.bytes().all(|c| c.is_ascii_digit())).then_some(v)
}

/// A whole field read with base 0 (`kstrtoint`/`kstrtoul(…, 0)`: `0x` hex, `0` octal),
/// or `None` if it is not one number or overflows 64 bits.
fn base0(text: &str) -> Option<u64> {
    let (v, n) = strtoul(text.as_bytes(), 0, Dialect::Kernel);
    let ok = n > 0 && n == text.len();
    // `strtoul` saturates; a field of more hex digits than 64 bits hold overflowed.
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text)
        .trim_start_matches('0');
    let fits = v != u64::MAX || digits.len() <= 20;
    (ok && fits).then_some(v)
}

impl<'a> Cx<'a> {
    pub(super) fn vector_options(&mut self, value: &'a str) -> Result<Transport, Error> {
        self.transport = Some(TransportKind::Vector);
        if value.is_empty() {
            return Err(self.err(
                ErrorKind::MissingVectorTransport,
                Some(Field::Option),
                value,
            ));
        }
        let table = self.split(value)?;
        let Some(name) = table.get(K::Transport) else {
            return Err(self.err(
                ErrorKind::MissingVectorTransport,
                Some(Field::Option),
                value,
            ));
        };
        let Some(kind) = VectorKind::from_name(name) else {
            let f = Some(Field::Key(K::Transport));
            return Err(self.err(ErrorKind::UnknownVectorTransport, f, name));
        };
        for key in VectorKey::ALL {
            if let Some(v) = table.get(key)
                && !key.used_by(kind)
            {
                return Err(self.err(ErrorKind::VectorKeyUnused(kind), Some(Field::Key(key)), v));
            }
        }
        let transport = match kind {
            VectorKind::Raw => VectorTransport::Raw(self.raw(&table, kind, value)?),
            VectorKind::Hybrid => VectorTransport::Hybrid(self.raw(&table, kind, value)?),
            VectorKind::Tap => VectorTransport::Tap(TapVector {
                ifname: self.vec_ifname(&table)?,
                ifup: self.file_path(&table, K::Ifup)?,
            }),
            VectorKind::Gre => VectorTransport::Gre(self.gre(&table, value)?),
            VectorKind::L2tpv3 => VectorTransport::L2tpv3(self.l2tpv3(&table, value)?),
            VectorKind::Bess => VectorTransport::Bess(self.bess(&table, value)?),
            VectorKind::Fd => {
                let fd = self.required(&table, kind, K::Fd, value)?;
                let fd = self.number(K::Fd, fd, i32::MAX as u64)? as u32;
                self.warn(Warning::FdClosedAtIfdown);
                VectorTransport::Fd(FdVector { fd })
            }
        };
        let mut v = Vector::new(transport);
        if let Some(m) = table.get(K::Mac) {
            v.mac = self.mac(Some(m))?;
        }
        if let Some(t) = table.get(K::Mtu) {
            v.mtu = decimal(t)
                .and_then(|m| u16::try_from(m).ok())
                .filter(|m| (VECTOR_MTU_MIN..=VECTOR_MTU_MAX).contains(m))
                .ok_or_else(|| self.err(ErrorKind::VectorMtu, Some(Field::Key(K::Mtu)), t))?;
        }
        if let Some(t) = table.get(K::Depth) {
            v.depth = decimal(t)
                .filter(|d| (1..=u64::from(VECTOR_DEPTH_MAX)).contains(d))
                .ok_or_else(|| self.err(ErrorKind::VectorDepth, Some(Field::Key(K::Depth)), t))?
                as u32;
        }
        if let Some(t) = table.get(K::Headroom) {
            v.headroom = self.number(K::Headroom, t, u64::from(u16::MAX))? as u16;
        }
        v.gro = self.flag(&table, K::Gro)?.unwrap_or(false);
        v.vec = self.flag(&table, K::Vec)?.unwrap_or(true);
        v.bpffile = self.file_path(&table, K::Bpffile)?;
        if let Some(t) = table.get(K::Bpfflash) {
            self.number(K::Bpfflash, t, u64::from(u32::MAX))?;
            if decimal(t) == Some(0) {
                self.warn(Warning::BpfFlashZeroEnables);
            }
            v.bpfflash = true;
        }
        Ok(Transport::Vector(v))
    }

    /// `uml_parse_vector_ifspec`, refusing what it refuses (a second `=`) and what it
    /// silently drops or overflows on.
    fn split(&self, value: &'a str) -> Result<Table<'a>, Error> {
        let mut table = Table {
            values: [None; VectorKey::ALL.len()],
        };
        if value.split(',').count() > VECTOR_MAX_KEYS {
            return Err(self.err(ErrorKind::TooManyVectorKeys, Some(Field::Option), value));
        }
        for pair in value.split(',') {
            let Some((key, v)) = pair.split_once('=') else {
                return Err(self.err(ErrorKind::BadVectorOption, Some(Field::Option), pair));
            };
            if key.is_empty() {
                return Err(self.err(ErrorKind::BadVectorOption, Some(Field::Option), pair));
            }
            let Some(k) = VectorKey::from_name(key) else {
                return Err(self.err(ErrorKind::UnknownVectorKey, Some(Field::Option), key));
            };
            let field = Some(Field::Key(k));
            if v.contains('=') {
                return Err(self.err(ErrorKind::VectorSecondEquals, field, v));
            }
            if v.is_empty() {
                return Err(self.err(ErrorKind::VectorEmptyValue, field, pair));
            }
            if table.values[k.slot()].is_some() {
                return Err(self.err(ErrorKind::VectorKeyTwice, field, pair));
            }
            table.values[k.slot()] = Some(v);
        }
        Ok(table)
    }

    fn required(
        &self,
        table: &Table<'a>,
        kind: VectorKind,
        key: VectorKey,
        all: &'a str,
    ) -> Result<&'a str, Error> {
        table
            .get(key)
            .ok_or_else(|| self.err(ErrorKind::MissingVectorKey(kind, key), None, all))
    }

    /// A decimal number up to `max`.
    fn number(&self, key: VectorKey, text: &str, max: u64) -> Result<u64, Error> {
        decimal(text)
            .filter(|v| *v <= max)
            .ok_or_else(|| self.err(ErrorKind::VectorNumber { max }, Some(Field::Key(key)), text))
    }

    /// A flag: the kernel turns it on for any number above 0; written `0` or `1` here.
    fn flag(&self, table: &Table<'a>, key: VectorKey) -> Result<Option<bool>, Error> {
        table
            .get(key)
            .map(|t| match t {
                "0" => Ok(false),
                "1" => Ok(true),
                _ => Err(self.err(ErrorKind::VectorFlag, Some(Field::Key(key)), t)),
            })
            .transpose()
    }

    fn file_path(&self, table: &Table<'a>, key: VectorKey) -> Result<Option<FilePath>, Error> {
        table
            .get(key)
            .map(|t| {
                FilePath::try_from(t).map_err(|_| {
                    let max = super::super::vector::FILE_PATH_MAX as u16;
                    self.err(ErrorKind::TooLong { max }, Some(Field::Key(key)), t)
                })
            })
            .transpose()
    }

    fn vec_ifname(&self, table: &Table<'a>) -> Result<Option<IfName>, Error> {
        let Some(t) = table.get(K::Ifname) else {
            return Ok(None);
        };
        let bad = || {
            self.err(
                ErrorKind::VectorInterfaceName,
                Some(Field::Key(K::Ifname)),
                t,
            )
        };
        if ifname::check(t, WhiteSpace::Ascii).is_err() {
            return Err(bad());
        }
        IfName::try_from(t).map(Some).map_err(|_| bad())
    }

    fn raw(&self, table: &Table<'a>, kind: VectorKind, all: &'a str) -> Result<RawVector, Error> {
        self.required(table, kind, K::Ifname, all)?;
        Ok(RawVector {
            ifname: self.vec_ifname(table)?.unwrap_or_default(),
            ifup: self.file_path(table, K::Ifup)?,
        })
    }

    /// `src`, `dst` and `v6` of gre and l2tpv3 (`user_init_socket_fds`).
    fn addresses(
        &self,
        table: &Table<'a>,
        kind: VectorKind,
        all: &'a str,
    ) -> Result<(IpAddr, IpAddr), Error> {
        let v6 = self.flag(table, K::V6)?.unwrap_or(false);
        let mut out = [IpAddr::from([0u8; 4]); 2];
        for (slot, key) in out.iter_mut().zip([K::Src, K::Dst]) {
            let t = self.required(table, kind, key, all)?;
            let ip = IpAddr::from_str(t)
                .map_err(|_| self.err(ErrorKind::VectorAddress, Some(Field::Key(key)), t))?;
            if ip.is_ipv6() != v6 {
                return Err(self.err(ErrorKind::VectorAddressFamily, Some(Field::Key(key)), t));
            }
            *slot = ip;
        }
        Ok((out[0], out[1]))
    }

    /// A session id or GRE key as `get_uint_param` reads it (`kstrtoint(…, 0)`). What
    /// that cannot read makes the header setup fail (a panic in 6.1); a sign it reads
    /// (`-1` is sent as 0xffffffff) is refused here without being a panic.
    fn id(&self, key: VectorKey, text: &str) -> Result<u32, Error> {
        if let Some(digits) = text.strip_prefix(['-', '+'])
            && base0(digits).is_some_and(|v| v <= u64::from(VECTOR_ID_MAX) + 1)
        {
            let max = u64::from(VECTOR_ID_MAX);
            return Err(self.err(ErrorKind::VectorNumber { max }, Some(Field::Key(key)), text));
        }
        base0(text)
            .filter(|v| *v <= u64::from(VECTOR_ID_MAX))
            .map(|v| v as u32)
            .ok_or_else(|| {
                let e = ErrorKind::KernelPanic(PanicCause::IdOutOfRange);
                self.err(e, Some(Field::Key(key)), text)
            })
    }

    /// `build_gre_transport_data`: with `rx_key` it needs `tx_key`, or it fails (and 6.1
    /// panics); an `rx_key` it cannot read counts as absent.
    fn gre(&mut self, table: &Table<'a>, all: &'a str) -> Result<GreVector, Error> {
        let (src, dst) = self.addresses(table, VectorKind::Gre, all)?;
        let key = match (table.get(K::RxKey), table.get(K::TxKey)) {
            (None, None) => None,
            (None, Some(t)) => {
                let e = ErrorKind::VectorKeyNeeds(K::RxKey);
                return Err(self.err(e, Some(Field::Key(K::TxKey)), t));
            }
            (Some(r), tx) => {
                if base0(r).is_none_or(|v| v > u64::from(VECTOR_ID_MAX)) {
                    // Unreadable: the kernel sends and expects no key at all.
                    let e = ErrorKind::VectorNumber {
                        max: u64::from(VECTOR_ID_MAX),
                    };
                    return Err(self.err(e, Some(Field::Key(K::RxKey)), r));
                }
                let Some(t) = tx else {
                    let e = ErrorKind::KernelPanic(PanicCause::TxKeyMissing);
                    return Err(self.err(e, Some(Field::Key(K::RxKey)), r));
                };
                Some(Pair {
                    rx: self.id(K::RxKey, r)?,
                    tx: self.id(K::TxKey, t)?,
                })
            }
        };
        let sequence = self.flag(table, K::Sequence)?.unwrap_or(false);
        let pin_sequence = self.flag(table, K::PinSequence)?.unwrap_or(false);
        if pin_sequence && !sequence {
            let e = ErrorKind::VectorKeyNeeds(K::Sequence);
            let t = table.get(K::PinSequence).unwrap_or(all);
            return Err(self.err(e, Some(Field::Key(K::PinSequence)), t));
        }
        Ok(GreVector {
            src,
            dst,
            key,
            sequence,
            pin_sequence,
        })
    }

    /// `build_l2tpv3_transport_data`: both sessions are required, and `rx_cookie` needs
    /// `tx_cookie`; if either fails, 6.1 panics at ifup.
    fn l2tpv3(&mut self, table: &Table<'a>, all: &'a str) -> Result<L2tpv3Vector, Error> {
        let kind = VectorKind::L2tpv3;
        let udp = self.flag(table, K::Udp)?.unwrap_or(false);
        let (src, dst) = self.addresses(table, kind, all)?;
        let mut ports = [None; 2];
        for (slot, key) in ports.iter_mut().zip([K::Srcport, K::Dstport]) {
            if let Some(t) = table.get(key) {
                if !udp {
                    return Err(self.err(ErrorKind::VectorPortsNeedUdp, Some(Field::Key(key)), t));
                }
                *slot = Some(self.number(key, t, u64::from(u16::MAX))? as u16);
            }
        }
        // The socket is open now (what fails above fails before it): a bad session makes
        // the header setup fail, and 6.1 panics.
        let mut sessions = [0u32; 2];
        for (slot, key) in sessions.iter_mut().zip([K::RxSession, K::TxSession]) {
            let t = table.get(key).ok_or_else(|| {
                let e = ErrorKind::KernelPanic(PanicCause::SessionMissing);
                self.err(e, None, all)
            })?;
            *slot = self.id(key, t)?;
        }
        if udp && ports[1].is_none() {
            return Err(self.err(ErrorKind::MissingVectorKey(kind, K::Dstport), None, all));
        }
        if udp && ports[0].is_none() {
            self.warn(Warning::L2tpv3RandomSourcePort);
        }
        let cookie64 = self.flag(table, K::Cookie64)?.unwrap_or(false);
        let cookie = match (table.get(K::RxCookie), table.get(K::TxCookie)) {
            (None, None) => None,
            (None, Some(t)) => {
                let e = ErrorKind::VectorKeyNeeds(K::RxCookie);
                return Err(self.err(e, Some(Field::Key(K::TxCookie)), t));
            }
            (Some(r), None) => {
                let e = ErrorKind::KernelPanic(PanicCause::TxCookieMissing);
                return Err(self.err(e, Some(Field::Key(K::RxCookie)), r));
            }
            (Some(r), Some(t)) => {
                let max = if cookie64 {
                    u64::MAX
                } else {
                    u64::from(u32::MAX)
                };
                let mut pair = [0u64; 2];
                for (slot, (key, text)) in pair.iter_mut().zip([(K::RxCookie, r), (K::TxCookie, t)])
                {
                    *slot = base0(text).filter(|v| *v <= max).ok_or_else(|| {
                        self.err(ErrorKind::VectorCookie, Some(Field::Key(key)), text)
                    })?;
                }
                Some(Pair {
                    rx: pair[0],
                    tx: pair[1],
                })
            }
        };
        if cookie64 && cookie.is_none() {
            let e = ErrorKind::VectorKeyNeeds(K::RxCookie);
            let t = table.get(K::Cookie64).unwrap_or(all);
            return Err(self.err(e, Some(Field::Key(K::Cookie64)), t));
        }
        let counter = self.flag(table, K::Counter)?.unwrap_or(false);
        let pin_counter = self.flag(table, K::PinCounter)?.unwrap_or(false);
        if pin_counter && !counter {
            let e = ErrorKind::VectorKeyNeeds(K::Counter);
            let t = table.get(K::PinCounter).unwrap_or(all);
            return Err(self.err(e, Some(Field::Key(K::PinCounter)), t));
        }
        Ok(L2tpv3Vector {
            src,
            dst,
            udp,
            srcport: ports[0],
            dstport: ports[1],
            rx_session: sessions[0],
            tx_session: sessions[1],
            cookie,
            cookie64,
            counter,
            pin_counter,
        })
    }

    /// `user_init_unix_fds`: `dst` is required and must fit `sun_path`; a `src` that does
    /// not fit is silently skipped by the kernel (refused here).
    fn bess(&mut self, table: &Table<'a>, all: &'a str) -> Result<BessVector, Error> {
        let dst = self.required(table, VectorKind::Bess, K::Dst, all)?;
        let dst = self.bess_path(K::Dst, dst)?;
        let src = table
            .get(K::Src)
            .map(|s| self.bess_path(K::Src, s))
            .transpose()?;
        if src.is_some() {
            self.warn(Warning::BessSrcBlocksSecondIfup);
        }
        if dst.starts_with('@') || src.as_ref().is_some_and(|s| s.starts_with('@')) {
            self.warn(Warning::BessAtIsLiteral);
        }
        Ok(BessVector { dst, src })
    }

    fn bess_path(&self, key: VectorKey, text: &str) -> Result<SocketPath, Error> {
        SocketPath::try_from(text)
            .map_err(|_| self.err(ErrorKind::SocketPathTooLong, Some(Field::Key(key)), text))
    }
}
