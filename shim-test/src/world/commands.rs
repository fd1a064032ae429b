//! Shell commands on a guest ([`World::run`], [`World::start`], [`World::wait`]),
//! with the command and its output in the transcript.

use super::{COMMAND_TIMEOUT, GuestId, World};
use std::format;
use std::string::String;
use umlnet_guest::shell::{CommandOutput, JobId, Run};

impl World {
    /// Runs a shell command on guest `g` and, for a long one (ping), the world until it
    /// ends (at most [`COMMAND_TIMEOUT`], then it is interrupted as with Ctrl-C).
    pub fn run(&mut self, g: GuestId, line: &str) -> CommandOutput {
        match self.start(g, line) {
            Run::Done(out) => out,
            Run::Started(job) => self.wait(g, job),
        }
    }

    /// Starts a shell command on guest `g` without waiting for a job to end.
    pub fn start(&mut self, g: GuestId, line: &str) -> Run {
        let name = self.guests[g.0].name.clone();
        self.net.log(format!("{name}# {line}"));
        let now = self.net.now();
        let r = self.guests[g.0].guest.run(line, now);
        self.sync_hooks(g);
        if let Run::Done(out) = &r {
            self.log_output(&out.text, out.status);
        }
        r
    }

    /// Waits for job `job` of guest `g` to end and returns its output.
    pub fn wait(&mut self, g: GuestId, job: JobId) -> CommandOutput {
        let finished = self.run_until(COMMAND_TIMEOUT, |w| w.guests[g.0].guest.job_finished(job));
        if !finished {
            let now = self.now();
            self.guests[g.0].guest.interrupt(job, now);
        }
        let out = self.guests[g.0]
            .guest
            .take_job(job)
            .unwrap_or(CommandOutput {
                text: String::new(),
                status: -1,
            });
        self.log_output(&out.text, out.status);
        out
    }

    pub(super) fn log_output(&self, text: &str, status: i32) {
        for l in text.lines() {
            self.net.log(format!("    {l}"));
        }
        if status != 0 {
            self.net.log(format!("    (exit {status})"));
        }
    }
}
