//! ARCHITECTURE.md's crate graph is the workspace's: every dependency between the workspace's
//! crates (normal dependencies, as `cargo metadata` reports them) is drawn there, and every arrow
//! drawn there exists. A crate that gains or loses an arrow fails this test until the document
//! says so.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The short name the document uses: the package name without `deconflict-`; the binary's
/// package (`deconflict`) is `cli`.
fn short(name: &str) -> Option<String> {
    if name == "deconflict" {
        return Some("cli".to_string());
    }
    name.strip_prefix("deconflict-").map(str::to_string)
}

fn from_cargo() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let mut graph = Graph::new();
    for p in meta["packages"].as_array().expect("packages") {
        let Some(from) = short(p["name"].as_str().expect("name")) else {
            continue;
        };
        let to = graph.entry(from).or_default();
        for d in p["dependencies"].as_array().expect("dependencies") {
            // Normal dependencies only: `kind` is null for them, "dev" or "build" otherwise.
            if !d["kind"].is_null() {
                continue;
            }
            if let Some(name) = short(d["name"].as_str().expect("dependency name")) {
                to.insert(name);
            }
        }
    }
    graph
}

/// The fenced block after the `Crate graph` heading: one line per crate, `from → a, b, c`
/// (`from →` alone for a crate that depends on no other).
fn from_document() -> Graph {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).expect("ARCHITECTURE.md is readable");
    let after = text
        .split_once("### Crate graph")
        .expect("ARCHITECTURE.md has a `### Crate graph` section")
        .1;
    let block = after
        .split_once("```text\n")
        .expect("the crate graph section has a ```text block")
        .1
        .split_once("```")
        .expect("the crate graph block is closed")
        .0;
    let mut graph = Graph::new();
    for (i, line) in block.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (from, to) = line
            .split_once('→')
            .unwrap_or_else(|| panic!("crate graph line {}: no arrow in {line:?}", i + 1));
        let from = from.trim().to_string();
        let to: BTreeSet<String> = to
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        assert!(
            graph.insert(from.clone(), to).is_none(),
            "crate graph: {from} drawn twice"
        );
    }
    graph
}

#[test]
fn the_documented_crate_graph_is_the_workspace_graph() {
    let code = from_cargo();
    let doc = from_document();
    let mut wrong = Vec::new();
    for (from, deps) in &code {
        let drawn = doc.get(from);
        if drawn.is_none() {
            wrong.push(format!("crate {from} is not drawn"));
        }
        for d in deps {
            if !drawn.is_some_and(|s| s.contains(d)) {
                wrong.push(format!("{from} → {d} exists but is not drawn"));
            }
        }
    }
    for (from, deps) in &doc {
        for d in deps {
            if !code.get(from).is_some_and(|s| s.contains(d)) {
                wrong.push(format!("{from} → {d} is drawn but does not exist"));
            }
        }
        if !code.contains_key(from) {
            wrong.push(format!("{from} is drawn but is not a workspace crate"));
        }
    }
    assert!(
        wrong.is_empty(),
        "ARCHITECTURE.md's crate graph is wrong:\n{}",
        wrong.join("\n")
    );
}
