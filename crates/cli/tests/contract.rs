//! What the README promises of every command, tried on the real binary as a new user would:
//! one error path (`deconflict: error: …` printed once, exit 1 for a reported failure, 2 for a
//! usage error, clap's own errors included), a closed standard output ending a command quietly,
//! RFC 3339 times at any precision rounded outward, and `--data-dir` meaning the service's data
//! directory in every command.

use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;

use common::{BIN, TempDir};

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The command fails with `code`, printing `deconflict: error: …` exactly once and first, with
/// `needle` in its message exactly once. Returns stderr.
fn fails(args: &[&str], code: i32, needle: &str) -> String {
    let o = run(args);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {e}");
    assert!(e.starts_with("deconflict: error: "), "{args:?}: {e}");
    assert_eq!(e.matches("deconflict: error:").count(), 1, "{args:?}: {e}");
    assert!(!e.contains("\nerror:"), "{args:?}: {e}");
    // The message itself (clap's usage lines after a blank line may repeat a flag's name).
    let message = e.split("\n\n").next().unwrap_or_default();
    assert_eq!(
        message.matches(needle).count(),
        1,
        "{args:?}: {needle:?} in {e}"
    );
    assert!(!e.contains("panicked"), "{args:?}: {e}");
    e
}

#[test]
fn usage_errors_exit_2_with_the_one_prefix_clap_included() {
    fails(&["--no-such-flag"], 2, "--no-such-flag");
    fails(&["no-such-command"], 2, "no-such-command");
    fails(&["line"], 2, "a subcommand is required");
    fails(&["probe"], 2, "--tracks");
    // A flag that needs another, and a command without its source: usage errors, not failures.
    fails(&["verify", "x.export", "--log-key", "00"], 2, "--agreement");
    fails(&["ingest", "--format", "beast"], 2, "--file");
    fails(
        &[
            "tracks",
            "push",
            "--service",
            "http://127.0.0.1:9",
            "--party",
            "p",
            "--key",
            "k",
            "--file",
            "f",
            "--batch",
            "0",
        ],
        2,
        "--batch",
    );
    // A service that cannot be reached is exit 2 too, under the same prefix.
    let tmp = TempDir::new("contract-connect");
    let key = tmp.0.join("p");
    assert!(run(&["keygen", "--out", s(&key)]).status.success());
    let key = tmp.0.join("p.key");
    fails(
        &[
            "line",
            "pending",
            "--service",
            "http://127.0.0.1:9",
            "--party",
            "p",
            "--key",
            s(&key),
        ],
        2,
        "cannot reach the service",
    );
    // Help and version are not errors.
    for args in [
        &["--help"][..],
        &["--version"],
        &["line", "simulate", "--help"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        assert!(!out(&o).is_empty() && err(&o).is_empty(), "{args:?}");
    }
}

#[test]
fn a_reported_failure_exits_1_and_says_each_thing_once() {
    let tmp = TempDir::new("contract-errors");
    let missing = tmp.0.join("missing");
    fails(&["verify", s(&missing)], 1, "No such file or directory");
    fails(
        &[
            "serve",
            "--data-dir",
            s(&missing),
            "--listen",
            "127.0.0.1:0",
        ],
        1,
        "No such file or directory",
    );
    fails(
        &["keygen", "--out", s(&missing.join("k"))],
        1,
        "No such file or directory",
    );
    fails(&["demo", "--data-dir", BIN], 1, BIN);
    // A port in use, and TLS files that are not there, on a data directory that is fine.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().to_string();
    let demo = tmp.0.join("demo");
    assert!(run(&["demo", "--data-dir", s(&demo)]).status.success());
    fails(
        &["serve", "--data-dir", s(&demo), "--listen", &port],
        1,
        "in use",
    );
    fails(
        &[
            "serve",
            "--data-dir",
            s(&demo),
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            s(&missing),
            "--tls-key",
            s(&missing),
        ],
        1,
        "No such file or directory",
    );
    // An agreement that is rejected: a failure named once (exit 1), not a usage error.
    let bad = tmp.0.join("bad.toml");
    std::fs::write(&bad, "title = 3\n").unwrap();
    fails(&["agreement", "check", s(&bad)], 1, "bad.toml");
}

/// Runs the command with a standard output whose reader is already gone.
fn with_closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_every_kind_of_output_quietly() {
    let tmp = TempDir::new("contract-pipe");
    let agreement = tmp.0.join("a.toml");
    assert!(
        run(&["agreement", "init", "--out", s(&agreement)])
            .status
            .success()
    );
    let geojson = tmp.0.join("n.geojson");
    std::fs::write(
        &geojson,
        volumes("2017-04-12T10:00:00Z", "2017-04-12T10:00:00Z"),
    )
    .unwrap();
    for args in [
        &["line", "simulate"][..],
        &["line", "catalogue", "--json"],
        &["agreement", "check", s(&agreement)],
        &["agreement", "canonical", s(&agreement)],
        &[
            "notifications",
            "check",
            "--existing",
            s(&geojson),
            s(&geojson),
        ],
        &["--help"],
    ] {
        for _ in 0..3 {
            let o = with_closed_stdout(args);
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
            assert_eq!(err(&o), "", "{args:?}");
        }
    }
}

/// Two notifications of different parties: A ends at `a_end`, B starts at `b_start`, both over
/// the same circle and band.
fn volumes(a_end: &str, b_start: &str) -> String {
    let feature = |id: &str, party: &str, start: &str, end: &str| {
        format!(
            r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[38.9,35.2]}},
"properties":{{"id":"{id}","party":"{party}","radius_m":5000,"alt_lower_m":0,"alt_upper_m":3000,
"start":"{start}","end":"{end}"}}}}"#
        )
    };
    format!(
        r#"{{"type":"FeatureCollection","features":[{},{}]}}"#,
        feature("A", "red", "2017-04-12T09:00:00Z", a_end),
        feature("B", "blue", b_start, "2017-04-12T12:00:00Z"),
    )
}

