//! The Debian package installed into throwaway Debian roots, as an administrator would
//! install it: the files and their modes (`uml_net` setuid root, group `uml-net`, by
//! dpkg-statoverride), the man pages rendering, the systemd units verifying, bash
//! completing the subcommands, the installed `uml_switch` serving a real UML kernel on
//! the Debian kernel's default socket, the package replacing uml-utilities, and a purge
//! leaving nothing behind.
//!
//! The package is the one `cargo deb -p umlnet-linux` last built (`.ci/run` builds it
//! right before the tests; a test cannot, since `cargo test` holds the build directory
//! and cargo-deb builds release binaries only). The roots come from a bookworm tarball
//! made once by `packaging/make-test-root.sh` with mmdebstrap (about 2 minutes, cached
//! in `target/pkgtest/`); each case unpacks its own copy (under a second) and runs
//! dpkg and the maintainer scripts in it with `chroot`, in a network namespace of their
//! own. The switch and the kernels run in new network, mount and PID namespaces, with a
//! fresh `/run`: nothing reaches the host's network or its `/var/run`.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use umlnet_testkit::{TempDir, real_needing, run_cases};

/// Programs every case runs on the host.
const TOOLS: &[&str] = &["mmdebstrap", "chroot", "unshare", "tar", "zstd"];
/// And the case that boots a kernel.
const SERVE_TOOLS: &[&str] = &[
    "mmdebstrap",
    "chroot",
    "unshare",
    "tar",
    "zstd",
    "setpriv",
    "linux.uml",
];

fn main() {
    let absent = package().err();
    let case = |name: &str, tools: &'static [&'static str], body: fn()| {
        real_needing(name, tools, absent.clone(), body)
    };
    run_cases(vec![
        case(
            "the_package_installs_its_files_and_modes_and_a_purge_leaves_nothing",
            TOOLS,
            the_package_installs_its_files_and_modes_and_a_purge_leaves_nothing,
        ),
        case(
            "man_pages_render_units_verify_and_bash_completes_the_subcommands",
            TOOLS,
            man_pages_render_units_verify_and_bash_completes_the_subcommands,
        ),
        case(
            "the_installed_switch_serves_a_real_uml_kernel_on_the_debian_default_socket",
            SERVE_TOOLS,
            the_installed_switch_serves_a_real_uml_kernel_on_the_debian_default_socket,
        ),
        case(
            "installing_over_uml_utilities_replaces_its_tools",
            TOOLS,
            installing_over_uml_utilities_replaces_its_tools,
        ),
    ]);
}

/// The cargo target directory this test was built in (`<target>/debug/deps/<test>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.ancestors()
        .nth(3)
        .expect("the test runs from <target>/<profile>/deps")
        .to_path_buf()
}

/// The package `cargo deb` built for this version, or why there is none.
fn package() -> Result<PathBuf, String> {
    let version = env!("CARGO_PKG_VERSION");
    let deb = target_dir()
        .join("debian")
        .join(format!("umlnet_{version}-1_amd64.deb"));
    if deb.is_file() {
        Ok(deb)
    } else {
        Err(format!(
            "needs the package {} (build it with `cargo deb -p umlnet-linux`; .ci/run does)",
            deb.display()
        ))
    }
}

/// Runs a command; panics with its output unless it succeeds.
fn ok(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The bookworm tarball, made on first use (one case makes it; the others wait).
fn base_tarball() -> PathBuf {
    static MAKING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let tarball = target_dir().join("pkgtest/bookworm-base.tar.zst");
    if !tarball.exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/make-test-root.sh");
        ok(Command::new(script).arg(&tarball));
    }
    tarball
}

/// A throwaway Debian root, removed when dropped.
struct Root {
    _dir: TempDir,
    path: PathBuf,
}

