//! The guest's shell commands: `ifconfig`, `route`, `arp` and `ping`, with the syntax
//! and output of net-tools and iputils.
//!
//! [`Guest::run`] executes one command line. Quick commands finish at once with a
//! [`CommandOutput`]; `ping` becomes a job that [`Guest::poll`] drives over (virtual)
//! time until it ends (after `-c N` packets, or on [`Guest::interrupt`], like Ctrl-C),
//! then [`Guest::take_job`] hands over its output.
//!
//! Error texts are the ones the real tools print, e.g. `SIOCADDRT: Network is
//! unreachable`, `SIOCDELRT: No such process`, `ping: connect: Network is unreachable`.

mod arp;
mod decimal;
mod fuzz;
mod ifconfig;
mod ping;
mod route;
#[cfg(test)]
mod test;

#[doc(hidden)]
pub use fuzz::fuzz_shell;
pub use ifconfig::format_ifconfig;
pub(crate) use ping::Ping;

use crate::guest::Guest;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use smoltcp::time::Instant;
use umlnet_core::link::Link;

/// What a finished command printed (stdout and stderr in order) and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Everything the command printed.
    pub text: String,
    /// Exit status (0 is success), as the real tool returns it.
    pub status: i32,
}

impl CommandOutput {
    fn ok(text: String) -> Self {
        CommandOutput { text, status: 0 }
    }
    fn err(text: impl Into<String>, status: i32) -> Self {
        let mut text = text.into();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        CommandOutput { text, status }
    }
}

/// A running command (a `ping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u32);

/// What [`Guest::run`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// The command finished.
    Done(CommandOutput),
    /// The command runs on; poll the guest and collect it with [`Guest::take_job`].
    Started(JobId),
}

/// A long-running command.
#[derive(Debug)]
pub(crate) enum Job {
    Ping(Ping),
}

impl Job {
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        match self {
            Job::Ping(p) => p.poll_at(),
        }
    }
    pub(crate) fn output(&self) -> &str {
        match self {
            Job::Ping(p) => &p.out,
        }
    }
    fn status(&self) -> Option<i32> {
        match self {
            Job::Ping(p) => p.status,
        }
    }
}

impl<L: Link> Guest<L> {
    /// Runs one command line at `now`.
    ///
    /// ```
    /// use smoltcp::time::Instant;
    /// use umlnet_guest::{AnyLink, Guest, Run};
    ///
    /// let mut guest: Guest<AnyLink> = Guest::new(1, Instant::ZERO);
    /// let Run::Done(out) = guest.run("route -n", Instant::ZERO) else { unreachable!() };
    /// assert_eq!(out.text, "Kernel IP routing table\n\
    ///     Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n");
    /// ```
    pub fn run(&mut self, line: &str, now: Instant) -> Run {
        let args: Vec<&str> = line.split_whitespace().collect();
        let Some((&cmd, rest)) = args.split_first() else {
            return Run::Done(CommandOutput::ok(String::new()));
        };
        match cmd {
            "ifconfig" => Run::Done(self.ifconfig(rest)),
            "route" => Run::Done(self.route(rest)),
            "arp" => Run::Done(self.arp(rest)),
            "ping" => match Ping::start(self, rest, now) {
                Ok(ping) => {
                    let id = self.next_job;
                    self.next_job += 1;
                    self.jobs.insert(id, Job::Ping(ping));
                    self.poll(now);
                    Run::Started(JobId(id))
                }
                Err(out) => Run::Done(out),
            },
            _ => Run::Done(CommandOutput::err(
                alloc::format!("{cmd}: command not found"),
                127,
            )),
        }
    }

    /// What job `id` printed so far.
    pub fn job_output(&self, id: JobId) -> Option<&str> {
        self.jobs.get(&id.0).map(|j| j.output())
    }

    /// Whether job `id` has ended (its output is then complete).
    pub fn job_finished(&self, id: JobId) -> bool {
        self.jobs.get(&id.0).is_some_and(|j| j.status().is_some())
    }

    /// Takes the output of a finished job; `None` while it runs (or if unknown).
    pub fn take_job(&mut self, id: JobId) -> Option<CommandOutput> {
        let status = self.jobs.get(&id.0)?.status()?;
        let job = self.jobs.remove(&id.0)?;
        Some(CommandOutput {
            text: job.output().to_string(),
            status,
        })
    }

    /// Stops job `id` as Ctrl-C does (ping prints its statistics).
    pub fn interrupt(&mut self, id: JobId, now: Instant) {
        if let Some(Job::Ping(p)) = self.jobs.get_mut(&id.0)
            && p.status.is_none()
        {
            p.finish(&mut self.sockets, now);
        }
    }

    /// Runs every job's due work; whether any job did something.
    pub(crate) fn poll_jobs(&mut self, now: Instant) -> bool {
        let mut any = false;
        for job in self.jobs.values_mut() {
            match job {
                Job::Ping(p) => any |= p.poll(&mut self.sockets, now),
            }
        }
        any
    }
}

fn parse_iface(name: &str) -> Option<u32> {
    let n = name.strip_prefix("eth")?;
    if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
        return None;
    }
    n.parse().ok()
}

fn parse_addr_prefix(s: &str) -> Option<(Ipv4Addr, Option<u8>)> {
    match s.split_once('/') {
        Some((a, p)) => {
            let p: u8 = p.parse().ok().filter(|&p| p <= 32)?;
            Some((a.parse().ok()?, Some(p)))
        }
        None => Some((s.parse().ok()?, None)),
    }
}
