//! `deconflict tracks push|list` and `deconflict events [--follow]` run as a party's system would
//! run them, against the real binary serving a demo data directory on loopback: reports pushed
//! from a file are live and disclosed to the other party as the agreement says; a bad file is
//! refused line by line with nothing sent; a wrong key or an unknown party is refused; the
//! event stream printed by `--follow` survives the service restarting (resumed with
//! Last-Event-ID, nothing skipped, nothing repeated) and equals the paged listing line for line.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn report_line(party: &str, track: &str, lat: f64, t: i64) -> String {
    format!(
        r#"{{"party":"{party}","report":{{"track_id":"{track}","time_unix_ms":{t},"lat_deg":{lat},"lon_deg":38.6,"alt_m":4000,"track_deg":45,"ground_speed_mps":110,"callsign":"SOKOL{track}"}}}}"#
    )
}

/// The seq of each JSON line.
fn seqs(text: &str) -> Vec<u64> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            v["seq"].as_u64().unwrap()
        })
        .collect()
}

#[test]
fn a_party_pushes_lists_and_follows_its_stream_across_a_restart() {
    let tmp = TempDir::new("party-cli");
    let data = tmp.0.join("data");
    assert!(run(&["demo", "--data-dir", s(&data)]).status.success());
    let mut server = Server::start(&data);
    let base = server.base.clone();
    let key = |p: &str| data.join("keys").join(format!("{p}.key"));
    let (rkey, ckey) = (key("russia"), key("coalition"));
    let who = |party: &str, k: &Path| -> Vec<String> {
        ["--service", &base, "--party", party, "--key", s(k)]
            .map(String::from)
            .to_vec()
    };
    let russia = who("russia", &rkey);
    let coalition = who("coalition", &ckey);
    let cmd = |pre: &[&str], as_party: &[String], rest: &[&str]| -> Output {
        let mut args: Vec<&str> = pre.to_vec();
        args.extend(as_party.iter().map(String::as_str));
        args.extend(rest);
        run(&args)
    };

    // 25 reports in batches of 10: three requests, every report accepted.
    let t = now_ms();
    let file = tmp.0.join("tracks.jsonl");
    let lines: Vec<String> = (0..25)
        .map(|i| report_line("russia", &format!("r{i}"), 35.0 + i as f64 * 0.01, t))
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let o = cmd(
        &["tracks", "push"],
        &russia,
        &["--file", s(&file), "--batch", "10"],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("25 of 25 reports accepted") && out(&o).contains("in 3 batches"),
        "{}",
        out(&o)
    );

    // The same lines as frames of one track stream: every report accepted, numbered after.
    let o = cmd(
        &["tracks", "push"],
        &russia,
        &["--file", s(&file), "--batch", "10", "--stream"],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("25 of 25 reports accepted")
            && out(&o).contains("in 3 frames of one track stream"),
        "{}",
        out(&o)
    );

    // The owner sees its tracks in full; the other party what the agreement discloses.
    let o = cmd(&["tracks", "list"], &russia, &["--json"]);
    assert!(o.status.success(), "{}", err(&o));
    let own: Vec<serde_json::Value> = serde_json::from_str(&out(&o)).unwrap();
    let r7 = own
        .iter()
        .find(|v| v["track_id"] == "r7")
        .expect("r7 listed");
    assert_eq!(r7["callsign"], "SOKOLr7");
    assert_eq!(r7["lat_deg"].as_f64(), Some(35.07));
    let pushed = |v: &&serde_json::Value| {
        v["party"] == "russia" && (0..25).any(|i| v["track_id"] == format!("r{i}").as_str())
    };
    assert_eq!(own.iter().filter(pushed).count(), 25);
    let o = cmd(&["tracks", "list"], &coalition, &["--json"]);
    assert!(o.status.success(), "{}", err(&o));
    let theirs: Vec<serde_json::Value> = serde_json::from_str(&out(&o)).unwrap();
    let seen: Vec<&serde_json::Value> = theirs.iter().filter(pushed).collect();
    assert_eq!(seen.len(), 25, "{theirs:?}");
    assert!(
        seen.iter().all(|v| v.get("callsign").is_none()),
        "the demo agreement does not disclose callsigns: {seen:?}"
    );
    let o = cmd(&["tracks", "list"], &russia, &[]);
    assert!(
        out(&o)
            .lines()
            .any(|l| l.starts_with("russia") && l.contains("r7") && l.contains("SOKOLr7")),
        "{}",
        out(&o)
    );

    // A bad file: every bad line named with its field, nothing sent.
    let bad = tmp.0.join("bad.jsonl");
    std::fs::write(
        &bad,
        [
            report_line("russia", "b1", 35.5, t),
            report_line("coalition", "b2", 35.5, t),
            report_line("russia", "b3", 200.0, t),
            r#"{"party":"russia","report":{"track_id":"b4","lat_deg":35}}"#.to_string(),
        ]
        .join("\n"),
    )
    .unwrap();
    let o = cmd(&["tracks", "push"], &russia, &["--file", s(&bad)]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("line 2: field party"), "{e}");
    assert!(e.contains("line 3: field report.lat_deg"), "{e}");
    assert!(e.contains("line 4: field report."), "{e}");
    assert!(e.contains("nothing was sent"), "{e}");
    let o = cmd(&["tracks", "list"], &russia, &["--json"]);
    assert!(
        !out(&o).contains("\"b1\""),
        "a line of a refused file was sent"
    );

    // Batches that cannot be delivered are each named by their line range, nothing is counted
    // as accepted, and the exit code says the service could not be reached.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let o = cmd(
        &["tracks", "push"],
        &[
            "--service".to_string(),
            nowhere,
            "--party".into(),
            "russia".into(),
            "--key".into(),
            s(&rkey).into(),
        ],
        &["--file", s(&file), "--batch", "10"],
    );
    assert_eq!(o.status.code(), Some(2), "{}{}", out(&o), err(&o));
    for range in [
        "lines 1–10 (10 reports)",
        "lines 11–20 (10 reports)",
        "lines 21–25 (5 reports)",
    ] {
        assert!(
            err(&o).contains(&format!("{range} NOT accepted")),
            "{}",
            err(&o)
        );
    }
    assert!(out(&o).contains("0 of 25 reports accepted"), "{}", out(&o));

    // Wrong key, unknown party: refused by the service, exit 1, its code printed.
    let o = cmd(
        &["tracks", "push"],
        &who("russia", &ckey),
        &["--file", s(&file)],
    );
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("HTTP 401"), "{}", err(&o));
    let o = cmd(
        &["tracks", "push"],
        &who("russia", &ckey),
        &["--file", s(&file), "--stream"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains("HTTP 401") && err(&o).contains("signature_invalid"),
        "{}",
        err(&o)
    );
    let o = cmd(&["tracks", "list"], &who("nobody", &rkey), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("401"), "{}", err(&o));
    let o = cmd(&["events"], &who("russia", &ckey), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("401"), "{}", err(&o));
    let o = cmd(&["events"], &who("russia", &ckey), &["--follow"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));

    // The stream: follow it, restart the service under it, and compare with the listing.
    let o = cmd(&["events"], &russia, &[]);
    assert!(o.status.success(), "{}", err(&o));
    let before = seqs(&out(&o));
    assert!(!before.is_empty(), "the demo leaves events on the stream");
    let mut args: Vec<String> = vec!["events".into()];
    args.extend(russia.clone());
    args.push("--follow".into());
    let mut follower = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut followed: Vec<String> = Vec::new();
    let wait_for = |followed: &mut Vec<String>, n: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while followed.len() < n && Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                followed.push(l);
            }
        }
    };
    wait_for(&mut followed, before.len());
    assert_eq!(seqs(&followed.join("\n")), before);

    let agreement = data.join("agreement.toml");
    let notify = |base: &str, id: &str| {
        let mut a: Vec<String> = vec!["notifications".into(), "create".into()];
        a.extend(["--service", base, "--party", "coalition", "--key", s(&ckey)].map(String::from));
        a.extend(
            [
                "--agreement",
                s(&agreement),
                id,
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
            ]
            .map(String::from),
        );
        let o = Command::new(BIN).args(&a).output().unwrap();
        assert!(o.status.success(), "{}", err(&o));
    };
    notify(&base, "c-follow-1");
    wait_for(&mut followed, before.len() + 1);
    assert!(followed.len() > before.len(), "no event followed live");

    // The service stops: the stream drops; it comes back on the same address.
    server.stop();
    let listen = base.trim_start_matches("http://").to_string();
    std::thread::sleep(Duration::from_millis(500));
    let mut server = Server::start_on(&data, &listen);
    assert_eq!(server.base, base);
    notify(&base, "c-follow-2");
    let o = cmd(&["events"], &russia, &[]);
    let all = out(&o);
    let total = all.lines().count();
    wait_for(&mut followed, total);
    let _ = follower.kill();
    let _ = follower.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut follower.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("event stream dropped") && stderr.contains("resuming after"),
        "{stderr}"
    );
    assert_eq!(
        followed.join("\n"),
        all.trim_end(),
        "followed lines differ from the listing"
    );
    let got = seqs(&all);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");

    // --after: only what follows.
    let last_before = *before.last().unwrap();
    let o = cmd(&["events"], &russia, &["--after", &last_before.to_string()]);
    assert!(seqs(&out(&o)).iter().all(|s| *s > last_before));
    assert_eq!(out(&o).lines().count(), total - before.len());
    server.stop();
}
