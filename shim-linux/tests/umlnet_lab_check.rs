//! `umlnet lab check` as a user runs it: the shipped lab passes, a broken one gets every
//! error with its file and line, and `lab start` refuses it before touching anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn umlnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_umlnet"))
        .args(args)
        .env(
            "UMLNET_LAB_RUN",
            std::env::temp_dir().join("umlnet-lab-check-run"),
        )
        .output()
        .expect("run umlnet")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn lab(tag: &str, files: &[(&str, &str)]) -> Dir {
    let d = std::env::temp_dir().join(format!("umlnet-lab-check-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    for (name, body) in files {
        let p = d.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    Dir(d.canonicalize().unwrap())
}

#[test]
fn the_shipped_lab_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/labs/two-lans");
    let o = umlnet(&["lab", "check", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("4 machines, 3 collision domains: no problems"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_broken_lab_gets_file_line_and_reason() {
    let d = lab(
        "broken",
        &[
            (
                "lab.conf",
                "LAB_DESCRIPTION=\"broken on purpose\"\n\
             pc1[0]=A\n\
             pc1[0]=B\n\
             pc2[1]=A/01:80:c2:00:00:00\n\
             pc3[mem]=lots\n\
             pc4[0=A\n",
            ),
            ("lab.dep", "pc1: pc2\npc2: pc1\n"),
        ],
    );
    let o = umlnet(&["lab", "check", d.0.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    let conf = d.0.join("lab.conf").display().to_string();
    for want in [
        format!("{conf}:3: error: pc1[0] is defined twice: here and on line 2"),
        format!("{conf}:4: error: pc2[1]: MAC address 01:80:c2:00:00:00 cannot be"),
        format!("{conf}:5: error: pc3[mem]: 'lots' is not a memory size"),
        format!("{conf}:6: error: 'pc4[0' opens '[' without a closing ']'"),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    let dep = d.0.join("lab.dep").display().to_string();
    assert!(
        out.contains(&format!(
            "{dep}:2: error: machines wait for each other, so none of them could start: \
             pc1 waits for pc2 waits for pc1"
        )),
        "{out}"
    );
    assert!(out.contains("5 error(s)"), "{out}");
    // The same lab does not start.
    let o = umlnet(&["lab", "start", d.0.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains(&format!("{conf}:3: error")),
        "{}",
        text(&o)
    );
}

#[test]
fn a_dependency_cycle_is_named() {
    let d = lab(
        "cycle",
        &[
            ("lab.conf", "a[0]=A\nb[0]=A\nc[0]=A\n"),
            ("lab.dep", "# order\na: b\nb: c\nc: a\n"),
        ],
    );
    let o = umlnet(&["lab", "check", d.0.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let want = format!(
        "{}:4: error: machines wait for each other, so none of them could start: \
         a waits for b waits for c waits for a",
        d.0.join("lab.dep").display()
    );
    assert!(text(&o).contains(&want), "{}", text(&o));
}