impl Root {
    /// Unpacks the base; with a `policy-rc.d` that keeps the maintainer scripts of
    /// uml-utilities from starting its init script.
    fn new(tag: &str) -> Root {
        let dir = TempDir::new(tag);
        let path = dir.join("root");
        std::fs::create_dir(&path).unwrap();
        ok(Command::new("tar")
            .arg("-C")
            .arg(&path)
            .args(["-x", "--zstd", "-f"])
            .arg(base_tarball()));
        let policy = path.join("usr/sbin/policy-rc.d");
        std::fs::write(&policy, "#!/bin/sh\nexit 101\n").unwrap();
        std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o755)).unwrap();
        Root { _dir: dir, path }
    }

    /// A new root with the package installed.
    fn with_package(tag: &str) -> Root {
        let root = Root::new(tag);
        root.install_ours();
        root
    }

    fn at(&self, path: &str) -> PathBuf {
        self.path.join(path.trim_start_matches('/'))
    }

    /// `sh -c <script>` in the root (chroot), in network, mount and PID namespaces of
    /// its own, with `/proc` mounted (bash's `<(...)` needs `/dev/fd`).
    fn sh(&self, script: &str) -> Output {
        Command::new("unshare")
            .args(["--net", "--mount", "--pid", "--fork"])
            .arg(format!("--mount-proc={}", self.at("/proc").display()))
            .arg("chroot")
            .arg(&self.path)
            .args(["sh", "-c", script])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .output()
            .expect("run chroot")
    }

    /// Like [`Root::sh`]; panics with the output unless the script succeeds.
    fn sh_ok(&self, script: &str) -> Output {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "in the root: {script}\nfailed ({}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `dpkg -i` our package; returns dpkg's output.
    fn install_ours(&self) -> String {
        let deb = package().expect("checked by the case's needs");
        std::fs::copy(&deb, self.at("/tmp/umlnet.deb")).expect("copy the package");
        let out = self.sh_ok("dpkg -i /tmp/umlnet.deb 2>&1; s=$?; rm /tmp/umlnet.deb; exit $s");
        text(&out)
    }

    /// The numeric id of a user or group in the root's `/etc/passwd` or `/etc/group`.
    fn id_of(&self, file: &str, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.at(file))
            .unwrap()
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f[0] == name)
            .map(|f| f[2].parse().unwrap())
    }

    /// Every path in the root (relative), for before/after comparisons.
    fn paths(&self) -> BTreeSet<String> {
        let out = ok(Command::new("find")
            .arg(".")
            .arg("-xdev")
            .current_dir(&self.path));
        text(&out).lines().map(str::to_string).collect()
    }
}

/// The files the package installs: path, mode (with the file type bits), owner.
const FILES: &[(&str, u32)] = &[
    ("/usr/bin/uml_switch", 0o100755),
    ("/usr/bin/tunctl", 0o100755),
    ("/usr/bin/umlnet", 0o100755),
    ("/usr/lib/umlnet/libumlnet_xstate.so", 0o100644),
    ("/usr/lib/systemd/system/uml-switch.service", 0o100644),
    ("/usr/lib/systemd/system/umlnet.service", 0o100644),
    ("/usr/share/man/man1/uml_switch.1.gz", 0o100644),
    ("/usr/share/man/man1/uml_net.1.gz", 0o100644),
    ("/usr/share/man/man1/tunctl.1.gz", 0o100644),
    ("/usr/share/man/man1/umlnet.1.gz", 0o100644),
    ("/usr/share/man/man1/umlnet-switch-status.1.gz", 0o100644),
    ("/usr/share/bash-completion/completions/umlnet", 0o100644),
    ("/usr/share/zsh/vendor-completions/_umlnet", 0o100644),
    ("/usr/share/fish/vendor_completions.d/umlnet.fish", 0o100644),
    ("/usr/share/doc/umlnet/umlnet.example.toml", 0o100644),
    ("/usr/share/doc/umlnet/uml_net.conf.example", 0o100644),
    ("/usr/share/doc/umlnet/packaging.md", 0o100644),
];

/// The account files whose contents must come back exactly after a purge.
const ACCOUNTS: &[&str] = &["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"];

