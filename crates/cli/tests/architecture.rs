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

// ---- module layers inside each crate -----------------------------------------------------------

/// `text` without comments and string contents, so a path in a doc comment or a message is not
/// an import.
fn strip_comments_and_strings(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'"' {
            // Raw strings (r"…", r#"…"#) are rare in paths of interest; an ordinary string ends
            // at the first unescaped quote.
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal such as '{' or '\n' (a lifetime has no closing quote here).
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            let ch = text[i..].chars().next().expect("inside the text");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// `code` without the bodies of `#[cfg(test)]` items (a test module may reach anywhere).
fn strip_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // The item ends at `;` (`mod tests;`) or at the brace closing its first `{`.
        let semi = after.find(';');
        let open = after.find('{');
        match (semi, open) {
            (Some(s), Some(o)) if s < o => rest = &after[s + 1..],
            (Some(s), None) => rest = &after[s + 1..],
            (_, Some(o)) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (i, c) in after[o..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &after[end..];
            }
            (None, None) => rest = "",
        }
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The top-level modules `code` names through `crate::`: `crate::a::…` and each first segment
/// of `crate::{a, b::c, …}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(is_ident) {
            continue; // `deconflict_crate::` or the like
        }
        let rest_trim = rest.trim_start();
        if let Some(group) = rest_trim.strip_prefix('{') {
            let mut depth = 1usize;
            let mut expect_name = true;
            let mut name = String::new();
            for c in group.chars() {
                if depth == 1 && expect_name && !name.is_empty() && !is_ident(c) {
                    found.insert(std::mem::take(&mut name));
                    expect_name = false;
                }
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => expect_name = true,
                    c if depth == 1 && expect_name && is_ident(c) => name.push(c),
                    _ => {}
                }
            }
            if !name.is_empty() {
                found.insert(name);
            }
        } else {
            let name: String = rest_trim.chars().take_while(|&c| is_ident(c)).collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn rust_files(dir: &Path, into: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, into);
        } else if p.extension().is_some_and(|x| x == "rs") {
            into.push(p);
        }
    }
}

/// One crate's top-level modules and the top-level modules each names through `crate::`,
/// outside tests (`#[cfg(test)]` items, `tests.rs` files, `tests/` directories).
fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let parts: Vec<String> = rel
            .with_extension("")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.iter().any(|p| p == "tests") || parts.iter().any(|p| p == "bin") {
            continue;
        }
        let top = parts[0].clone();
        if parts.len() == 1 && (top == "lib" || top == "main") {
            continue; // the crate root: it declares the modules, it is not one of them
        }
        let text = std::fs::read_to_string(&file).expect("source is readable");
        let code = strip_test_items(&strip_comments_and_strings(&text));
        let named = crate_paths(&code);
        graph
            .entry(top.clone())
            .or_default()
            .extend(named.into_iter().filter(|m| *m != top));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    graph
}

/// The strongly connected components of more than one module (Tarjan), each sorted.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(w: &mut Walk<'g>, v: &'g str) {
        let i = w.index.len();
        w.index.insert(v, i);
        w.low.insert(v, i);
        w.stack.push(v);
        w.on_stack.insert(v);
        for d in &w.graph[v] {
            let d = d.as_str();
            if !w.index.contains_key(d) {
                visit(w, d);
                let l = w.low[v].min(w.low[d]);
                w.low.insert(v, l);
            } else if w.on_stack.contains(d) {
                let l = w.low[v].min(w.index[d]);
                w.low.insert(v, l);
            }
        }
        if w.low[v] == w.index[v] {
            let mut comp = Vec::new();
            loop {
                let x = w.stack.pop().expect("v is on the stack");
                w.on_stack.remove(x);
                comp.push(x.to_string());
                if x == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                w.found.push(comp);
            }
        }
    }
    let mut w = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !w.index.contains_key(v.as_str()) {
            visit(&mut w, v);
        }
    }
    w.found.sort();
    w.found
}

/// How a cycle's modules name each other, for the failure message.
fn describe(graph: &Graph, cycle: &[String]) -> String {
    cycle
        .iter()
        .map(|m| {
            let inside: Vec<&str> = graph[m]
                .iter()
                .filter(|d| cycle.contains(d))
                .map(String::as_str)
                .collect();
            format!("  {m} → {}", inside.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_top_level_modules_of_each_crate_form_no_cycle() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs: Vec<_> = std::fs::read_dir(&crates)
        .expect("crates/ is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.join("src").is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() > 10, "found only {} crates", dirs.len());
    let mut wrong = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .expect("crate directory")
            .to_string_lossy()
            .into_owned();
        let graph = module_graph(&dir.join("src"));
        for cycle in cycles(&graph) {
            wrong.push(format!(
                "crates/{name}: the modules {} import each other in a loop:\n{}",
                cycle.join(", "),
                describe(&graph, &cycle)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_crate_path_in_a_comment_a_string_or_a_test_is_not_an_import() {
    let code = strip_test_items(&strip_comments_and_strings(
        "use crate::{a, b::{c, d}, e::f};\n// crate::g\n/* crate::h */\nlet s = \"crate::i\";\n\
         fn x() { crate::j::k(); }\n#[cfg(test)]\nmod tests { use crate::l; }\n#[cfg(test)]\nmod more;\n",
    ));
    let found: Vec<String> = crate_paths(&code).into_iter().collect();
    assert_eq!(found, ["a", "b", "e", "j"]);
}

#[test]
fn a_loop_of_three_modules_is_one_cycle() {
    let mut g = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        g.entry(from.to_string())
            .or_default()
            .insert(to.to_string());
        g.entry(to.to_string()).or_default();
    }
    assert_eq!(cycles(&g), [vec!["a".to_string(), "b".into(), "c".into()]]);
}
