//! A real peer: dump1090-mutability (Debian package `dump1090-mutability`), started on loopback
//! in net-only mode with its own ports. A recorded stream is pushed into its Beast input at the
//! recorded pace; what it sends back on its Beast output and its SBS output is ingested, and the
//! tracks must agree with those built from reading the same stream directly: the same aircraft,
//! positions within a few tens of metres.
//!
//! If the program is not installed the test says so and passes, unless
//! `DECONFLICT_REQUIRE_PEERS=1`, where it fails.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use deconflict_feeds::framing::Format;
use deconflict_feeds::framing::beast::encode_record;
use deconflict_feeds::pipeline::{Pipeline, PipelineConfig, TimeMode};
use deconflict_feeds::report::{LatLon, SourceId};

const PROGRAM: &str = "dump1090-mutability";
/// Frames pushed: the first 20 s of the LAX recording at its rate of about 300 frames a second.
const FRAMES_PUSHED: usize = 6_000;
const FRAMES_PER_S: f64 = 300.0;
/// Positions of the peer further than this from every direct position of the same aircraft
/// count as disagreeing.
const TOLERANCE_M: f64 = 50.0;
/// No position of the peer may be further than this from all of ours.
const FAR_M: f64 = 500.0;

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// Reads `stream` into a shared buffer until `stop` is set.
fn collect(
    mut stream: TcpStream,
    into: Arc<Mutex<Vec<u8>>>,
    stop: Arc<Mutex<bool>>,
) -> thread::JoinHandle<()> {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while !*stop.lock().unwrap() {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => into.lock().unwrap().extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
    })
}

/// Positions per aircraft, as the tracks took them, and every aircraft tracked.
fn tracks(format: Format, bytes: &[u8]) -> (BTreeMap<u32, Vec<LatLon>>, BTreeSet<u32>) {
    let mut cfg = PipelineConfig::new(format, TimeMode::Record);
    cfg.decoder.reference = LatLon::new(33.9425, -118.408);
    let mut p = Pipeline::new(cfg);
    let mut out: BTreeMap<u32, Vec<LatLon>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut on = |t: &deconflict_feeds::track::Track| {
        seen.insert(t.icao.get());
        if let Some(pos) = t.position {
            let v = out.entry(t.icao.get()).or_default();
            if v.last() != Some(&pos) {
                v.push(pos);
            }
        }
    };
    p.push(SourceId(0), 0.0, bytes, &mut on);
    p.close(SourceId(0), 0.0, &mut on);
    (out, seen)
}

/// How many of the peer's positions, for aircraft we also placed, lie within [`TOLERANCE_M`] of
/// one of ours; and out of how many.
fn agreement(
    direct: &BTreeMap<u32, Vec<LatLon>>,
    peer: &BTreeMap<u32, Vec<LatLon>>,
    skip_first: usize,
) -> (usize, usize) {
    let mut agree = 0;
    let mut total = 0;
    for (icao, positions) in peer {
        let positions = positions.get(skip_first..).unwrap_or(&[]);
        let Some(mine) = direct.get(icao) else {
            continue;
        };
        for p in positions {
            total += 1;
            let nearest_m = mine
                .iter()
                .map(|m| m.distance_m(*p))
                .fold(f64::INFINITY, f64::min);
            assert!(
                nearest_m <= FAR_M,
                "{icao:06x}: a position {nearest_m:.0} m from every one of ours"
            );
            agree += usize::from(nearest_m <= TOLERANCE_M);
        }
    }
    (agree, total)
}

