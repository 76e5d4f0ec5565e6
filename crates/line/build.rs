//! Embeds every `locales/*.ftl` file and refuses to build when a language lacks a message that
//! the reference language (`en`) has, or has one that `en` lacks: a missing translation is a
//! build failure, never a runtime surprise. Adding a language is adding a file.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// Message identifiers defined at the start of a line (`id =`); terms (`-id`), attributes
/// (indented `.attr`), continuation lines and comments are not messages.
fn message_ids(source: &str) -> BTreeSet<String> {
    source
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('='))
        .map(|(id, _)| id.trim().to_string())
        .collect()
}

fn main() {
    let dir = Path::new("locales");
    println!("cargo::rerun-if-changed=locales");
    let mut files: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(dir).expect("crates/line/locales must exist") {
        let path = entry.expect("readable locales directory").path();
        println!("cargo::rerun-if-changed={}", path.display());
        if path.extension().and_then(|e| e.to_str()) != Some("ftl") {
            continue;
        }
        let code = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name")
            .to_string();
        let source = std::fs::read_to_string(&path).expect("readable .ftl file");
        files.push((code, source));
    }
    files.sort();
    let reference = files
        .iter()
        .find(|(code, _)| code == "en")
        .map(|(_, s)| message_ids(s))
        .expect("locales/en.ftl is the reference language");
    let mut problems = String::new();
    for (code, source) in &files {
        let ids = message_ids(source);
        for missing in reference.difference(&ids) {
            let _ = writeln!(problems, "locales/{code}.ftl lacks message `{missing}`");
        }
        for extra in ids.difference(&reference) {
            let _ = writeln!(
                problems,
                "locales/{code}.ftl has `{extra}` that locales/en.ftl lacks"
            );
        }
    }
    if !problems.is_empty() {
        panic!("incomplete translations:\n{problems}");
    }
    let mut table =
        String::from("/// Every embedded language: (code, Fluent source), sorted by code.\n");
    table.push_str("pub(crate) const LOCALES: &[(&str, &str)] = &[\n");
    for (code, _) in &files {
        let abs = std::fs::canonicalize(dir.join(format!("{code}.ftl"))).expect("path");
        let _ = writeln!(
            table,
            "    ({code:?}, include_str!({:?})),",
            abs.display().to_string()
        );
    }
    table.push_str("];\n");
    let out =
        std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("locales.rs");
    std::fs::write(out, table).expect("write locales.rs");
}
