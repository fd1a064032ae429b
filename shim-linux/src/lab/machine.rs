//! Machines: real UML kernels, one per lab machine.
//!
//! The root is the host's filesystem through hostfs, read-only. The init the lab
//! generates for each machine ([`init_script`]) mounts tmpfs on `/run` and `/tmp`, an
//! overlay (writable tmpfs over the read-only host directory) on `/etc`, `/root`,
//! `/var` and on every other top-level directory the lab's `shared/` or `MACHINE/`
//! holds, copies those files in, runs `shared.startup` then `MACHINE.startup`, and then
//! serves commands ([`super::control`]). Changes stay inside the machine and are gone
//! when it stops. The host directory `<run dir>/machines/MACHINE/` is mounted at
//! `/run/umlnet`, the lab directory read-only at `/run/lab`.
//!
//! Interfaces attach on the daemon transport: `ethN=daemon,<mac>,unix,<domain ctl>`.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::Lab;
use super::rundir::RunDir;
use crate::umlkernel::KernelLaunch;

/// Memory of a machine without `MACHINE[mem]=`, in MiB.
pub const DEFAULT_MEM_MIB: u32 = 128;
/// The kernel a lab uses unless `lab.conf` names one.
pub const DEFAULT_KERNEL: &str = "linux.uml";
/// Directories that always get a writable layer.
pub const LAYERS: &[&str] = &["etc", "root", "var"];
/// Top-level directories a lab may not overlay (the machine mounts its own there).
const SYSTEM_DIRS: &[&str] = &["proc", "sys", "dev", "run", "tmp"];

/// A `modprobe` for machines on hosts without kmod (installed as
/// `/run/umlnet/bin/modprobe`, last on `PATH`, and as the kernel's module loader): loads
/// a module of the running kernel from `/lib/modules/<release>` (where the init puts the
/// UML kernel's modules) after its dependencies from `modules.dep`, resolving aliases
/// from `modules.alias` (the kernel asks for `rtnl-link-bridge`, for example).
pub const MODPROBE: &str = r#"#!/usr/bin/perl
# modprobe for umlnet lab machines: written by `umlnet lab start`.
use strict;
use POSIX ();
my $release = (POSIX::uname())[2];
my $dir = "/lib/modules/$release";
$dir = "/usr/lib/uml/modules/$release" unless -e "$dir/modules.dep";
my @names = grep { !/^-/ } @ARGV;
@names or die "usage: modprobe MODULE\n";
my (%dep, %path);
open(my $d, "<", "$dir/modules.dep") or die "$dir/modules.dep: $!\n";
while (<$d>) {
    chomp;
    my ($m, $rest) = split /:\s*/, $_, 2;
    $dep{$m} = [split ' ', ($rest // '')];
    (my $b = $m) =~ s{.*/}{};
    $b =~ s/\.ko.*$//;
    $b =~ tr/-/_/;
    $path{$b} = $m;
}
my %alias;
if (open(my $a, "<", "$dir/modules.alias")) {
    while (<$a>) {
        my (undef, $from, $to) = split ' ';
        $to =~ tr/-/_/ if defined $to;
        $alias{$from} = $to if defined $to;
    }
}
my %done;
sub load {
    my ($m) = @_;
    return if $done{$m}++;
    load($_) for @{$dep{$m} || []};
    open(my $f, "<", "$dir/$m") or die "$dir/$m: $!\n";
    my $p = "";
    syscall(313, fileno($f), $p, 0) == 0 or $! == 17 or die "loading $m: $!\n";
}
for my $n (@names) {
    (my $k = $n) =~ tr/-/_/;
    $k = $alias{$n} if !$path{$k} && $alias{$n};
    my $m = $path{$k} or die "modprobe: module $n not found in $dir\n";
    load($m);
}
"#;

/// Quotes `s` for `sh`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Where a machine is in its life, from `<run dir>/machines/M/state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The kernel runs but init has not reached its startup scripts.
    Booting,
    /// The startup scripts run.
    Startup,
    /// Up; the startup scripts exited with this status (0: all well).
    Up(i32),
    /// The kernel is not running.
    Down,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Booting => f.write_str("booting"),
            State::Startup => f.write_str("running its startup scripts"),
            State::Up(0) => f.write_str("up"),
            State::Up(rc) => write!(f, "up (a startup script exited with {rc})"),
            State::Down => f.write_str("down"),
        }
    }
}

/// Machine `m`'s state: [`State::Down`] when its kernel does not run.
pub fn state(run: &RunDir, m: &str) -> State {
    if run.live_pid(&run.machine_file(m, "pid")).is_none() {
        return State::Down;
    }
    init_state(run, m)
}

/// What machine `m`'s init last said (never [`State::Down`]).
pub fn init_state(run: &RunDir, m: &str) -> State {
    let text = std::fs::read_to_string(run.machine_dir(m).join("state")).unwrap_or_default();
    let mut words = text.split_whitespace();
    match words.next() {
        Some("startup") => State::Startup,
        Some("up") => State::Up(words.next().and_then(|w| w.parse().ok()).unwrap_or(0)),
        _ => State::Booting,
    }
}

