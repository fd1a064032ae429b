//! A private mount namespace inside a test's network namespace in which the fixed
//! paths of the setuid `uml_net` are the test's: `/etc` is an overlay (so that
//! `/etc/umlnet/uml_net.conf` is the test's policy, root-owned, while the rest of
//! `/etc` is the host's), and `/run` is a directory of the test (so the ledger under
//! `/run/umlnet` is the test's). Nothing of it is seen outside; it goes when the
//! holder process (a `sleep` in both namespaces) is killed on drop.
//!
//! Shared by several test crates, each of which uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use umlnet_testkit::{Netns, TempDir};

/// The fixed path of the policy, as the helper is built by default.
pub const POLICY: &str = "/etc/umlnet/uml_net.conf";

/// The holder of the private mount namespace.
pub struct PolicyMount {
    holder: Child,
}

impl PolicyMount {
    /// Sets up the namespace (with `policy` at [`POLICY`], mode 0644, when given).
    pub fn new(ns: &Netns, tmp: &TempDir, policy: Option<&str>) -> PolicyMount {
        let base = tmp.join("policy-mount");
        for d in ["etc-upper", "etc-work", "run"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        std::fs::set_permissions(base.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = format!(
            "mount -t overlay overlay -o lowerdir=/etc,upperdir={b}/etc-upper,workdir={b}/etc-work /etc && \
             mount --bind {b}/run /run && mkdir -p /etc/umlnet && chmod 755 /etc/umlnet && \
             echo ready && exec sleep 100000",
            b = base.display()
        );
        let mut holder = ns
            .command("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the mount namespace holder");
        let mut line = String::new();
        BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the private mount namespace did not come up"
        );
        let m = PolicyMount { holder };
        if let Some(p) = policy {
            m.set_policy(p);
        }
        m
    }

    /// A command that runs `program` in the test's network namespace and this mount
    /// namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.holder.id().to_string(), "-m", "-n", "--"])
            .arg(program);
        c
    }

    /// Runs a shell command line in the namespaces; its output, whatever its status.
    pub fn sh_output(&self, script: &str) -> Output {
        self.command("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs a shell command line in the namespaces; panics if it fails.
    pub fn sh(&self, script: &str) -> String {
        let out = self.sh_output(script);
        assert!(out.status.success(), "{script}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes `text` as the policy (root-owned, 0644).
    pub fn set_policy(&self, text: &str) {
        let mut child = self
            .command("sh")
            .args([
                "-c",
                &format!("cat > {POLICY} && chown 0:0 {POLICY} && chmod 644 {POLICY}"),
            ])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }

    /// The ledger's text ("" when there is none yet).
    pub fn ledger(&self) -> String {
        String::from_utf8_lossy(
            &self
                .sh_output("cat /run/umlnet/uml_net.ledger 2>/dev/null")
                .stdout,
        )
        .into_owned()
    }

    /// Whether `path` exists in the namespace.
    pub fn exists(&self, path: &Path) -> bool {
        self.sh_output(&format!("test -e '{}'", path.display()))
            .status
            .success()
    }
}

impl Drop for PolicyMount {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
