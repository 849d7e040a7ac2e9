//! The binding rule: the confirms that bind a write are the latest ones, among the confirms by
//! its approver role above the execute those not above another one of them. Plan
//! (`confirmed_by`), checker (E0203, E0209) and runtime (the gates a decision allows) share it;
//! these tests prove it on chains, diamonds and parallel branches, through `writ plan --format
//! json`, `writ check` and a real run, and against the definition computed by brute force.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::bed::{Bed, Outcome};
use crate::support::generate::{self, Shape};

/// `writ plan FILE --format json` on `source`: the plan as JSON (it must succeed).
fn plan_json(bed: &Bed, source: &str) -> Value {
    bed.file("w.writ", source);
    let out = bed.writ(&["plan", "w.writ", "--format", "json"]);
    assert_eq!(out.code, Some(0), "writ plan:\n{}", out.describe());
    serde_json::from_str(&out.stdout).expect("the plan is JSON")
}

/// Each write's `confirmed_by`, by step name.
fn bindings(plan: &Value) -> BTreeMap<String, Vec<String>> {
    let writes = plan["writes"].as_array().expect("writes");
    writes
        .iter()
        .map(|w| {
            let names = w["confirmed_by"].as_array().expect("confirmed_by");
            let names = names.iter().map(|n| n.as_str().expect("a name").to_owned());
            (
                w["step"].as_str().expect("step").to_owned(),
                names.collect(),
            )
        })
        .collect()
}

/// `writ check` on `source`.
fn check(bed: &Bed, source: &str) -> Outcome {
    bed.file("w.writ", source);
    bed.writ(&["check", "w.writ"])
}

/// A workflow with roles `clerk` and `lead`, a database and the steps given.
fn workflow(steps: &str) -> String {
    format!(
        "workflow w {{\n  owner lead\n  role clerk, lead\n  system db: sqlite outside\n  input id: int\n{steps}\n}}\n"
    )
}

fn read(name: &str, after: &str) -> String {
    format!(
        "  recommend {name} {{ {after} reads db run sql \"SELECT v FROM t WHERE id = :id\" yields v: int }}\n"
    )
}

fn confirm(name: &str, after: &str, by: &str, shows: &str) -> String {
    format!("  confirm {name} {{ {after} by {by} shows {shows} expires 1h -> reject }}\n")
}

/// An execute `name` by `clerk` after `after`, writing `value`, and its rollback.
fn write(name: &str, after: &str, value: &str) -> String {
    format!(
        "  execute {name} {{ {after} writes db risk medium approver clerk run sql \"UPDATE t SET v = {value} WHERE id = :id\" }}\n  \
         rollback undo_{name} undoes {name} {{ repair by lead run sql \"UPDATE t SET v = 0 WHERE id = :id\" }}\n"
    )
}

#[test]
fn on_a_chain_with_values_each_write_is_bound_by_its_own_confirm() {
    let bed = Bed::new("binding-chain");
    let plan = plan_json(&bed, &generate::chain_values(24));
    let found = bindings(&plan);
    assert_eq!(found.len(), 6);
    for i in 0..6 {
        // The nearest confirms would list c0..=ci here: each execute's use of its own
        // recommendation opens a path from every earlier confirm.
        assert_eq!(found[&format!("a{i}")], [format!("c{i}")], "a{i}");
    }
}

#[test]
fn a_path_around_the_latest_confirm_does_not_bind_the_earlier_one() {
    // r -> c1 -> s -> c2 -> x, and s -> x through the value: c1 reaches x without passing c2,
    // but c1 is above c2, so c2 alone binds x (c1 has been decided before c2 is asked).
    let bed = Bed::new("binding-diamond");
    let source = workflow(&format!(
        "{}{}{}{}{}",
        read("r", ""),
        confirm("c1", "", "clerk", "r.v"),
        read("s", "after c1"),
        confirm("c2", "", "clerk", "s.v"),
        write("x", "after c2", ":s.v"),
    ));
    assert_eq!(bindings(&plan_json(&bed, &source))["x"], ["c2"]);
}