#[test]
fn dump1090_outputs_agree_with_reading_the_recording_directly() {
    let Some(program) = installed() else {
        if std::env::var("DECONFLICT_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!(
                "{PROGRAM} is not installed and DECONFLICT_REQUIRE_PEERS=1 (apt-get install {PROGRAM})"
            );
        }
        eprintln!("skipping: {PROGRAM} is not installed (apt-get install {PROGRAM})");
        return;
    };
    assert!(Path::new(&program).is_file());

    // The LAX recording as a Beast stream: a 12 MHz counter at the recording's frame rate.
    let avr = String::from_utf8(common::testdata("adsb_deku_lax_messages_avr.txt.gz")).unwrap();
    let mut stream = Vec::new();
    let mut records = Vec::new();
    for (i, line) in avr.lines().take(FRAMES_PUSHED).enumerate() {
        let hex = line.trim().trim_start_matches('*').trim_end_matches(';');
        let frame: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|j| u8::from_str_radix(&hex[j..j + 2], 16).unwrap())
            .collect();
        let mut rec = Vec::new();
        let ticks = (i as f64 * 12.0e6 / FRAMES_PER_S) as u64;
        encode_record(
            if frame.len() == 7 { b'2' } else { b'3' },
            ticks,
            0x80,
            &frame,
            &mut rec,
        );
        stream.extend_from_slice(&rec);
        records.push(rec);
    }
    let (direct, direct_seen) = tracks(Format::Beast, &stream);

    let (bi, bo, sbs) = (free_port(), free_port(), free_port());
    let child = Command::new(&program)
        .args(["--net-only", "--net-bind-address", "127.0.0.1", "--quiet"])
        .args([
            "--net-bi-port",
            &bi.to_string(),
            "--net-bo-port",
            &bo.to_string(),
            "--net-sbs-port",
            &sbs.to_string(),
        ])
        .args([
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

    let stop = Arc::new(Mutex::new(false));
    let beast_out = Arc::new(Mutex::new(Vec::new()));
    let sbs_out = Arc::new(Mutex::new(Vec::new()));
    let readers = [
        collect(
            connect_within(bo, Duration::from_secs(10)),
            beast_out.clone(),
            stop.clone(),
        ),
        collect(
            connect_within(sbs, Duration::from_secs(10)),
            sbs_out.clone(),
            stop.clone(),
        ),
    ];
    let mut input = connect_within(bi, Duration::from_secs(10));
    // Push at the recorded pace, in batches of a tenth of a second.
    let start = Instant::now();
    for (k, batch) in records.chunks((FRAMES_PER_S / 10.0) as usize).enumerate() {
        let due = start + Duration::from_millis(100 * k as u64);
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            thread::sleep(w);
        }
        input.write_all(&batch.concat()).expect("push to dump1090");
    }
    thread::sleep(Duration::from_secs(2));
    *stop.lock().unwrap() = true;
    for r in readers {
        r.join().unwrap();
    }

    let (via_beast, _) = tracks(Format::Beast, &beast_out.lock().unwrap());
    let (via_sbs, _) = tracks(Format::Sbs, &sbs_out.lock().unwrap());
    let aircraft = |m: &BTreeMap<u32, Vec<LatLon>>| m.keys().copied().collect::<BTreeSet<u32>>();
    eprintln!(
        "aircraft with positions: direct {}, via dump1090 Beast {}, via dump1090 SBS {}",
        direct.len(),
        via_beast.len(),
        via_sbs.len()
    );
    assert!(direct.len() >= 10, "the pushed window has traffic");
    // Same aircraft. Every aircraft we place, dump1090 places too. dump1090 also decodes a
    // lone airborne position frame against its receiver location, where rs1090 waits for an
    // even/odd pair: such extra aircraft must at least be ones we track (heard, no position yet).
    let d = aircraft(&direct);
    // On its SBS output dump1090 also gives each aircraft's first positions from single frames
    // against its receiver location, before rs1090 has an even/odd pair: those (the first two per
    // aircraft) precede our track and are not compared. Its Beast output is the frames
    // themselves and is compared whole.
    for (name, peer, skip_first) in [("Beast", &via_beast, 0), ("SBS", &via_sbs, 2)] {
        let p = aircraft(peer);
        assert!(d.is_subset(&p), "{name}: direct {d:x?} peer {p:x?}");
        let extra: BTreeSet<u32> = p.difference(&d).copied().collect();
        assert!(
            extra.is_subset(&direct_seen),
            "{name}: aircraft we never heard: {extra:x?}"
        );
        assert!(
            extra.len() * 5 <= d.len(),
            "{name}: too many extra aircraft {extra:x?}"
        );
        let (agree, total) = agreement(&direct, peer, skip_first);
        eprintln!(
            "{name}: {} extra aircraft; {agree} of {total} positions within {TOLERANCE_M} m of a direct one",
            extra.len()
        );
        assert!(total > 100, "{name}: too few positions to compare");
        assert!(
            agree * 100 >= total * 95,
            "{name}: only {agree} of {total} positions agree"
        );
        if skip_first == 0 {
            assert_eq!(
                agree, total,
                "{name}: the same frames must give the same positions"
            );
        }
    }
}
