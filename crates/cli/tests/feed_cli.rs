//! `deconflict serve --feed`: receivers into the service, run as an operator would run them,
//! against the real binary on loopback.
//!
//! - A live SBS feed (a TCP server here writing BaseStation lines for one aircraft) and the
//!   same party's pushes: `tracks list` shows one track for the aircraft with both sources; a
//!   pushed track entering the al-Tanf zone (closed to that party) puts a `geography` event on
//!   both parties' streams. The feed's first connection sends garbage and malformed lines and
//!   is dropped: the service counts them, reconnects, and goes on.
//! - A pushed feed (`listen:`) fed random bytes: counted, never a crash.
//! - Bad `--feed` values are usage errors (exit 2) naming the wrong part.
//! - A real dump1090-mutability: the service reads its Beast output and the aircraft become
//!   the party's tracks. If the program is not installed the test says so and passes, unless
//!   `DECONFLICT_REQUIRE_PEERS=1`, where it fails.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::{BIN, TempDir};

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `deconflict serve` with extra arguments, stopped (SIGTERM, then SIGKILL) on drop.
struct Serve {
    child: Child,
    base: String,
}

impl Serve {
    fn start(data: &Path, extra: &[&str]) -> Serve {
        let mut child = Command::new(BIN)
            .args(["serve", "--data-dir", s(data), "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Serve { child, base }
    }

    /// `GET path`, unauthenticated (`/metrics`, `/health`): the body.
    fn get(&self, path: &str) -> String {
        let addr = self.base.trim_start_matches("http://");
        let mut c = TcpStream::connect(addr).unwrap();
        write!(
            c,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        c.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{path}: {text}");
        text.split_once("\r\n\r\n").map_or("", |x| x.1).to_string()
    }

    /// The value of one sample of `/metrics`: `name{party="P",feed="F"}`.
    fn metric(&self, name: &str, party: &str, feed: &str) -> u64 {
        let want = format!("{name}{{party=\"{party}\",feed=\"{feed}\"}} ");
        let text = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(&want))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it holds or `within` passes.
fn eventually(within: Duration, what: &str, mut f: impl FnMut() -> Option<String>) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(200));
    }
}

fn demo_data(tmp: &TempDir) -> std::path::PathBuf {
    let data = tmp.0.join("data");
    let o = run(&["demo", "--data-dir", s(&data)]);
    assert!(o.status.success(), "{}", err(&o));
    data
}

const ICAO: &str = "155A01";
/// Where the received aircraft flies: 100 km north-west of al-Tanf, away from the Euphrates.
const LAT: f64 = 34.0;
const LON: f64 = 37.8;

/// SBS lines for the aircraft `elapsed_s` after it started: west at 120 kt, level at 12,000 ft.
fn sbs_lines(elapsed_s: f64) -> String {
    let gs_kt = 120.0;
    let m = elapsed_s * gs_kt * 1852.0 / 3600.0;
    let lon = LON - m / (111_320.0 * LAT.to_radians().cos());
    format!(
        "MSG,4,,,{ICAO},,,,,,,,{gs_kt},270,,,0,,,,,0\r\nMSG,3,,,{ICAO},,,,,,,12000,,,{LAT:.5},{lon:.5},,,0,0,0,0\r\n"
    )
}

#[test]
fn a_live_sbs_feed_and_a_partys_pushes_fuse_and_al_tanf_is_seen_by_both() {
    let tmp = TempDir::new("feed-cli");
    let data = demo_data(&tmp);
    let key = |p: &str| data.join("keys").join(format!("{p}.key"));

    // The receiver: its first connection is garbage, malformed lines, then a drop; the second
    // is the aircraft, once the party's push is in.
    let sbs = TcpListener::bind("127.0.0.1:0").unwrap();
    let sbs_port = sbs.local_addr().unwrap().port();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let receiver = thread::spawn(move || {
        let (mut first, _) = sbs.accept().unwrap();
        let garbage: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect();
        first.write_all(&garbage).unwrap();
        first
            .write_all(b"\nMSG,3,,,ZZZZZZ,,,,,,,abc,,,x,y,,,0,0,0,0\nMSG,99,1\nSTA,,,\n")
            .unwrap();
        first.write_all(&[b'M'; 2000]).unwrap();
        first.write_all(b"\n").unwrap();
        drop(first);
        go_rx.recv().unwrap();
        let (mut second, _) = sbs.accept().unwrap();
        let started = Instant::now();
        while !stop2.load(Ordering::SeqCst) {
            if second
                .write_all(sbs_lines(started.elapsed().as_secs_f64()).as_bytes())
                .is_err()
            {
                break;
            }
            thread::sleep(Duration::from_millis(250));
        }
    });

    // A second feed, pushed to the service, that only ever sends noise.
    let noise_port = free_port();
    let feed = format!("russia=sbs:127.0.0.1:{sbs_port}");
    let noise = format!("coalition=avr:listen:127.0.0.1:{noise_port}");
    let server = Serve::start(&data, &["--feed", &feed, "--feed", &noise]);
    let feed_name = format!("sbs:127.0.0.1:{sbs_port}");
    let noise_name = format!("avr:listen:127.0.0.1:{noise_port}");

    // Malformed bytes are counted (in a line format, as rejected lines); nothing goes to the
    // desk from them.
    let counted = eventually(
        Duration::from_secs(20),
        "the malformed lines counted",
        || {
            let rejected = server.metric("deconflict_feed_rejected_total", "russia", &feed_name);
            (rejected >= 3).then(|| format!("{rejected} rejected"))
        },
    );
    eprintln!("first connection: {counted}");
    assert_eq!(
        server.metric("deconflict_feed_records_total", "russia", &feed_name),
        0
    );

    // The party pushes its aircraft (with its icao24) and another that enters al-Tanf.
    let t = now_ms();
    let line = |track: &str, icao: Option<&str>, lat: f64, lon: f64, t: i64| {
        format!(
            r#"{{"party":"russia","report":{{"track_id":"{track}","time_unix_ms":{t},"lat_deg":{lat},"lon_deg":{lon},"alt_m":3658,"track_deg":270,"ground_speed_mps":61.7{}}}}}"#,
            icao.map(|i| format!(r#","icao24":"{}""#, i.to_lowercase()))
                .unwrap_or_default()
        )
    };
    let pushes = [
        line("sokol1", Some(ICAO), LAT, LON + 0.001, t - 1500),
        line("sokol2", None, 32.9, 38.66, t - 1500),
        line("sokol2", None, 33.5, 38.66, t - 500),
    ]
    .join("\n");
    let file = tmp.0.join("push.jsonl");
    std::fs::write(&file, pushes + "\n").unwrap();
    let russia_key = key("russia");
    let who = [
        "--service",
        server.base.as_str(),
        "--party",
        "russia",
        "--key",
        s(&russia_key),
    ];
    let mut args = vec!["tracks", "push"];
    args.extend(who);
    args.extend(["--file", s(&file)]);
    let o = run(&args);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    go_tx.send(()).unwrap();

    // One track for the aircraft, fed by the push and the receiver.
    let receiver_source = format!("receiver:{feed_name}");
    let listed = eventually(Duration::from_secs(20), "the fused track", || {
        let mut args = vec!["tracks", "list"];
        args.extend(who);
        let o = run(&args);
        assert!(o.status.success(), "{}", err(&o));
        let text = out(&o);
        text.lines()
            .any(|l| l.contains("sokol1") && l.contains(&receiver_source))
            .then_some(text)
    });
    let line1 = listed
        .lines()
        .find(|l| l.contains("sokol1"))
        .unwrap()
        .to_string();
    assert!(line1.contains("push"), "{line1}");
    assert!(
        !listed.contains(&format!("icao-{}", ICAO.to_lowercase())),
        "the aircraft is one track, not two: {listed}"
    );
    let mut args = vec!["tracks", "list"];
    args.extend(who);
    args.push("--json");
    let o = run(&args);
    let tracks: Vec<serde_json::Value> = serde_json::from_str(&out(&o)).unwrap();
    let t1 = tracks
        .iter()
        .find(|v| v["track_id"] == "sokol1")
        .expect("sokol1 listed");
    assert_eq!(
        t1["sources"],
        serde_json::json!(["push", receiver_source]),
        "{t1}"
    );
    assert_eq!(t1["icao24"], ICAO.to_lowercase());

    // al-Tanf: on both parties' streams.
    for party in ["russia", "coalition"] {
        let k = key(party);
        let args = [
            "events",
            "--service",
            server.base.as_str(),
            "--party",
            party,
            "--key",
            s(&k),
        ];
        let events = eventually(Duration::from_secs(20), "the geography event", || {
            let o = run(&args);
            assert!(o.status.success(), "{}", err(&o));
            let text = out(&o);
            text.lines()
                .any(|l| l.contains("\"kind\":\"geography\"") && l.contains("sokol2"))
                .then_some(text)
        });
        let g = events
            .lines()
            .find(|l| l.contains("\"kind\":\"geography\"") && l.contains("sokol2"))
            .unwrap();
        assert!(g.contains("al-tanf"), "{party}: {g}");
    }

    // The feed's counters: connects, the reconnect, what went to the desk. The receiver keeps
    // sending every 250 ms, and the events above can come before its fourth message does (a
    // new aircraft is graded on arrival): the counts are awaited, not read once.
    let m = |n: &str| server.metric(n, "russia", &feed_name);
    assert!(m("deconflict_feed_connects_total") >= 2);
    assert!(m("deconflict_feed_reconnects_total") >= 1);
    eventually(Duration::from_secs(20), "four messages counted", || {
        (m("deconflict_feed_messages_total") >= 4).then(String::new)
    });
    assert!(m("deconflict_feed_decoded_total") >= 2);
    assert!(m("deconflict_feed_records_taken_total") >= 1);
    assert_eq!(m("deconflict_feed_records_dropped_total"), 0);

    // Noise on the pushed feed: counted, the service still answers.
    let mut pushed = TcpStream::connect(("127.0.0.1", noise_port)).unwrap();
    let noise_bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 31 + i / 7) as u8).collect();
    pushed.write_all(&noise_bytes).unwrap();
    pushed.write_all(b"*8d4ca7;\n*zz;\n").unwrap();
    drop(pushed);
    eventually(Duration::from_secs(20), "the noise counted", || {
        let n = server.metric("deconflict_feed_bytes_total", "coalition", &noise_name);
        (n >= noise_bytes.len() as u64).then(String::new)
    });
    assert!(server.metric("deconflict_feed_rejected_total", "coalition", &noise_name) >= 2);
    assert_eq!(
        server.metric("deconflict_feed_records_total", "coalition", &noise_name),
        0
    );
    // The service still runs its cycle.
    let health = |k: &str| {
        let h: serde_json::Value = serde_json::from_str(&server.get("/health")).unwrap();
        h[k].clone()
    };
    assert_eq!(health("agreement_status"), "in_force");
    let cycle = health("last_cycle_unix_ms").as_i64().unwrap();
    eventually(Duration::from_secs(10), "a cycle after the noise", || {
        (health("last_cycle_unix_ms").as_i64().unwrap() > cycle).then(String::new)
    });

    stop.store(true, Ordering::SeqCst);
    drop(server);
    let _ = receiver.join();
}

#[test]
fn a_bad_feed_is_a_usage_error_naming_the_wrong_part() {
    let tmp = TempDir::new("feed-usage");
    let data = demo_data(&tmp);
    for (feed, says) in [
        ("russia", "PARTY=FORMAT:ADDR"),
        ("russia=json:127.0.0.1:30003", "unknown format \"json\""),
        ("russia=sbs:127.0.0.1", "bad address \"127.0.0.1\""),
        ("russia=sbs:127.0.0.1:0", "bad address"),
        ("russia=beast:listen:localhost:30005", "needs an IP address"),
        ("nato=sbs:127.0.0.1:30003", "unknown party \"nato\""),
    ] {
        let o = run(&[
            "serve",
            "--data-dir",
            s(&data),
            "--listen",
            "127.0.0.1:0",
            "--feed",
            feed,
        ]);
        assert_eq!(o.status.code(), Some(2), "{feed}: {}", err(&o));
        assert!(err(&o).contains(says), "{feed}: {}", err(&o));
        assert!(out(&o).is_empty(), "{feed}: nothing served: {}", out(&o));
    }
}

const PROGRAM: &str = "dump1090-mutability";

/// Kills and reaps the child when the test ends, however it ends.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn installed() -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(PROGRAM))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

fn connect_within(port: u16, within: Duration) -> TcpStream {
    let deadline = Instant::now() + within;
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => return s,
            Err(e) if Instant::now() > deadline => panic!("{PROGRAM} port {port}: {e}"),
            Err(_) => thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The LAX recording's first `n` frames as Beast records, a 12 MHz counter at 300 frames a
/// second.
fn lax_beast(n: usize) -> (Vec<Vec<u8>>, std::collections::BTreeSet<String>) {
    let raw = deconflict_feeds::io::read_recording(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../feeds/testdata/adsb_deku_lax_messages_avr.txt.gz"),
    )
    .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let mut records = Vec::new();
    let mut heard = std::collections::BTreeSet::new();
    for (i, line) in text.lines().take(n).enumerate() {
        let hex = line.trim().trim_start_matches('*').trim_end_matches(';');
        let frame: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|j| u8::from_str_radix(&hex[j..j + 2], 16).unwrap())
            .collect();
        if frame.len() == 14 {
            heard.insert(hex[2..8].to_lowercase());
        }
        let ticks = (i as f64 * 12.0e6 / 300.0) as u64;
        let mut rec = Vec::new();
        deconflict_feeds::framing::beast::encode_record(
            if frame.len() == 7 { b'2' } else { b'3' },
            ticks,
            0x80,
            &frame,
            &mut rec,
        );
        records.push(rec);
    }
    (records, heard)
}

#[test]
fn the_service_reads_a_real_dump1090_beast_output_into_the_partys_tracks() {
    let Some(program) = installed() else {
        if std::env::var("DECONFLICT_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!(
                "{PROGRAM} is not installed and DECONFLICT_REQUIRE_PEERS=1 (apt-get install {PROGRAM})"
            );
        }
        eprintln!("skipping: {PROGRAM} is not installed (apt-get install {PROGRAM})");
        return;
    };
    let tmp = TempDir::new("feed-dump1090");
    let data = demo_data(&tmp);
    let (bi, bo) = (free_port(), free_port());
    let child = Command::new(&program)
        .args(["--net-only", "--net-bind-address", "127.0.0.1", "--quiet"])
        .args([
            "--net-bi-port",
            &bi.to_string(),
            "--net-bo-port",
            &bo.to_string(),
        ])
        .args([
            "--net-sbs-port",
            "0",
            "--net-ri-port",
            "0",
            "--net-ro-port",
            "0",
            "--lat",
            "33.9425",
            "--lon",
            "-118.408",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dump1090");
    let _peer = Peer(child);
    let mut input = connect_within(bi, Duration::from_secs(10));
    connect_within(bo, Duration::from_secs(10));

    let feed = format!("coalition=beast:127.0.0.1:{bo}");
    let server = Serve::start(&data, &["--feed", &feed]);
    let feed_name = format!("beast:127.0.0.1:{bo}");
    eventually(Duration::from_secs(10), "the service connected", || {
        (server.metric("deconflict_feed_connects_total", "coalition", &feed_name) >= 1)
            .then(String::new)
    });

    // Ten seconds of the recording, at its pace.
    let (records, heard) = lax_beast(3_000);
    let start = Instant::now();
    for (k, batch) in records.chunks(30).enumerate() {
        let due = start + Duration::from_millis(100 * k as u64);
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            thread::sleep(w);
        }
        input.write_all(&batch.concat()).expect("push to dump1090");
    }

    let k = data.join("keys").join("coalition.key");
    let who = [
        "--service",
        server.base.as_str(),
        "--party",
        "coalition",
        "--key",
        s(&k),
    ];
    let source = format!("receiver:{feed_name}");
    let tracks = eventually(Duration::from_secs(10), "receiver tracks", || {
        let mut args = vec!["tracks", "list"];
        args.extend(who);
        args.push("--json");
        let o = run(&args);
        assert!(o.status.success(), "{}", err(&o));
        let v: Vec<serde_json::Value> = serde_json::from_str(&out(&o)).unwrap();
        let mine: Vec<serde_json::Value> = v
            .into_iter()
            .filter(|t| {
                t["sources"]
                    .as_array()
                    .is_some_and(|s| s.contains(&source.clone().into()))
            })
            .collect();
        (mine.len() >= 3).then(|| serde_json::to_string(&mine).unwrap())
    });
    let tracks: Vec<serde_json::Value> = serde_json::from_str(&tracks).unwrap();
    eprintln!(
        "{} aircraft from {PROGRAM}'s Beast output are coalition tracks",
        tracks.len()
    );
    for t in &tracks {
        assert_eq!(t["party"], "coalition");
        let icao = t["icao24"].as_str().unwrap();
        assert_eq!(t["track_id"], format!("icao-{icao}"));
        assert!(heard.contains(icao), "{icao} is not in the recording");
        // Around Los Angeles, where the recording was made.
        let (lat, lon) = (
            t["lat_deg"].as_f64().unwrap(),
            t["lon_deg"].as_f64().unwrap(),
        );
        assert!(
            (32.0..36.0).contains(&lat) && (-120.5..-116.0).contains(&lon),
            "{t}"
        );
    }
    let m = |n: &str| server.metric(n, "coalition", &feed_name);
    assert!(
        m("deconflict_feed_messages_total") >= 1000,
        "{}",
        m("deconflict_feed_messages_total")
    );
    assert!(m("deconflict_feed_records_taken_total") >= 3);
}