fn the_package_installs_its_files_and_modes_and_a_purge_leaves_nothing() {
    let root = Root::new("pkg-files");
    let paths_before = root.paths();
    let accounts_before: Vec<String> = ACCOUNTS
        .iter()
        .map(|f| std::fs::read_to_string(root.at(f)).unwrap())
        .collect();
    root.install_ours();

    for (file, mode) in FILES {
        let m = std::fs::metadata(root.at(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            (m.mode(), m.uid(), m.gid()),
            (*mode, 0, 0),
            "{file}: mode, owner, group"
        );
    }
    // The helper: setuid root, group uml-net, 4754, as a statoverride.
    let group = root
        .id_of("/etc/group", "uml-net")
        .expect("postinst made the group uml-net");
    let m = std::fs::metadata(root.at("/usr/lib/uml/uml_net")).unwrap();
    assert_eq!(
        (m.mode(), m.uid(), m.gid()),
        (0o104754, 0, group),
        "/usr/lib/uml/uml_net must be setuid root, group uml-net, mode 4754"
    );
    let overrides = text(&root.sh_ok("dpkg-statoverride --list || true"));
    assert_eq!(overrides, "root uml-net 4754 /usr/lib/uml/uml_net\n");
    // The switch's user: a system user in the group uml-net that cannot log in.
    let passwd = std::fs::read_to_string(root.at("/etc/passwd")).unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("uml-switch:"))
        .expect("postinst made the user uml-switch");
    let f: Vec<&str> = line.split(':').collect();
    assert!(f[2].parse::<u32>().unwrap() < 1000, "a system user: {line}");
    assert_eq!(f[3].parse::<u32>().unwrap(), group, "{line}");
    assert_eq!(
        (f[5], f[6]),
        ("/nonexistent", "/usr/sbin/nologin"),
        "{line}"
    );
    root.sh_ok("dpkg --purge umlnet");
    let paths_after = root.paths();
    // dpkg's own records and logs change, adduser leaves backups of the account files
    // and a lock in /run (a tmpfs on a running system).
    let bookkeeping = |p: &&String| {
        !(p.starts_with("./var/lib/dpkg/")
            || p.starts_with("./var/log/")
            || p.starts_with("./run/")
            || p.starts_with("./var/cache/man/")
            || ACCOUNTS.iter().any(|a| **p == format!(".{a}-")))
    };
    let added: Vec<&String> = paths_after
        .difference(&paths_before)
        .filter(bookkeeping)
        .collect();
    let removed: Vec<&String> = paths_before
        .difference(&paths_after)
        .filter(bookkeeping)
        .collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "after the purge, left behind: {added:?}; gone: {removed:?}"
    );
    for (file, before) in ACCOUNTS.iter().zip(&accounts_before) {
        let after = std::fs::read_to_string(root.at(file)).unwrap();
        assert_eq!(&after, before, "{file} after the purge");
    }
    assert_eq!(text(&root.sh_ok("dpkg-statoverride --list || true")), "");
}

fn man_pages_render_units_verify_and_bash_completes_the_subcommands() {
    let root = Root::with_package("pkg-docs");
    for (page, says) in [
        ("uml_switch", "-unix control-socket"),
        ("uml_net", "tuntap up"),
        ("tunctl", "device-name"),
        ("umlnet", "switch-status"),
        ("umlnet-switch-status", "--json"),
        ("umlnet-completions", "bash"),
    ] {
        // man-db in the root finds the page by name, as `man uml_switch` would.
        let out = root.sh(&format!("MANWIDTH=100 man --warnings -P cat {page}"));
        let shown = text(&out);
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.is_empty(),
            "man {page}: {}\n{warnings}",
            out.status
        );
        assert!(
            shown.contains("NAME") && shown.contains("SYNOPSIS") && shown.contains(says),
            "man {page} shows:\n{shown}"
        );
    }

    // systemd in the root checks the units as installed (binaries, users, man pages).
    let out = root.sh("systemd-analyze verify uml-switch.service umlnet.service 2>&1");
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "systemd-analyze verify ({}):\n{}",
        out.status,
        text(&out)
    );
    let unit =
        std::fs::read_to_string(root.at("/usr/lib/systemd/system/uml-switch.service")).unwrap();
    for line in [
        "ExecStart=/usr/bin/uml_switch -unix /var/run/uml-utilities/uml_switch.ctl -mode 0660",
        "User=uml-switch",
        "Group=uml-net",
        "RuntimeDirectory=uml-utilities",
        "UMask=0007",
        "NoNewPrivileges=yes",
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "uml-switch.service lacks {line}"
        );
    }
    assert!(
        root.at("/etc/systemd/system/multi-user.target.wants/uml-switch.service")
            .is_symlink(),
        "uml-switch.service is enabled on install"
    );
    assert!(
        !root
            .at("/etc/systemd/system/multi-user.target.wants/umlnet.service")
            .exists(),
        "umlnet.service waits for a configuration, so it is not enabled"
    );

    // The completion script, from the command and as installed, completes subcommands.
    let complete = |load: &str, words: &str, cword: usize| {
        let out = root.sh_ok(&format!(
            "exec bash -c '{load}; complete -p umlnet; COMP_WORDS=({words}); COMP_CWORD={cword}; \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _umlnet umlnet \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; \
             printf \"%s\\n\" \"${{COMPREPLY[@]}}\"'"
        ));
        let t = text(&out);
        let mut lines = t.lines();
        let spec = lines.next().unwrap_or_default().to_string();
        (spec, lines.map(str::to_string).collect::<Vec<_>>())
    };
    for load in [
        "source <(umlnet completions bash)",
        "source /usr/share/bash-completion/completions/umlnet",
    ] {
        let (spec, words) = complete(load, "umlnet sw", 1);
        assert!(
            spec.starts_with("complete ") && spec.ends_with(" -F _umlnet umlnet"),
            "{load}: {spec}"
        );
        assert_eq!(words, ["switch-status"], "{load}: umlnet sw<TAB>");
        let (_, words) = complete(load, "umlnet ''", 1);
        for sub in [
            "check",
            "guest",
            "up",
            "down",
            "plan",
            "switch-status",
            "completions",
            "manpages",
        ] {
            assert!(
                words.iter().any(|w| w == sub),
                "{load}: {sub} not in {words:?}"
            );
        }
        let (_, words) = complete(load, "umlnet completions ''", 2);
        let shells: Vec<&String> = words.iter().filter(|w| !w.starts_with('-')).collect();
        assert_eq!(
            shells,
            ["bash", "zsh", "fish"],
            "{load}: umlnet completions <TAB>"
        );
    }
}