#[test]
fn parallel_branches_bind_the_latest_confirm_of_each() {
    // Branch one: a1 -> a2; branch two: b. The write follows a2, b and (directly) a1.
    let bed = Bed::new("binding-parallel");
    let source = workflow(&format!(
        "{}{}{}{}{}",
        read("r", ""),
        confirm("a1", "", "clerk", "r.v"),
        confirm("a2", "after a1", "clerk", "r.v"),
        confirm("b", "", "clerk", "r.v"),
        write("x", "after a1, a2, b", ":r.v"),
    ));
    assert_eq!(bindings(&plan_json(&bed, &source))["x"], ["a2", "b"]);
    // The generated diamonds: two confirms side by side, neither above the other, both bind.
    let found = bindings(&plan_json(&bed, &generate::diamonds(15)));
    for i in 0..3 {
        assert_eq!(
            found[&format!("a{i}")],
            [format!("c{i}l"), format!("c{i}r")]
        );
    }
}

#[test]
fn a_value_seen_by_an_earlier_confirm_is_seen() {
    // E0209 asks for a confirm above the write whose ancestor the value's step is; the
    // earlier confirms are ancestors of the latest, so a value they showed stays usable.
    let bed = Bed::new("binding-seen");
    let out = check(&bed, &generate::far(4 * (generate::FAR_BLOCKS + 3)));
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(!out.stderr.contains("E0209"), "{}", out.describe());
}

#[test]
fn a_value_known_only_after_the_latest_confirm_is_e0209() {
    // `late` runs after the only confirm: nobody confirming saw it.
    let bed = Bed::new("binding-unseen");
    let source = workflow(&format!(
        "{}{}{}{}",
        read("r", ""),
        confirm("c", "", "clerk", "r.v"),
        read("late", "after c"),
        write("x", "after c", ":late.v"),
    ));
    let out = check(&bed, &source);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("E0209") && out.stderr.contains("`x` uses `late.v`"),
        "{}",
        out.describe()
    );
}

#[test]
fn a_confirm_on_a_parallel_branch_is_e0203() {
    let bed = Bed::new("binding-e0203");
    let source = workflow(&format!(
        "{}{}{}{}",
        read("r", ""),
        confirm("c", "", "clerk", "r.v"),
        read("s", "after r"),
        write("x", "after s", ":s.v"),
    ));
    let out = check(&bed, &source);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("E0203")
            && out
                .stderr
                .contains("`c` confirms by `clerk` but is not an ancestor of `x`"),
        "{}",
        out.describe()
    );
}

/// Every step's ancestors, from the plan's edges (brute force: small plans only).
fn ancestors(plan: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for edge in plan["edges"].as_array().expect("edges") {
        let (from, to) = (edge["from"].as_str().unwrap(), edge["to"].as_str().unwrap());
        parents
            .entry(to.to_owned())
            .or_default()
            .push(from.to_owned());
    }
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // The plan lists steps in topological order: parents are done first.
    for step in plan["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().unwrap().to_owned();
        let mut mine = BTreeSet::new();
        for parent in parents.get(&name).into_iter().flatten() {
            mine.insert(parent.clone());
            mine.extend(found.get(parent).cloned().unwrap_or_default());
        }
        found.insert(name, mine);
    }
    found
}

#[test]
fn every_shape_is_bound_by_the_definition() {
    let bed = Bed::new("binding-shapes");
    for shape in Shape::ALL {
        let plan = plan_json(&bed, &shape.source(160));
        let above = ancestors(&plan);
        let by: BTreeMap<&str, &str> = plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| Some((s["name"].as_str()?, s["by"].as_str()?)))
            .collect();
        for w in plan["writes"].as_array().unwrap() {
            let (step, role) = (w["step"].as_str().unwrap(), w["approver"].as_str().unwrap());
            let confirms: BTreeSet<&String> = above[step]
                .iter()
                .filter(|s| by.get(s.as_str()) == Some(&role))
                .collect();
            let latest: Vec<String> = confirms
                .iter()
                .filter(|c| {
                    !confirms
                        .iter()
                        .any(|other| above[other.as_str()].contains(**c))
                })
                .map(|c| (*c).clone())
                .collect();
            let listed: Vec<String> = w["confirmed_by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(listed, latest, "{} {step}", shape.name());
        }
    }
}

