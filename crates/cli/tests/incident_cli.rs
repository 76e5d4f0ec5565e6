//! Incidents from the command line, against the real binary: the demo files one about its
//! warning and writes its evidence bundle; `deconflict verify` checks the bundle offline and
//! prints the closest approach as its last line, and refuses a changed copy; served again,
//! `incidents list|show --json` show the computed closest approach, `evidence` fetches a new
//! bundle that verifies too, and another party's key, or an unknown incident, is refused.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::{BIN, Server, TempDir};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
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

#[test]
fn the_demo_incident_is_shown_and_its_evidence_verifies_offline() {
    let tmp = TempDir::new("incident-cli");
    let data = tmp.0.join("data");
    let demo = run(&["demo", "--data-dir", s(&data)]);
    assert!(demo.status.success(), "{}", err(&demo));
    let summary = out(&demo);
    assert!(summary.contains("Incident demo-incident-1"), "{summary}");
    let key_hex = summary
        .split("--log-key ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    let bundle = data.join("evidence-demo-incident-1.json");
    let agreement = data.join("agreement.toml");

    // Offline, with the log's and the agreement's keys pinned.
    let v = run(&[
        "verify",
        s(&bundle),
        "--log-key",
        &key_hex,
        "--agreement",
        s(&agreement),
    ]);
    assert!(v.status.success(), "{}{}", out(&v), err(&v));
    let text = out(&v);
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("closest approach: ") && last.contains(" m horizontal, "),
        "{text}"
    );
    let figure: f64 = last["closest approach: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // A changed copy: one digit of one report's latitude.
    let bytes = std::fs::read_to_string(&bundle).unwrap();
    let at = bytes.find(r#"\"lat_deg\":"#).unwrap() + r#"\"lat_deg\":"#.len() + 1;
    let mut changed = bytes.into_bytes();
    changed[at] = if changed[at] == b'1' { b'2' } else { b'1' };
    let bad = tmp.0.join("changed.json");
    std::fs::write(&bad, &changed).unwrap();
    let v = run(&[
        "verify",
        s(&bad),
        "--log-key",
        &key_hex,
        "--agreement",
        s(&agreement),
    ]);
    assert_eq!(v.status.code(), Some(1), "{}", out(&v));
    assert!(err(&v).contains("NOT verified"), "{}", err(&v));
    // Another log key pinned.
    let other = "00".repeat(31) + "01";
    let v = run(&["verify", s(&bundle), "--log-key", &other]);
    assert_ne!(v.status.code(), Some(0), "{}", out(&v));

    // Served again: the incident through the API.
    let server = Server::start(&data);
    let key = |p: &str| data.join("keys").join(format!("{p}.key"));
    let connect = |party: &str| {
        vec![
            "--service".to_string(),
            server.base.clone(),
            "--party".to_string(),
            party.to_string(),
            "--key".to_string(),
            s(&key(party)).to_string(),
        ]
    };
    let cmd = |pre: &[&str], party: &str, rest: &[&str]| {
        let mut args: Vec<String> = pre.iter().map(|a| a.to_string()).collect();
        args.extend(connect(party));
        args.extend(rest.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&refs)
    };
    let o = cmd(
        &["incidents", "show"],
        "russia",
        &["demo-incident-1", "--json"],
    );
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
    let h = v["closest_approach"]["horizontal_m"].as_f64().unwrap();
    assert!((h - figure).abs() < 1.0, "{h} vs {figure}");
    assert!(v["closest_approach"]["vertical_m"].as_f64().is_some());
    assert!(v["closest_approach"]["time_unix_ms"].as_i64().is_some());
    assert_eq!(v["status"], "disputed");
    let o = cmd(&["incidents", "list"], "coalition", &[]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("demo-incident-1"), "{}", out(&o));
    let o = cmd(&["incidents", "show"], "coalition", &["demo-incident-1"]);
    assert!(
        out(&o)
            .lines()
            .last()
            .unwrap()
            .starts_with("closest approach: "),
        "{}",
        out(&o)
    );
    // An unknown incident; a key that is not the party's.
    let o = cmd(&["incidents", "show"], "coalition", &["nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let russia_key = key("russia");
    let wrong = [
        "--service",
        &server.base,
        "--party",
        "coalition",
        "--key",
        s(&russia_key),
    ];
    let mut args = vec!["incidents", "list"];
    args.extend(wrong);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("401"), "{}", err(&o));

    // A fresh bundle from the service verifies too.
    let fresh = tmp.0.join("fresh.json");
    let o = cmd(
        &["evidence", "demo-incident-1"],
        "coalition",
        &["--out", s(&fresh)],
    );
    assert!(o.status.success(), "{}", err(&o));
    let v = run(&[
        "verify",
        s(&fresh),
        "--log-key",
        &key_hex,
        "--agreement",
        s(&agreement),
    ]);
    assert!(v.status.success(), "{}{}", out(&v), err(&v));
    assert_eq!(out(&v).lines().last().unwrap(), last);

    // The same with the sealed fields the demo's openings open (here the service's openings
    // file; a party would give its own, kept with `--keep-openings`): the callsigns the
    // notifications kept sealed are disclosed in the bundle and shown by `verify`.
    let disclosed = tmp.0.join("disclosed.json");
    let o = cmd(
        &["evidence", "demo-incident-1"],
        "coalition",
        &[
            "--out",
            s(&disclosed),
            "--disclose",
            s(&data.join("log-openings.jsonl")),
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("sealed fields of the bundle's entries disclosed"),
        "{}",
        out(&o)
    );
    let verify_disclosed = |file: &Path| {
        run(&[
            "verify",
            s(file),
            "--log-key",
            &key_hex,
            "--agreement",
            s(&agreement),
        ])
    };
    let v = verify_disclosed(&disclosed);
    assert!(v.status.success(), "{}{}", out(&v), err(&v));
    for shown in [
        "(notification by coalition) callsigns = \"VIPER11\"",
        "(notification by russia) callsigns = \"SOKOL22\"",
    ] {
        assert!(out(&v).contains(shown), "{shown}: {}", out(&v));
    }
    assert_eq!(out(&v).lines().last().unwrap(), last);
    // A disclosed value changed, or pointed at a field that is not sealed: refused.
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&disclosed).unwrap()).unwrap();
    let mut changed = bundle.clone();
    let d = &mut changed["disclosed"][0]["opening"]["value"];
    *d = match d.get("int") {
        Some(_) => serde_json::json!({"int": 7}),
        None => serde_json::json!({"text": "VIPER99"}),
    };
    let mut unsealed = bundle.clone();
    unsealed["disclosed"][0]["field"] = serde_json::json!("notification_id_sha256");
    for (bad, says) in [(changed, "disclosed 0"), (unsealed, "disclosed 0")] {
        let file = tmp.0.join("bad-disclosed.json");
        std::fs::write(&file, serde_json::to_vec(&bad).unwrap()).unwrap();
        let v = verify_disclosed(&file);
        assert_eq!(v.status.code(), Some(1), "{}", out(&v));
        assert!(
            format!("{}{}", out(&v), err(&v)).contains(says),
            "{}{}",
            out(&v),
            err(&v)
        );
    }
}
