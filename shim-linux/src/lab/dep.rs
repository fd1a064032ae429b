//! `lab.dep`: the order machines start in, as Netkit writes it (make-like):
//!
//! ```text
//! # pc1 starts once r1 and pc2 are up; machines without a line start at once
//! pc1: r1 pc2
//! ```
//!
//! Machines whose dependencies are all up start in parallel. [`parse`] checks names
//! against the lab's machines and refuses cycles, naming file and line.

use std::collections::{BTreeMap, BTreeSet};

use super::Diagnostic;
use super::conf::valid_name;

/// The dependencies of the lab's machines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabDeps {
    /// For each machine, the machines that must be up before it starts.
    pub after: BTreeMap<String, BTreeSet<String>>,
}

impl LabDeps {
    /// What `machine` waits for (nothing when it has no line).
    pub fn of(&self, machine: &str) -> impl Iterator<Item = &str> {
        self.after
            .get(machine)
            .into_iter()
            .flat_map(|s| s.iter().map(String::as_str))
    }

    /// The machines of `selected` that may start now: not yet `started`, and every
    /// dependency inside `selected` is `up`. Dependencies on machines outside the
    /// selection do not hold anything back.
    pub fn startable(
        &self,
        selected: &[String],
        started: &BTreeSet<String>,
        up: &BTreeSet<String>,
    ) -> Vec<String> {
        selected
            .iter()
            .filter(|m| !started.contains(*m))
            .filter(|m| {
                self.of(m)
                    .all(|d| up.contains(d) || !selected.iter().any(|s| s == d))
            })
            .cloned()
            .collect()
    }
}

/// Reads `lab.dep` (`file` names it in the diagnostics) for a lab whose machines are
/// `machines`.
pub fn parse(file: &str, text: &str, machines: &BTreeSet<String>) -> (LabDeps, Vec<Diagnostic>) {
    let mut deps = LabDeps::default();
    let mut diags = Vec::new();
    let mut first_line: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((left, right)) = line.split_once(':') else {
            diags.push(Diagnostic::error(
                file,
                n,
                format!("'{line}' has no ':': write MACHINE: MACHINE MACHINE..."),
            ));
            continue;
        };
        let targets: Vec<&str> = left.split_whitespace().collect();
        if targets.is_empty() {
            diags.push(Diagnostic::error(
                file,
                n,
                "no machine before ':': write MACHINE: MACHINE MACHINE...".into(),
            ));
            continue;
        }
        let mut ok = true;
        for name in targets
            .iter()
            .chain(right.split_whitespace().collect::<Vec<_>>().iter())
        {
            if !valid_name(name) {
                diags.push(Diagnostic::error(
                    file,
                    n,
                    format!("'{name}' is not a machine name"),
                ));
                ok = false;
            } else if !machines.contains(*name) {
                diags.push(Diagnostic::error(
                    file,
                    n,
                    format!("'{name}' is not a machine of this lab (lab.conf and the lab's directories name none)"),
                ));
                ok = false;
            }
        }
        if !ok {
            continue;
        }
        for t in &targets {
            for d in right.split_whitespace() {
                if d == *t {
                    diags.push(Diagnostic::error(
                        file,
                        n,
                        format!("{t} cannot wait for itself"),
                    ));
                    continue;
                }
                first_line
                    .entry((t.to_string(), d.to_string()))
                    .or_insert(n);
                deps.after
                    .entry(t.to_string())
                    .or_default()
                    .insert(d.to_string());
            }
        }
    }
    if let Some(cycle) = find_cycle(&deps) {
        let line = cycle
            .windows(2)
            .filter_map(|w| first_line.get(&(w[0].clone(), w[1].clone())))
            .max()
            .copied()
            .unwrap_or(1);
        diags.push(Diagnostic::error(
            file,
            line,
            format!(
                "machines wait for each other, so none of them could start: {}",
                cycle.join(" waits for ")
            ),
        ));
    }
    diags.sort_by_key(|d| d.line);
    (deps, diags)
}

/// A dependency cycle, as the list of machines from one back to itself.
fn find_cycle(deps: &LabDeps) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        m: &str,
        deps: &LabDeps,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(m) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|p| p == m).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(m.to_string(), Mark::Open);
        path.push(m.to_string());
        for d in deps.of(m) {
            if let Some(c) = visit(d, deps, marks, path) {
                return Some(c);
            }
        }
        path.pop();
        marks.insert(m.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for m in deps.after.keys() {
        if let Some(c) = visit(m, deps, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    fn lab(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn netkit_lines_and_parallel_start() {
        let (d, diags) = parse(
            "lab.dep",
            "# order\npc1: r1 pc2\npc3 : r1\n",
            &lab(&["pc1", "pc2", "pc3", "r1"]),
        );
        assert!(diags.is_empty(), "{diags:?}");
        let all: Vec<String> = ["pc1", "pc2", "pc3", "r1"].map(String::from).to_vec();
        let none = BTreeSet::new();
        assert_eq!(d.startable(&all, &none, &none), ["pc2", "r1"]);
        let started = lab(&["pc2", "r1"]);
        assert_eq!(d.startable(&all, &started, &lab(&["r1"])), ["pc3"]);
        assert_eq!(
            d.startable(&all, &started, &lab(&["r1", "pc2"])),
            ["pc1", "pc3"]
        );
        // Starting pc1 alone: its dependencies are not part of the selection.
        assert_eq!(d.startable(&["pc1".into()], &none, &none), ["pc1"]);
    }

    #[test]
    fn errors_name_line() {
        let m = lab(&["a", "b", "c"]);
        let (_, d) = parse("lab.dep", "a: b\nb: c\nc: a\n", &m);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].line, 3);
        assert!(d[0].message.contains("wait for each other"), "{}", d[0]);
        let (_, d) = parse("lab.dep", "a: zz\n", &m);
        assert_eq!(
            d[0].to_string(),
            "lab.dep:1: error: 'zz' is not a machine of this lab (lab.conf and the lab's \
             directories name none)"
        );
        let (_, d) = parse("lab.dep", "\na b\n", &m);
        assert_eq!(d[0].line, 2);
        let (_, d) = parse("lab.dep", "a: a\n", &m);
        assert!(d[0].message.contains("itself"));
    }

    proptest! {
        /// An order that only points backwards (to machines with a lower number) never
        /// has a cycle, and starting the startable machines repeatedly starts them all.
        #[test]
        fn acyclic_deps_start_everything(edges in proptest::collection::vec((0usize..8, 0usize..8), 0..20)) {
            let names: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
            let mut text = String::new();
            for (a, b) in &edges {
                if a > b {
                    text.push_str(&format!("{}: {}\n", names[*a], names[*b]));
                }
            }
            let (d, diags) = parse("lab.dep", &text, &names.iter().cloned().collect());
            prop_assert!(diags.is_empty(), "{:?}", diags);
            let mut up = BTreeSet::new();
            for _ in 0..names.len() {
                for m in d.startable(&names, &up.clone(), &up.clone()) {
                    for dep in d.of(&m) {
                        prop_assert!(up.contains(dep));
                    }
                    up.insert(m);
                }
            }
            prop_assert_eq!(up.len(), names.len());
        }

        #[test]
        fn any_text_gives_lines_inside_the_file(text in "([a-d :#]{0,10}\n){0,8}") {
            let (_, diags) = parse("lab.dep", &text, &lab(&["a", "b", "c"]));
            for d in diags {
                prop_assert!(d.line >= 1 && d.line <= text.lines().count().max(1), "{}", d);
            }
        }
    }
}