fn the_installed_switch_serves_a_real_uml_kernel_on_the_debian_default_socket() {
    let root = Root::with_package("pkg-serve");
    let switch_uid = root.id_of("/etc/passwd", "uml-switch").unwrap();
    let group = root.id_of("/etc/group", "uml-net").unwrap();
    // The switch runs as the unit says (its user, group, umask and command line), with
    // a console added so that the installed umlnet can read its state.
    let unit =
        std::fs::read_to_string(root.at("/usr/lib/systemd/system/uml-switch.service")).unwrap();
    let setting = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("uml-switch.service has no {key}="))
            .to_string()
    };
    assert_eq!(
        (setting("User"), setting("Group")),
        ("uml-switch".to_string(), "uml-net".to_string())
    );
    let exec = setting("ExecStart");
    let exec = exec.replacen("/usr/bin/", &format!("{}/usr/bin/", root.path.display()), 1);
    let umask = setting("UMask");
    let work = root.path.parent().unwrap().join("work");
    std::fs::create_dir(&work).unwrap();
    // The kernel and the userspace guest run as nobody in the group uml-net, and write here.
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = work.join("guest.out");
    let init = work.join("init.sh");
    std::fs::write(
        &init,
        format!(
            "#!/bin/sh\n\
             export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n\
             mount -t proc proc /proc\n\
             say() {{ echo \"$*\" >> {out}; }}\n\
             ip link set eth0 up && ip addr add 10.19.0.1/24 dev eth0\n\
             if ping -c 3 -W 2 10.19.0.2 >/dev/null 2>&1; then say PING ok; else say PING failed; fi\n\
             n=0; while [ ! -e {done} ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n+1)); done\n\
             say DONE\n\
             echo o > /proc/sysrq-trigger\n\
             sleep 30\n",
            out = out.display(),
            done = work.join("status.done").display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = root.at("/usr/bin");
    let ctl = "/var/run/uml-utilities/uml_switch.ctl";
    let mgmt = "/var/run/uml-utilities/uml_switch.mgmt";
    let member = format!("setpriv --reuid=65534 --regid=65534 --groups={group}");
    let script = format!(
        "set -eu\n\
         cd {work}\n\
         mount -t tmpfs -o mode=0755 tmpfs /run\n\
         install -d -o {switch_uid} -g {group} -m 0750 /run/uml-utilities\n\
         ip link set lo up\n\
         setpriv --reuid={switch_uid} --regid={group} --clear-groups \\\n\
             sh -c 'umask {umask}; exec {exec} -mgmt {mgmt}' 2> switch.log &\n\
         n=0; while [ ! -S {ctl} ] || [ ! -S {mgmt} ]; do n=$((n+1)); [ $n -lt 100 ] || exit 3; sleep 0.1; done\n\
         stat -c '%a %u %g' {ctl} > socket.stat\n\
         {member} {bin}/umlnet guest umid=peer uml_dir={work}/ eth0=daemon,,unix,{ctl} \\\n\
             -c 'ifconfig eth0 10.19.0.2 up' --wait > peer.log 2>&1 &\n\
         {member} {bin}/umlnet run-uml -- mem=64M root=/dev/root rootfstype=hostfs rootflags=/ rw quiet \\\n\
             umid=pkgserve uml_dir={work}/ init={init} con=null con0=fd:0,fd:1 \\\n\
             eth0=daemon,fe:fd:0:19:0:1 > console.log 2>&1 < /dev/null &\n\
         kernel=$!\n\
         n=0; while ! grep -q PING guest.out 2>/dev/null; do n=$((n+1)); [ $n -lt 700 ] || break; sleep 0.1; done\n\
         {member} {bin}/umlnet switch-status --json {mgmt} > status.json || true\n\
         touch status.done\n\
         wait $kernel || true\n",
        work = work.display(),
        init = init.display(),
        bin = bin.display(),
    );
    let mut child = Command::new("unshare")
        .args([
            "--net",
            "--mount",
            "--pid",
            "--fork",
            "--mount-proc",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare");
    let end = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            // The script is PID 1 of its namespace: killing it ends every process there.
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let result = child.wait_with_output().unwrap();
    let file = |name: &str| std::fs::read_to_string(work.join(name)).unwrap_or_default();
    let context = format!(
        "script: {}\n{}\nswitch log:\n{}\npeer:\n{}\nconsole (tail):\n{}",
        result.status,
        String::from_utf8_lossy(&result.stderr),
        file("switch.log"),
        file("peer.log"),
        file("console.log")
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(result.status.success(), "{context}");
    // The socket: the switch's user, the group uml-net (-mode 0660), nothing for others.
    assert_eq!(
        file("socket.stat").trim(),
        format!("660 {switch_uid} {group}"),
        "{context}"
    );
    let said = file("guest.out");
    assert!(
        said.lines().any(|l| l == "PING ok"),
        "the real kernel on eth0=daemon (the default socket) could not ping the userspace \
         guest through the installed switch; it said {said:?}\n{context}"
    );
    let status: serde_json::Value = serde_json::from_str(&file("status.json"))
        .unwrap_or_else(|e| panic!("switch-status --json: {e}\n{}", file("status.json")));
    assert_eq!(status["mode"], "switch", "{status}");
    let macs: Vec<&str> = status["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["mac"].as_str().unwrap())
        .collect();
    assert!(
        macs.contains(&"fe:fd:00:19:00:01"),
        "the kernel's address was learned: {status}"
    );
    let kinds: Vec<&str> = status["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.len() == 2 && kinds.iter().all(|k| k.starts_with("v3 @")),
        "the kernel and the userspace guest are attached: {status}"
    );
    assert!(
        status["counters"]["rx_frames"].as_u64().unwrap() >= 4,
        "{status}"
    );
}

fn installing_over_uml_utilities_replaces_its_tools() {
    let root = Root::new("pkg-replace");
    root.sh_ok("dpkg -i /root/uml-utilities_*.deb 2>&1");
    assert_eq!(
        text(&root.sh_ok("dpkg-statoverride --list || true")),
        "root uml-net 4754 /usr/bin/uml_net\n"
    );
    let theirs: Vec<String> = text(&root.sh_ok("dpkg -L uml-utilities"))
        .lines()
        .filter(|p| root.at(p).is_file())
        .map(str::to_string)
        .collect();
    assert!(
        theirs.iter().any(|p| p == "/usr/bin/uml_switch"),
        "{theirs:?}"
    );

    let said = root.install_ours();
    assert!(
        said.contains("Removing uml-utilities"),
        "dpkg should remove uml-utilities in favour of umlnet:\n{said}"
    );
    assert_eq!(
        text(&root.sh_ok("dpkg-query -W -f='${Status}' uml-utilities umlnet; echo")),
        "install ok config-filesinstall ok installed\n"
    );
    // Its drop-ins are ours now; its other programs are gone with it; its init script
    // (a conffile) stays until it is purged, and postinst says so.
    let help = text(&root.sh_ok("uml_switch --help"));
    assert!(help.contains("(umlnet)"), "uml_switch is not ours:\n{help}");
    let help = text(&root.sh_ok("tunctl -h 2>&1 || true"));
    assert!(help.contains("Create:"), "{help}");
    for p in &theirs {
        let ours = ["/usr/bin/uml_switch", "/usr/bin/tunctl"].contains(&p.as_str())
            || p.starts_with("/etc/")
            || p.starts_with("/usr/share/man/man1/uml_switch");
        assert_eq!(root.at(p).exists(), ours, "{p} after installing umlnet");
    }
    assert!(said.contains("apt purge uml-utilities"), "{said}");
    assert_eq!(
        text(&root.sh_ok("dpkg-statoverride --list || true")),
        "root uml-net 4754 /usr/lib/uml/uml_net\n"
    );

    root.sh_ok("dpkg --purge uml-utilities umlnet");
    assert!(!root.at("/etc/init.d/uml-utilities").exists());
    for (file, _) in FILES {
        assert!(!root.at(file).exists(), "{file} after the purge");
    }
    assert!(!root.at("/usr/lib/uml/uml_net").exists());
    assert_eq!(text(&root.sh_ok("dpkg-statoverride --list || true")), "");
}