/// A run whose second write follows the first write directly as well as its own confirm: the
/// first confirm reaches it without passing the second, but does not bind it.
const BYPASS: &str = r#"workflow bypass {
  owner lead
  role clerk, lead
  system db: sqlite outside
  input id: int
  recommend s0 { reads db run sql "SELECT v FROM t WHERE id = :id" yields v: int }
  confirm c0 { by clerk shows s0.v expires 4h -> reject }
  execute a0 { after c0 writes db risk medium approver clerk run sql "UPDATE t SET w = :s0.v WHERE id = :id" }
  rollback r0 undoes a0 { repair by lead run sql "UPDATE t SET w = 0 WHERE id = :id" }
  recommend s1 { after a0 reads db run sql "SELECT w + 1 AS v FROM t WHERE id = :id" yields v: int }
  confirm c1 { by clerk shows s1.v expires 4h -> reject }
  execute a1 { after c1, a0 writes db risk medium approver clerk run sql "UPDATE t SET v = 7 WHERE id = :id" }
  rollback r1 undoes a1 { repair by lead run sql "UPDATE t SET v = 5 WHERE id = :id" }
}
"#;

/// The executes a `confirmation_requested` (or decision) event of `step` gates.
fn gated(events: &[Value], kind: &str, step: &str) -> Vec<String> {
    let event = events
        .iter()
        .find(|e| e["kind"] == kind && e["step"] == step)
        .unwrap_or_else(|| panic!("no {kind} of {step}"));
    let gates = event["data"]["gates"].as_array().expect("gates");
    gates
        .iter()
        .map(|g| g["step"].as_str().expect("a gate's step").to_owned())
        .collect()
}

#[test]
fn a_decision_gates_only_the_writes_it_binds() {
    let bed = Bed::new("binding-run");
    bed.file(
        "writ.yaml",
        "state: .writ/state.db\npeople:\n  ana: [analyst]\n  sam: [clerk]\n  olu: [lead]\nsystems:\n  db: { sqlite: db.sqlite }\n",
    );
    bed.sql(
        "db.sqlite",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, w INTEGER); INSERT INTO t VALUES (1, 5, 0);",
    );
    bed.file("bypass.writ", BYPASS);
    assert_eq!(bindings(&plan_json(&bed, BYPASS))["a1"], ["c1"]);
    let (out, run) = bed.start("bypass.writ", &["id=1"], "ana");
    assert_eq!(out.code, Some(3), "waits for c0:\n{}", out.describe());
    // `a1` renders already (it uses only the input), but `c0` does not bind it.
    let events = bed.events(&run);
    assert_eq!(gated(&events, "confirmation_requested", "c0"), ["a0"]);
    let approve = |step: &str| {
        let out = bed.writ(&["approve", &run, step, "--as", "sam", "--format", "json"]);
        assert_eq!(out.code, Some(0), "approve {step}:\n{}", out.describe());
        bed.writ(&["resume", &run, "--format", "json"])
    };
    let out = approve("c0");
    assert_eq!(out.code, Some(3), "waits for c1:\n{}", out.describe());
    let out = approve("c1");
    assert_eq!(out.code, Some(0), "done:\n{}", out.describe());
    let events = bed.events(&run);
    assert_eq!(gated(&events, "confirmed", "c1"), ["a1"]);
    assert_eq!(
        bed.query_one::<i64>("db.sqlite", "SELECT v FROM t WHERE id = 1"),
        7
    );
    assert_eq!(
        bed.query_one::<i64>("db.sqlite", "SELECT w FROM t WHERE id = 1"),
        5
    );
}
