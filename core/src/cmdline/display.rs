//! Printing a [`DeviceSpec`] in its canonical form, which parses back to the same spec.

use core::fmt;

use super::{
    DEFAULT_DAEMON_SOCK_TYPE, DEFAULT_MCAST_GROUP, DEFAULT_MCAST_PORT, DEFAULT_MCAST_TTL,
    DEFAULT_UCAST_PORT, DeviceSpec, Transport,
};

/// Writes `name` and the fields up to the last present one, comma-separated.
fn write_fields(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    fields: &[Option<&dyn fmt::Display>],
) -> fmt::Result {
    f.write_str(name)?;
    let last = fields.iter().rposition(Option::is_some);
    if let Some(last) = last {
        for field in &fields[..=last] {
            f.write_str(",")?;
            if let Some(v) = field {
                write!(f, "{v}")?;
            }
        }
    }
    Ok(())
}

struct Octal(u32);
impl fmt::Display for Octal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:o}", self.0)
    }
}

impl fmt::Display for Transport {
    /// The value after `eth<n>=` (or `vec<n>:`) in canonical form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn d<T: fmt::Display>(v: &Option<T>) -> Option<&dyn fmt::Display> {
            v.as_ref().map(|v| v as &dyn fmt::Display)
        }
        fn unless<T: fmt::Display + PartialEq>(v: &T, default: T) -> Option<&dyn fmt::Display> {
            (*v != default).then_some(v as &dyn fmt::Display)
        }
        match self {
            Transport::Ethertap(t) => {
                write_fields(f, "ethertap", &[Some(&t.dev), d(&t.mac), d(&t.gate)])
            }
            Transport::Tuntap(t) => write_fields(f, "tuntap", &[d(&t.dev), d(&t.mac), d(&t.gate)]),
            Transport::Mcast(t) => write_fields(
                f,
                "mcast",
                &[
                    d(&t.mac),
                    unless(&t.group, DEFAULT_MCAST_GROUP),
                    unless(&t.port, DEFAULT_MCAST_PORT),
                    unless(&t.ttl, DEFAULT_MCAST_TTL),
                ],
            ),
            Transport::Daemon(t) => {
                let st = (t.sock_type != DEFAULT_DAEMON_SOCK_TYPE)
                    .then_some(&t.sock_type as &dyn fmt::Display);
                write_fields(f, "daemon", &[d(&t.mac), st, d(&t.ctl), d(&t.data)])
            }
            Transport::Slip(t) => write_fields(f, "slip", &[d(&t.gate)]),
            Transport::Ucast(t) => write_fields(
                f,
                "ucast",
                &[
                    d(&t.mac),
                    d(&t.remote),
                    unless(&t.lport, DEFAULT_UCAST_PORT),
                    unless(&t.rport, DEFAULT_UCAST_PORT),
                ],
            ),
            Transport::Vde(t) => {
                let mode = t.mode.map(Octal);
                write_fields(
                    f,
                    "vde",
                    &[
                        d(&t.switch),
                        d(&t.mac),
                        d(&t.port),
                        d(&t.group),
                        d(&mode),
                        d(&t.descr),
                        d(&t.extra),
                    ],
                )
            }
            Transport::Slirp(t) => write_fields(f, "slirp", &[d(&t.mac), d(&t.command)]),
            Transport::Vector(v) => write!(f, "{v}"),
        }
    }
}

impl fmt::Display for DeviceSpec {
    /// The canonical argument, `eth<n>=…` or `vec<n>:…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.transport {
            Transport::Vector(_) => write!(f, "vec{}:{}", self.index, self.transport),
            t => write!(f, "eth{}={}", self.index, t),
        }
    }
}
