//! A [`HostConfig`] printed back as a config file that [`parse`] reads to an equal one.

use std::fmt;

use super::HostConfig;

pub(super) fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub(super) fn quoted_list<T: fmt::Display>(items: &[T]) -> String {
    let inner: Vec<String> = items.iter().map(|i| quoted(&i.to_string())).collect();
    format!("[{}]", inner.join(", "))
}

impl fmt::Display for HostConfig {
    /// The configuration as a file [`parse`] reads back to an equal one (users and
    /// groups as numbers).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ip_forward = {}", self.ip_forward)?;
        writeln!(
            f,
            "state_dir = {}",
            quoted(&self.state_dir.to_string_lossy())
        )?;
        for t in &self.taps {
            writeln!(f, "\n[[tap]]\nname = {}\nuser = {}", quoted(&t.name), t.uid)?;
            if let Some(g) = t.gid {
                writeln!(f, "group = {g}")?;
            }
            if let Some(a) = t.address {
                writeln!(f, "address = {}", quoted(&a.to_string()))?;
            }
            if !t.guests.is_empty() {
                writeln!(f, "guests = {}", quoted_list(&t.guests))?;
            }
            if let Some(p) = &t.publish_on {
                writeln!(f, "publish_on = {}", quoted_list(p))?;
            }
        }
        for s in &self.switches {
            writeln!(
                f,
                "\n[[switch]]\nsocket = {}\nhub = {}",
                quoted(&s.socket.to_string_lossy()),
                s.hub
            )?;
            if let Some(t) = &s.tap {
                writeln!(f, "tap = {}", quoted(t))?;
            }
            if let Some(m) = &s.mgmt {
                writeln!(f, "mgmt = {}", quoted(&m.to_string_lossy()))?;
            }
            if let Some(p) = &s.program {
                writeln!(f, "program = {}", quoted(&p.to_string_lossy()))?;
            }
            if !s.vxlan.is_empty() {
                writeln!(f, "vxlan = {}", quoted_list(&s.vxlan))?;
            }
            if let Some(r) = s.run_as {
                writeln!(f, "user = {}", r.uid)?;
            }
            if let Some(m) = s.mode {
                writeln!(f, "mode = \"{m:04o}\"")?;
            }
            if let Some(g) = s.group {
                writeln!(f, "group = {g}")?;
            }
            if let Some(n) = s.max_ports_per_user {
                writeln!(f, "max_ports_per_user = {n}")?;
            }
        }
        Ok(())
    }
}