/// The top-level directories that get a writable layer in machine `m`: [`LAYERS`]
/// and those `shared/` and `m/` put files in. `Err` names a directory the host's root
/// lacks (the read-only root cannot grow one) or one the machine manages itself.
pub fn layers(lab: &Lab, m: &str) -> Result<Vec<String>, String> {
    let mut set: BTreeSet<String> = LAYERS.iter().map(|s| s.to_string()).collect();
    for src in ["shared", m] {
        let dir = lab.dir.join(src);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                return Err(format!(
                    "{}: only directories may be at the top of {src}/ (the machine's root \
                     is the host's, read-only)",
                    dir.join(&name).display()
                ));
            }
            if SYSTEM_DIRS.contains(&name.as_str()) {
                if name == "tmp" {
                    continue;
                }
                return Err(format!(
                    "{}: /{name} is managed by the machine itself; put files elsewhere",
                    dir.join(&name).display()
                ));
            }
            if !Path::new("/").join(&name).is_dir() {
                return Err(format!(
                    "{}: the host has no directory /{name}, and a machine's root is the \
                     host's (read-only); use /etc, /root, /var or another existing directory",
                    dir.join(&name).display()
                ));
            }
            set.insert(name);
        }
    }
    Ok(set.into_iter().collect())
}

/// The init script of machine `m` (see the module documentation).
pub fn init_script(lab: &Lab, run: &RunDir, m: &str, layers: &[String]) -> String {
    let mdir = sh_quote(&run.machine_dir(m).display().to_string());
    let labdir = sh_quote(&lab.dir.display().to_string());
    let conf = lab.machine(m);
    let ifaces: Vec<String> = conf.ifaces.keys().map(|k| format!("eth{k}")).collect();
    // Tap uplinks: the guest address, and the host as the default gateway (as Netkit).
    let taps: String = conf
        .ifaces
        .iter()
        .filter_map(|(k, i)| i.tap.map(|(h, g)| (k, h, g)))
        .map(|(k, h, g)| {
            format!(
                "ip addr add {g}/{p} dev eth{k}\nip route add default via {h}\n",
                p = super::conf::TAP_PREFIX
            )
        })
        .collect();
    let q = |name: &str| sh_quote(name);
    format!(
        r#"#!/bin/sh
# umlnet lab: the init of machine {m}; generated by `umlnet lab start`.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /run/umlnet /run/lab /run/layers
mount -t hostfs -o {mdir} none /run/umlnet
exec >>/run/umlnet/boot.log 2>&1 </dev/null
echo booting > /run/umlnet/state
echo "umlnet-lab: machine {m} booting"
mount -r -t hostfs -o {labdir} none /run/lab
# The UML kernel's modules where modprobe looks; a modprobe where the host has none.
[ -d /usr/lib/uml/modules ] && [ -d /lib/modules ] && mount --bind /usr/lib/uml/modules /lib/modules
export PATH="$PATH:/run/umlnet/bin"
# The kernel runs its module loader without init's environment: give it the C library
# tunables the kernel command line set (see docs/running-uml.md) and the PATH above.
printf '#!/bin/sh\nexport GLIBC_TUNABLES=%s PATH=%s\nexec modprobe "$@"\n' "$GLIBC_TUNABLES" "$PATH" > /run/modprobe
chmod 755 /run/modprobe
echo /run/modprobe > /proc/sys/kernel/modprobe
# Writable layers: an overlay (tmpfs over the host's read-only directory).
overlay=yes
grep -qw overlay /proc/filesystems || modprobe overlay || overlay=no
for d in {layers}; do
  mkdir -p "/run/layers/$d/up" "/run/layers/$d/work"
  if [ $overlay = yes ] && mount -t overlay overlay -o "lowerdir=/$d,upperdir=/run/layers/$d/up,workdir=/run/layers/$d/work" "/$d"; then
    :
  else
    # Without overlays: /etc becomes a writable copy, the others start empty.
    if [ "$d" = etc ]; then
      echo "umlnet-lab: no overlay filesystem; /etc is a writable copy"
      cp -a /etc/. /run/layers/etc/up/
    else
      echo "umlnet-lab: no overlay filesystem; /$d starts empty"
    fi
    mount --bind "/run/layers/$d/up" "/$d"
  fi
done
hostname {m}
echo {m} > /etc/hostname
ip link set lo up
for i in {ifaces}; do ip link set "$i" up; done
{taps}for src in /run/lab/shared /run/lab/{qm}; do
  [ -d "$src" ] || continue
  for e in "$src"/* "$src"/.[!.]*; do [ -e "$e" ] && cp -a "$e" /; done
done
echo startup > /run/umlnet/state
rc=0
if [ -f /run/lab/shared.startup ]; then (cd / && sh /run/lab/shared.startup) || rc=$?; fi
if [ -f /run/lab/{qm}.startup ]; then (cd / && sh /run/lab/{qm}.startup) || rc=$?; fi
echo "umlnet-lab: machine {m} up (startup scripts: $rc)"
echo "up $rc" > /run/umlnet/state
# A shell on the second console (con1, a host pty) for `umlnet lab console`.
(while :; do setsid -c sh -i </dev/tty1 >/dev/tty1 2>&1; sleep 1; done) &
# Commands from the host (umlnet lab exec): cmd/ID.sh runs, out/ID.out gets its
# output and out/ID.rc its exit status.
cd /run/umlnet
while :; do
  for f in cmd/*.sh; do
    [ -e "$f" ] || continue
    id=${{f#cmd/}}
    id=${{id%.sh}}
    mv "$f" "cmd/$id.run" || continue
    (cd /root; sh "/run/umlnet/cmd/$id.run" </dev/null >"/run/umlnet/out/$id.out" 2>&1
     echo $? >"/run/umlnet/out/$id.part"
     mv "/run/umlnet/out/$id.part" "/run/umlnet/out/$id.rc"
     rm -f "/run/umlnet/cmd/$id.run") &
  done
  sleep 0.2
done
"#,
        layers = layers.join(" "),
        ifaces = ifaces.join(" "),
        qm = q(m),
    )
}

/// The kernel of machine `m`: `MACHINE[kernel]`, else `LAB_KERNEL`, else `default`. A
/// relative path with a `/` is taken from the lab directory.
pub fn kernel(lab: &Lab, m: &str, default: &Path) -> PathBuf {
    let named = lab
        .machine(m)
        .kernel
        .or_else(|| lab.conf.kernel.clone())
        .map(PathBuf::from);
    match named {
        Some(k) if k.is_relative() && k.components().count() > 1 => lab.dir.join(k),
        Some(k) => k,
        None => default.to_path_buf(),
    }
}

/// The kernel command line of machine `m`.
pub fn kernel_args(lab: &Lab, run: &RunDir, m: &str, launch: &KernelLaunch) -> Vec<OsString> {
    let conf = lab.machine(m);
    let mut args: Vec<OsString> = vec![
        format!("mem={}M", conf.mem_mib.unwrap_or(DEFAULT_MEM_MIB)).into(),
        "root=/dev/root".into(),
        "rootfstype=hostfs".into(),
        "rootflags=/".into(),
        "ro".into(),
        "quiet".into(),
        format!("umid={m}").into(),
        format!("uml_dir={}/", run.uml_dir().display()).into(),
        format!("init={}", run.machine_dir(m).join("init.sh").display()).into(),
        "con=null".into(),
        "con0=null,fd:1".into(),
        "con1=pts".into(),
    ];
    for (k, i) in &conf.ifaces {
        let mac = i.mac.map(|m| m.to_string()).unwrap_or_default();
        args.push(
            format!(
                "eth{k}=daemon,{mac},unix,{}",
                run.domain_ctl(&i.domain).display()
            )
            .into(),
        );
    }
    args.extend(conf.append.iter().map(OsString::from));
    let extra: Vec<OsString> = launch
        .extra_args(&args)
        .into_iter()
        .map(OsString::from)
        .collect();
    args.extend(extra);
    args
}

/// Prepares machine `m`'s directory and boots its kernel in a process group of its own,
/// its console going to `<run dir>/machines/m.log`. Returns the kernel's pid.
pub fn boot(
    lab: &Lab,
    run: &RunDir,
    m: &str,
    kernel: &Path,
    launch: &KernelLaunch,
) -> io::Result<u32> {
    let layers = layers(lab, m).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let dir = run.machine_dir(m);
    for sub in ["cmd", "out", "bin"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let modprobe = dir.join("bin/modprobe");
    std::fs::write(&modprobe, MODPROBE)?;
    std::fs::set_permissions(&modprobe, std::fs::Permissions::from_mode(0o755))?;
    let init = dir.join("init.sh");
    std::fs::write(&init, init_script(lab, run, m, &layers))?;
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755))?;
    let log = std::fs::File::create(run.machine_file(m, "log"))?;
    let mut cmd = Command::new(kernel);
    cmd.args(kernel_args(lab, run, m, launch))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    launch.apply_env(&mut cmd);
    let child = cmd
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("starting {}: {e}", kernel.display())))?;
    let pid = child.id();
    std::fs::write(run.machine_file(m, "pid"), pid.to_string())?;
    // Not waited for: the kernel outlives this process.
    drop(child);
    Ok(pid)
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().as_bytes().first() != Some(&b'Z'))
        })
        .unwrap_or(false)
}

/// Waits up to `timeout` for `pid` to end.
pub fn wait_gone(pid: i32, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while alive(pid) {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Ends `pid` and its process group: SIGTERM, then SIGKILL after `grace`.
pub fn terminate(pid: i32, grace: Duration) {
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    if !wait_gone(pid, grace) {
        kill_group(pid);
    }
}

/// SIGKILL to process group `pid` (a kernel and every host process it made) and to
/// `pid` itself; waits up to 5 s for it to go.
pub fn kill_group(pid: i32) {
    let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    wait_gone(pid, Duration::from_secs(5));
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn this_process_is_alive() {
        assert!(alive(std::process::id() as i32));
        assert!(!alive(i32::MAX));
    }
}
