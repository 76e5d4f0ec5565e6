//! `deconflict log follow` against the real `deconflict serve` on loopback, over a data directory
//! made by `deconflict demo --data-dir`: a party follows the log twice with traffic in between
//! (the second run checks consistency from the first, and both heads are countersigned); a state
//! file whose saved head was altered stops the run naming the check; a head forged with the log's
//! own key for a size the party will fetch again is reported as a fork, with both signed heads
//! kept beside the state file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use deconflict_client::PartyClient;
use deconflict_client::wire::{AreaIn, LatLon, NotificationIn};
use deconflict_log::{ForkEvidence, Hash, Monitor, PublicKey, SignedTreeHead, TreeHead};
use deconflict_service::datadir::{self, DataDir};
use deconflict_service::{Clock, SystemClock};

mod common;

use common::{BIN, Server, TempDir};

fn serve(data: &Path) -> (Server, String) {
    let server = Server::start(data);
    let base = server.base.clone();
    (server, base)
}

fn follow(base: &str, data: &Path, party: &str, state: &Path, extra: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args([
            "log",
            "follow",
            "--service",
            base,
            "--party",
            party,
            "--key",
        ])
        .arg(data.join("keys").join(format!("{party}.key")))
        .arg("--state")
        .arg(state)
        .args(extra)
        .output()
        .unwrap();
    eprintln!(
        "--- follow {party} (exit {:?})\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The number after `prefix` on the first line that starts with it.
fn number_after(text: &str, prefix: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix:?} in {text}"))
}

fn client(data: &DataDir, base: &str, party: &str) -> PartyClient {
    let key = datadir::read_secret_key(&data.key(party)).unwrap();
    PartyClient::new(
        base,
        party,
        datadir::signing_key(&key).unwrap(),
        Arc::new(SystemClock),
    )
}

fn notification() -> NotificationIn {
    let now = SystemClock.now_ms();
    NotificationIn {
        area: AreaIn::Circle {
            centre: LatLon {
                lat_deg: 34.0,
                lon_deg: 38.0,
            },
            radius_m: 1000.0,
        },
        alt_min_m: 1000.0,
        alt_max_m: 2000.0,
        start_unix_ms: now,
        end_unix_ms: now + 600_000,
        callsigns: vec![],
        aircraft_count: None,
        aircraft_type: None,
        remarks: None,
        strike_warning: false,
    }
}

/// What `party` discloses of its notifications, from the agreement in the data directory.
fn disclosed(data: &DataDir, party: &str) -> std::collections::BTreeSet<String> {
    let loaded = datadir::load_agreement(&data.agreement()).unwrap();
    loaded
        .terms
        .party(party)
        .unwrap()
        .disclose_notification
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_twice_then_altered_state_then_fork() {
    let tmp = TempDir::new("log-follow");
    let root = tmp.0.join("data");
    let demo = Command::new(BIN)
        .args(["demo", "--data-dir"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", stderr(&demo));
    let data = DataDir::new(&root);
    let service_key =
        datadir::signing_key(&datadir::read_secret_key(&data.key("service")).unwrap()).unwrap();
    let log_key_hex = PublicKey(service_key.verifying_key()).to_hex();
    let (_server, base) = serve(&root);
    let state = tmp.0.join("coalition-log.json");

    // No state and no key to pin: refused before anything is fetched.
    let o = follow(&base, &root, "coalition", &state, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--trust-on-first-use"),
        "{}",
        stderr(&o)
    );
    assert!(!state.exists());

    // First run: the key pinned, the head checked, saved and countersigned.
    let o = follow(
        &base,
        &root,
        "coalition",
        &state,
        &["--log-key", &log_key_hex],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let first = number_after(&text, "verified size ");
    assert!(text.contains("(first head)"), "{text}");
    assert_eq!(number_after(&text, "cosigned size "), first);
    assert!(text.contains(&format!("entry {first} appended")), "{text}");
    let saved = Monitor::from_json(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved.tree_head().unwrap().tree_head().size(), first);

    // Traffic: the other party follows too (trusting the key on first use), and a notification.
    let russia_state = tmp.0.join("russia-log.json");
    let o = follow(
        &base,
        &root,
        "russia",
        &russia_state,
        &["--trust-on-first-use"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&log_key_hex),
        "the key is shown for the operator to compare"
    );
    let coalition = client(&data, &base, "coalition");
    coalition
        .notification_create("f-1", &notification(), &disclosed(&data, "coalition"))
        .await
        .unwrap();

    // While another process holds the state file, a second follower is refused and the state
    // is untouched; once released, it runs.
    let before = std::fs::read(&state).unwrap();
    let lock = std::fs::File::create(tmp.0.join("coalition-log.json.lock")).unwrap();
    lock.try_lock().unwrap();
    let o = follow(&base, &root, "coalition", &state, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("is in use by another"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&state).unwrap(), before);
    drop(lock);

    // Second run: consistent with the first head, which it names.
    let o = follow(&base, &root, "coalition", &state, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let second = number_after(&text, "verified size ");
    assert!(second > first + 1, "{text}");
    assert!(
        text.contains(&format!("consistent with the saved head of size {first}")),
        "{text}"
    );
    assert!(text.contains(&format!("entry {second} appended")), "{text}");
    // The other party's countersignature since the first run agrees with this view.
    assert!(
        text.contains(&format!(
            "gossip   russia's countersignature of size {} (entry {}) is consistent",
            first + 1,
            first + 1
        )),
        "{text}"
    );
    let listed = coalition.log_cosignatures(None).await.unwrap();
    let who: Vec<(String, u64)> = listed
        .cosignatures
        .iter()
        .map(|c| (c.party.clone(), c.size))
        .collect();
    assert_eq!(
        who,
        [
            ("coalition".to_string(), first),
            ("russia".to_string(), first + 1),
            ("coalition".to_string(), second)
        ]
    );

    // Only countersignatures since the saved head: checked and saved, not countersigned again
    // (two parties following each other's countersignatures would otherwise grow the log
    // forever).
    let o = follow(&base, &root, "russia", &russia_state, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = follow(&base, &root, "coalition", &state, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(&format!("consistent with the saved head of size {second}")),
        "{text}"
    );
    assert!(text.contains("are all countersignatures"), "{text}");
    assert!(!text.contains("appended"), "{text}");

    // A state file whose saved head was altered: refused, naming the check; the file is kept.
    let good = std::fs::read_to_string(&state).unwrap();
    let saved = Monitor::from_json(good.as_bytes()).unwrap();
    let root_hex = saved.tree_head().unwrap().tree_head().root().to_hex();
    let altered = good.replace(&root_hex, &Hash::of(b"altered").to_hex());
    assert_ne!(altered, good);
    std::fs::write(&state, &altered).unwrap();
    let o = follow(&base, &root, "coalition", &state, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("check of the saved head failed"), "{err}");
    assert!(
        err.contains("signature of service does not verify"),
        "{err}"
    );
    assert!(
        !stdout(&o).contains("fetched"),
        "nothing is fetched on an altered state"
    );
    assert_eq!(std::fs::read_to_string(&state).unwrap(), altered);

    // Following every second: each round fetches and checks; rounds that find only
    // countersignatures do not add one. Stopped from outside.
    let mut watch = Command::new(BIN)
        .args([
            "log",
            "follow",
            "--service",
            &base,
            "--party",
            "russia",
            "--key",
        ])
        .arg(root.join("keys").join("russia.key"))
        .arg("--state")
        .arg(&russia_state)
        .args(["--watch", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut fetched = 0;
    let mut seen = Vec::new();
    while fetched < 3 {
        let line = lines.next().expect("the watch ended early").unwrap();
        fetched += usize::from(line.starts_with("fetched"));
        seen.push(line);
    }
    let _ = watch.kill();
    let _ = watch.wait();
    let seen = seen.join("\n");
    assert!(seen.contains("are all countersignatures"), "{seen}");
    assert!(seen.matches("verified size").count() >= 2, "{seen}");

    // An inconsistent head: the state holds a head (signed with the log's key) of an older size
    // whose root is not in the log's history; the proof from it to the latest head fails.
    let latest = coalition.log_tree_head(0).await.unwrap().tree_head;
    let older = TreeHead::new(
        latest.tree_head().log().clone(),
        first,
        Hash::of(b"rewritten"),
        latest.tree_head().time_ms() - 1,
    )
    .unwrap();
    let m = Monitor::new(
        latest.tree_head().log().clone(),
        service_key.verifying_key(),
    );
    let planted = state_file(&m, &SignedTreeHead::sign(older, &service_key));
    std::fs::write(&state, &planted).unwrap();
    let o = follow(&base, &root, "coalition", &state, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("INCONSISTENT"), "{err}");
    assert!(
        err.contains(&format!("consistency proof {first}→")),
        "names the sizes: {err}"
    );
    let evidence = evidence_files(&tmp.0);
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    let text = std::fs::read_to_string(&evidence[0]).unwrap();
    assert!(text.contains(&Hash::of(b"rewritten").to_hex()), "{text}");
    assert!(text.contains("\"received\""), "{text}");
    std::fs::remove_file(&evidence[0]).unwrap();
    assert_eq!(
        std::fs::read(&state).unwrap(),
        planted,
        "state left unchanged"
    );

    // A rollback: the state holds a head (signed with the log's key) larger than the log.
    let beyond = TreeHead::new(
        latest.tree_head().log().clone(),
        latest.tree_head().size() + 1000,
        Hash::of(b"future"),
        latest.tree_head().time_ms(),
    )
    .unwrap();
    let m = Monitor::new(
        latest.tree_head().log().clone(),
        service_key.verifying_key(),
    );
    std::fs::write(
        &state,
        state_file(&m, &SignedTreeHead::sign(beyond, &service_key)),
    )
    .unwrap();
    let o = follow(&base, &root, "coalition", &state, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("ROLLED BACK"), "{err}");
    let evidence = evidence_files(&tmp.0);
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    std::fs::remove_file(&evidence[0]).unwrap();

    // A fork: the log's key signs another root for the size the party fetches next. (Should the
    // log grow between forging and fetching, the run reports an inconsistent head instead;
    // try again.)
    let mut forked = false;
    for _ in 0..5 {
        let latest = coalition.log_tree_head(0).await.unwrap().tree_head;
        let th = latest.tree_head();
        let forged = SignedTreeHead::sign(
            TreeHead::new(th.log().clone(), th.size(), Hash::of(b"fork"), th.time_ms()).unwrap(),
            &service_key,
        );
        let m = Monitor::new(th.log().clone(), service_key.verifying_key());
        let planted = state_file(&m, &forged);
        std::fs::write(&state, &planted).unwrap();
        let o = follow(&base, &root, "coalition", &state, &[]);
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        let err = stderr(&o);
        assert_eq!(
            std::fs::read(&state).unwrap(),
            planted,
            "state left unchanged"
        );
        let evidence = evidence_files(&tmp.0);
        assert!(
            !evidence.is_empty(),
            "no evidence file beside the state file"
        );
        if err.contains("INCONSISTENT") {
            for e in evidence {
                std::fs::remove_file(e).unwrap();
            }
            continue;
        }
        assert!(err.contains("FORK"), "{err}");
        assert!(err.contains("misbehaviour"), "{err}");
        assert_eq!(evidence.len(), 1);
        let text = std::fs::read_to_string(&evidence[0]).unwrap();
        let heads: Vec<SignedTreeHead> = text
            .lines()
            .filter_map(|l| {
                SignedTreeHead::from_bytes(l.trim().trim_end_matches(',').as_bytes()).ok()
            })
            .collect();
        assert_eq!(heads.len(), 2, "{text}");
        assert!(heads.contains(&forged) && heads.contains(&latest), "{text}");
        let proof = ForkEvidence::detect(&heads[0], &heads[1], &service_key.verifying_key());
        assert!(
            proof.is_some(),
            "the kept heads prove the fork to anyone with the log's key"
        );
        forked = true;
        break;
    }
    assert!(forked, "the fork was never reported");
}

fn evidence_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with("coalition-log.json.evidence-")
            })
        })
        .collect()
}

/// A service whose copy of the agreement lists another key for Russia (its operator's) can
/// append "Russia's" countersignatures that its log accepts. A coalition follower that checks
/// them against its own copy of the agreement (`--agreement`) refuses the first one it is shown,
/// keeping it as evidence; without `--agreement` it only notes that it did not check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_countersignature_the_party_never_made_is_caught_with_the_agreement() {
    let tmp = TempDir::new("log-follow-forged");
    let genuine = tmp.0.join("genuine");
    let demo = Command::new(BIN)
        .args(["demo", "--data-dir"])
        .arg(&genuine)
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", stderr(&demo));
    let run = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(BIN).args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o)
    };
    // The operator's data directory: the coalition's real key, a key of its own as "russia".
    let served = tmp.0.join("served");
    std::fs::create_dir_all(served.join("keys")).unwrap();
    for ext in ["key", "pub"] {
        std::fs::copy(
            genuine.join(format!("keys/coalition.{ext}")),
            served.join(format!("keys/coalition.{ext}")),
        )
        .unwrap();
    }
    let impostor = run(&[
        "keygen".as_ref(),
        "--out".as_ref(),
        served.join("keys/russia").as_os_str(),
    ]);
    let real = std::fs::read_to_string(genuine.join("keys/russia.pub")).unwrap();
    let toml = std::fs::read_to_string(genuine.join("agreement.toml")).unwrap();
    assert_eq!(
        toml.matches(real.trim()).count(),
        1,
        "russia's key in the agreement"
    );
    let agreement = served.join("agreement.toml");
    std::fs::write(&agreement, toml.replace(real.trim(), impostor.trim())).unwrap();
    for party in ["coalition", "russia"] {
        run(&[
            "agreement".as_ref(),
            "sign".as_ref(),
            "--key".as_ref(),
            served.join(format!("keys/{party}.key")).as_os_str(),
            agreement.as_os_str(),
        ]);
    }
    let (_server, base) = serve(&served);

    // "Russia" follows and countersigns; the coalition follows with its own agreement.
    let o = follow(
        &base,
        &served,
        "russia",
        &tmp.0.join("russia-log.json"),
        &["--trust-on-first-use"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let unchecked_state = tmp.0.join("unchecked.json");
    let o = follow(
        &base,
        &served,
        "coalition",
        &unchecked_state,
        &["--trust-on-first-use"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("russia's countersignature")
            && stdout(&o).contains("not checked: no --agreement"),
        "{}",
        stdout(&o)
    );
    let state = tmp.0.join("coalition-log.json");
    let own_copy = genuine.join("agreement.toml");
    let o = follow(
        &base,
        &served,
        "coalition",
        &state,
        &[
            "--trust-on-first-use",
            "--agreement",
            own_copy.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("FORGED COUNTERSIGNATURE")
            && stderr(&o).contains("countersignature by russia"),
        "{}",
        stderr(&o)
    );
    let kept = evidence_files(&tmp.0);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let evidence = std::fs::read_to_string(&kept[0]).unwrap();
    assert!(
        evidence.contains("\"check\": \"forged countersignature\"")
            && evidence.contains("\"author\":\"russia\""),
        "{evidence}"
    );
    // With the operator's copy (which lists its key as Russia's), it would pass: the check is
    // only as good as the party's own copy of the agreement, which is the point.
    let o = follow(
        &base,
        &served,
        "coalition",
        &tmp.0.join("trusting.json"),
        &[
            "--trust-on-first-use",
            "--agreement",
            agreement.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A state file for `m` that claims `head` as its last verified head, as a file altered or
/// written by another program would (the library only keeps heads it verified).
fn state_file(m: &Monitor, head: &SignedTreeHead) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&m.to_json()).unwrap();
    v["tree_head"] = serde_json::to_value(head).unwrap();
    serde_json::to_vec_pretty(&v).unwrap()
}
