//! `deconflict notifications create|update|withdraw|list|show` against the real binary serving
//! a demo data directory on loopback, run as a duty officer would: a notification is accepted
//! and its strategic overlap flagged; the other party sees only what the agreement discloses;
//! bad flags exit 2 naming the flag with nothing sent, refusals exit 1 with the service's code;
//! the record holds each write signed by the party, and the openings the party kept open its
//! commitments with `deconflict log open`.

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
fn a_duty_officer_notifies_updates_and_withdraws_from_the_command_line() {
    let tmp = TempDir::new("notifications-cli");
    let data = tmp.0.join("data");
    assert!(run(&["demo", "--data-dir", s(&data)]).status.success());
    let mut server = Server::start(&data);
    let agreement = data.join("agreement.toml");
    let key = |p: &str| data.join("keys").join(format!("{p}.key"));
    let (rkey, ckey) = (key("russia"), key("coalition"));
    let as_party = |party: &'static str, k: &Path| -> Vec<String> {
        ["--service", &server.base, "--party", party, "--key", s(k)]
            .map(String::from)
            .to_vec()
    };
    let russia = as_party("russia", &rkey);
    let coalition = as_party("coalition", &ckey);
    let cmd = |sub: &str, who: &[String], rest: &[&str]| -> Output {
        let mut args: Vec<&str> = vec!["notifications", sub];
        args.extend(who.iter().map(String::as_str));
        args.extend(rest);
        run(&args)
    };
    let openings = tmp.0.join("russia-openings.jsonl");
    let area = [
        "--lat",
        "35.2",
        "--lon",
        "38.9",
        "--radius-nm",
        "10",
        "--floor-ft",
        "10000",
        "--ceiling-ft",
        "20000",
        "--start",
        "now+1h",
        "--end",
        "now+3h",
    ];
    let mut create: Vec<&str> = vec!["--agreement", s(&agreement), "r-x"];
    create.extend(area);
    create.extend([
        "--callsign",
        "SOKOL31",
        "--remarks",
        "escort",
        "--keep-openings",
        s(&openings),
    ]);
    let o = cmd("create", &russia, &create);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("notification r-x revision 1 active"),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("no overlap"), "{}", out(&o));

    // The coalition notifies the same airspace: the overlap is answered at once.
    let mut overlap: Vec<&str> = vec!["--agreement", s(&agreement), "c-x"];
    overlap.extend(area);
    let o = cmd("create", &coalition, &overlap);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("OVERLAP with r-x of russia"),
        "{}",
        out(&o)
    );

    // Disclosure: the coalition sees the area, band and window, not the callsign or remarks.
    let o = cmd("show", &coalition, &["r-x"]);
    assert!(o.status.success(), "{}", err(&o));
    let theirs: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert!(
        theirs.get("callsigns").is_none() && theirs.get("remarks").is_none(),
        "{theirs}"
    );
    assert_eq!(theirs["alt_min_m"].as_f64(), Some(3048.0));
    let o = cmd("show", &russia, &["r-x"]);
    assert!(out(&o).contains("SOKOL31"), "{}", out(&o));
    let o = cmd("list", &coalition, &[]);
    assert!(
        out(&o)
            .lines()
            .any(|l| l.starts_with("r-x") && l.contains("18.5 km circle")),
        "{}",
        out(&o)
    );

    // Bad flags: exit 2, the flag named, nothing sent.
    for (bad, flag) in [
        (vec!["--lat", "95"], "--lat"),
        (vec!["--end", "now"], "--end"),
        (vec!["--floor-ft", "40000"], "--ceiling"),
    ] {
        let mut args: Vec<&str> = vec!["--agreement", s(&agreement), "r-y"];
        let mut a = area.to_vec();
        for pair in bad.chunks(2) {
            let at = a.iter().position(|x| *x == pair[0]).unwrap();
            a[at + 1] = pair[1];
        }
        args.extend(a);
        let o = cmd("create", &russia, &args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", err(&o));
        assert!(
            err(&o).contains(flag) && err(&o).contains("nothing was sent"),
            "{}",
            err(&o)
        );
    }
    let o = cmd("show", &russia, &["r-y"]);
    assert_eq!(o.status.code(), Some(1), "r-y was never sent: {}", out(&o));
    let o = cmd("show", &russia, &["r/y"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("ID: may contain only"), "{}", err(&o));

    // A stale revision: refused by the service, exit 1, its code shown.
    let mut update: Vec<&str> = vec!["--revision", "2", "--agreement", s(&agreement), "r-x"];
    update.extend(area);
    let o = cmd("update", &russia, &update);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("revision_conflict"), "{}", err(&o));
    update[1] = "1";
    update.extend([
        "--remarks",
        "escort, two ship",
        "--keep-openings",
        s(&openings),
    ]);
    let o = cmd("update", &russia, &update);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("revision 2 active (updated)"),
        "{}",
        out(&o)
    );
    let o = cmd("withdraw", &russia, &["r-x", "--revision", "2"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("withdrawn"), "{}", out(&o));
    let o = cmd("withdraw", &russia, &["r-x", "--revision", "3"]);
    assert_eq!(o.status.code(), Some(1));

    // The record: each write is russia's own entry, and its kept openings open them.
    server.stop();
    let export = tmp.0.join("log.export");
    assert!(
        run(&["log", "export", "--data-dir", s(&data), "--out", s(&export)])
            .status
            .success()
    );
    let log_key = std::fs::read_to_string(data.join("keys/service.pub")).unwrap();
    let o = run(&[
        "verify",
        s(&export),
        "--agreement",
        s(&agreement),
        "--log-key",
        log_key.trim().trim_start_matches("ed25519:"),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    // The demo's four, then create, create, update and withdrawal here: each by a party.
    assert!(
        out(&o).contains("notifications and withdrawals: 8, each by a party"),
        "{}",
        out(&o)
    );
    let text = std::fs::read_to_string(&export).unwrap();
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""notification_id":"r-x""#))
        .collect();
    assert_eq!(ours.len(), 3, "create, update, withdrawal");
    assert!(ours.iter().all(|l| l.contains(r#""author":"russia""#)));
    let o = run(&[
        "log",
        "open",
        s(&export),
        "--openings",
        s(&openings),
        "--json",
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let opened: Vec<serde_json::Value> = out(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["subject"] == "r-x")
        .collect();
    let values: Vec<String> = opened.iter().map(|v| v["value"].to_string()).collect();
    assert_eq!(
        values,
        [
            r#"{"text":"SOKOL31"}"#,
            r#"{"text":"escort"}"#,
            // The update gives every field again, and names no callsign.
            r#"{"text":"escort, two ship"}"#
        ],
        "{opened:?}"
    );
}