#[test]
fn rfc_3339_times_at_any_precision_are_read_and_rounded_outward() {
    let tmp = TempDir::new("contract-times");
    let check = |a_end: &str, b_start: &str| -> String {
        let f = tmp.0.join("n.geojson");
        std::fs::write(&f, volumes(a_end, b_start)).unwrap();
        let o = run(&["notifications", "check", "--existing", s(&f), s(&f)]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        out(&o)
    };
    // What Python's isoformat() writes is accepted.
    let conflicts = check(
        "2017-04-12T10:51:50.203031Z",
        "2017-04-12T10:51:50.2035+00:00",
    );
    // A's end is rounded up to .204, B's start down to .203: the windows are kept whole, so
    // they overlap by the part of a millisecond each was widened by.
    assert!(
        conflicts.contains(r#"{"new":"A","existing":"B"}"#),
        "{conflicts}"
    );
    // B starting at .2041 (down to .204) no longer overlaps A ending at .203031 (up to .204).
    assert_eq!(
        check("2017-04-12T10:51:50.203031Z", "2017-04-12T10:51:50.2041Z"),
        ""
    );
    // The same parser reads TIME flags, refusing what is not RFC 3339 with the text itself.
    fails(
        &[
            "notifications",
            "create",
            "--service",
            "http://127.0.0.1:9",
            "--party",
            "p",
            "--key",
            "k",
            "--agreement",
            "a",
            "N-1",
            "--lat",
            "1",
            "--lon",
            "1",
            "--radius-m",
            "10",
            "--floor-m",
            "0",
            "--ceiling-m",
            "10",
            "--start",
            "2017-04-12T10:51:50.203031Z",
            "--end",
            "2017-04-12X10:51:50Z",
        ],
        2,
        "is not an RFC 3339 time",
    );
}

#[test]
fn data_dir_is_the_services_data_directory_in_every_command() {
    let tmp = TempDir::new("contract-datadir");
    let data = tmp.0.join("data");
    let o = run(&["demo", "--data-dir", s(&data)]);
    assert!(o.status.success(), "{}", err(&o));
    // The demo's own hint, run as printed: export with the same DIR, then verify.
    let hint = out(&o)
        .lines()
        .find_map(|l| l.strip_prefix("Check its record: ").map(str::to_string))
        .expect("the demo prints how to check its record");
    for step in hint.split(" && ") {
        let words: Vec<&str> = step.split_whitespace().collect();
        assert_eq!(words[0], "deconflict", "{step}");
        let o = Command::new(BIN)
            .args(&words[1..])
            .current_dir(&tmp.0)
            .output()
            .unwrap();
        assert!(o.status.success(), "{step}: {}", err(&o));
    }
    let export = tmp.0.join("x.export");
    for sub in [
        &["log", "export", "--out", s(&export)][..],
        &["log", "tree-head"],
        &["log", "proof", "--index", "0"],
        &["log", "recover"],
        &["report", "--out", s(&tmp.0.join("r.html"))],
    ] {
        let with = |dir: &Path| -> Vec<String> {
            let mut v: Vec<String> = sub.iter().map(|a| a.to_string()).collect();
            v.extend(["--data-dir".to_string(), s(dir).to_string()]);
            v
        };
        let args = with(&data);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", err(&o));
        // The log file directory inside is refused, saying which directory to pass.
        let args = with(&data.join("log"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = fails(&args, 2, "pass the data directory itself");
        assert!(e.contains(&format!("--data-dir {}\n", s(&data))), "{e}");
    }
}

#[test]
fn a_notification_built_from_a_stale_copy_of_the_agreement_is_refused_with_both_ids() {
    let tmp = TempDir::new("contract-stale");
    let data = tmp.0.join("data");
    assert!(run(&["demo", "--data-dir", s(&data)]).status.success());
    let current = std::fs::read_to_string(data.join("agreement.toml")).unwrap();
    // The party's copy differs only in its title: same parties, keys and disclosure rules.
    let stale = tmp.0.join("old.toml");
    std::fs::write(
        &stale,
        current.replacen("title = \"", "title = \"Draft of the ", 1),
    )
    .unwrap();
    let id = |f: &Path| -> String {
        let o = run(&["agreement", "check", s(f)]);
        assert!(o.status.success(), "{}", err(&o));
        out(&o)
            .split_whitespace()
            .find(|w| w.starts_with("sha256:"))
            .unwrap()
            .to_string()
    };
    let (current_id, stale_id) = (id(&data.join("agreement.toml")), id(&stale));
    assert_ne!(current_id, stale_id);
    let server = common::Server::start(&data);
    let key = data.join("keys/russia.key");
    let create = |agreement: &Path, nid: &str| {
        run(&[
            "notifications",
            "create",
            "--service",
            &server.base,
            "--party",
            "russia",
            "--key",
            s(&key),
            "--agreement",
            s(agreement),
            nid,
            "--lat",
            "35.2",
            "--lon",
            "38.9",
            "--radius-nm",
            "5",
            "--floor-ft",
            "10000",
            "--ceiling-ft",
            "20000",
            "--start",
            "now+1h",
            "--end",
            "now+2h",
        ])
    };
    let e = fails(
        &[
            "notifications",
            "create",
            "--service",
            &server.base,
            "--party",
            "russia",
            "--key",
            s(&key),
            "--agreement",
            s(&stale),
            "stale-1",
            "--lat",
            "35.2",
            "--lon",
            "38.9",
            "--radius-nm",
            "5",
            "--floor-ft",
            "10000",
            "--ceiling-ft",
            "20000",
            "--start",
            "now+1h",
            "--end",
            "now+2h",
        ],
        1,
        "wrong_agreement",
    );
    assert!(
        e.contains(&current_id) && e.contains(&stale_id),
        "both ids: {e}"
    );
    // Nothing was stored; the party's current copy works.
    let o = create(&data.join("agreement.toml"), "fresh-1");
    assert!(o.status.success(), "{}", err(&o));
    let o = run(&[
        "notifications",
        "list",
        "--service",
        &server.base,
        "--party",
        "russia",
        "--key",
        s(&key),
    ]);
    assert!(
        out(&o).contains("fresh-1") && !out(&o).contains("stale-1"),
        "{}",
        out(&o)
    );
}

#[test]
fn a_feed_read_in_the_wrong_format_says_which_format_the_bytes_look_like() {
    let avr = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../feeds/testdata/adsb_deku_lax_messages_avr.txt.gz"
    );
    let o = run(&["ingest", "--format", "beast", "--file", avr]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let e = err(&o);
    assert_eq!(
        e.matches("the bytes look like avr (--format avr)").count(),
        1,
        "{e}"
    );
    // Read as what it is, no warning.
    let o = run(&["ingest", "--format", "avr", "--file", avr]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(!err(&o).contains("warning"), "{}", err(&o));
}

#[test]
fn line_simulate_reads_times_in_utc_unless_told_otherwise() {
    let o = run(&["line", "simulate", "--lang", "en"]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    assert!(!text.contains("+03:00"), "{}", &text[..text.len().min(300)]);
    let o = run(&["line", "simulate", "--lang", "en", "--utc-offset", "+03:00"]);
    assert!(out(&o).contains("+03:00"));
}

/// The top-level help names each group's subcommands as they are: every name it lists exists,
/// and every subcommand is listed.
#[test]
fn top_level_help_lists_the_real_subcommands() {
    let top = out(&run(&["--help"]));
    for group in ["agreement", "log"] {
        let line = top
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{group} ")))
            .unwrap_or_else(|| panic!("{group} missing from:\n{top}"));
        let listed: Vec<String> = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("no list in {line:?}"))
            .1
            .split(',')
            .map(|w| w.trim().trim_end_matches('.').to_string())
            .collect();
        let help = out(&run(&[group, "--help"]));
        let real: Vec<String> = help
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| *w != "help")
            .map(str::to_string)
            .collect();
        assert_eq!(
            listed, real,
            "{group}: the top-level help against `{group} --help`"
        );
    }
}

/// Defaults shown in help are the same on every machine: no absolute path of the build.
#[test]
fn bench_ingest_help_shows_no_build_machine_path() {
    let o = run(&["bench", "ingest", "--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let help = out(&o);
    assert!(help.contains("crates/feeds/testdata/"), "{help}");
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(!help.contains(root), "{help}");
    assert!(!help.contains("/../"), "{help}");
}
