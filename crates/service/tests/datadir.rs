//! The data directory: agreement and signatures read back, a draft until every party signs,
//! bad files refused naming the file, keys written once and read back.

use deconflict_service::datadir::{self, DataDir};
use deconflict_sim::Scenario;

fn scenario() -> Scenario {
    Scenario::generate(&deconflict_sim::Config::default()).unwrap()
}

fn write_signed(dir: &DataDir, s: &Scenario, parties: &[usize]) {
    dir.create().unwrap();
    std::fs::write(dir.agreement(), &s.agreement_toml).unwrap();
    let agreement = s.agreement();
    let keys = s.keys();
    for &i in parties {
        let pid = deconflict_agreement::PartyId::new(&s.parties[i].id).unwrap();
        let sig =
            deconflict_agreement::AgreementSignature::sign(&agreement, &pid, &keys[i]).unwrap();
        std::fs::write(
            datadir::signature_path(&dir.agreement(), &s.parties[i].id),
            sig.to_file_text(),
        )
        .unwrap();
    }
}

#[test]
fn in_force_only_when_every_party_signed() {
    let s = scenario();
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    write_signed(&dir, &s, &[0]);
    let loaded = datadir::load_agreement(&dir.agreement()).unwrap();
    assert_eq!(loaded.signed_by, vec!["coalition".to_string()]);
    assert!(!loaded.all_signed());
    write_signed(&dir, &s, &[0, 1]);
    let loaded = datadir::load_agreement(&dir.agreement()).unwrap();
    assert!(loaded.all_signed());
    assert_eq!(loaded.terms.parties.len(), 2);
    assert_eq!(loaded.terms.id, s.agreement().id().to_text());
}

/// A draft served first, the second signature added later: the restart puts it in the history
/// (a new version), and the agreement comes into force; a claim that all signed without the
/// signatures is refused.
#[test]
fn a_signature_added_later_enters_the_history_at_the_next_start() {
    use deconflict_service::{ManualClock, StartError, State, Status};
    let s = scenario();
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let clock = std::sync::Arc::new(ManualClock::new(1_491_984_000_000));
    let open = |all_signed: bool, terms| {
        let store = deconflict_store::SqliteStore::open(&dir.store()).unwrap();
        State::open(
            Default::default(),
            terms,
            all_signed,
            Box::new(store),
            clock.clone(),
        )
    };
    write_signed(&dir, &s, &[0]);
    let loaded = datadir::load_agreement(&dir.agreement()).unwrap();
    let state = open(false, loaded.terms.clone()).unwrap();
    assert_eq!(state.status(), Status::Draft);
    assert_eq!(state.lifecycle().head_seq(), 1);
    drop(state);
    // Asserting "all signed" without Russia's signature is refused, naming who is missing.
    match open(true, loaded.terms) {
        Err(e @ StartError::Unsigned { .. }) => assert!(e.to_string().contains("russia"), "{e}"),
        other => panic!("expected Unsigned, got {other:?}"),
    }
    write_signed(&dir, &s, &[0, 1]);
    let loaded = datadir::load_agreement(&dir.agreement()).unwrap();
    let state = open(true, loaded.terms.clone()).unwrap();
    assert_eq!(state.status(), Status::InForce);
    let history = state.lifecycle();
    let parties: Vec<&str> = history
        .records()
        .iter()
        .map(|r| r.event().party().as_str())
        .collect();
    assert_eq!(parties, ["coalition", "russia"]);
    drop(state);
    // Started again: nothing new to add.
    let state = open(true, loaded.terms).unwrap();
    assert_eq!(state.lifecycle().head_seq(), 2);
}

/// The shared log follows: a signature that entered the history at a later start is
/// logged then, with "in force" when it completed the agreement, and not twice.
#[test]
fn a_signature_added_later_is_logged_in_the_record_that_began_before() {
    use deconflict_log::{AgreementEventKind, EntryBody};
    use deconflict_service::log_entries::ServiceLog;
    use deconflict_service::{ManualClock, State};
    let s = scenario();
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let clock = std::sync::Arc::new(ManualClock::new(1_491_984_000_000));
    let start = || {
        let loaded = datadir::load_agreement(&dir.agreement()).unwrap();
        let log =
            ServiceLog::open(&dir, &loaded.terms, &loaded.signed_by, 1_491_984_000_000).unwrap();
        let store = deconflict_store::SqliteStore::open(&dir.store()).unwrap();
        let state = State::open(
            Default::default(),
            loaded.terms,
            loaded.signed_by.len() == 2,
            Box::new(store),
            clock.clone(),
        )
        .unwrap();
        state.attach_log(std::sync::Arc::new(log));
        state
    };
    // Each event as (kind, reason up to the party's signature), after checking it against the
    // agreement (a `signed` event carries the party's valid signature over it).
    let kinds = |state: &State| {
        let log = state.log().unwrap();
        let n = log.log_file().latest_tree_head().tree_head().size();
        let agreement = datadir::load_agreement(&dir.agreement()).unwrap().agreement;
        log.log_file()
            .entries(0, n)
            .unwrap()
            .iter()
            .map(|e| match e.entry().body() {
                EntryBody::AgreementEvent { event, reason, .. } => (
                    *event,
                    match deconflict_service::log_entries::check_against_agreement(
                        e.entry(),
                        &agreement,
                    ) {
                        Ok(()) => reason
                            .as_ref()
                            .and_then(|r| r.as_str().split(": ").next())
                            .unwrap_or_default()
                            .to_string(),
                        Err(e) => panic!("{e}"),
                    },
                ),
                other => panic!("unexpected entry {other:?}"),
            })
            .collect::<Vec<_>>()
    };
    write_signed(&dir, &s, &[0]);
    let state = start();
    assert_eq!(
        kinds(&state),
        [(
            AgreementEventKind::Signed,
            "signed by coalition".to_string()
        )]
    );
    drop(state);
    write_signed(&dir, &s, &[0, 1]);
    let state = start();
    let expected = [
        (
            AgreementEventKind::Signed,
            "signed by coalition".to_string(),
        ),
        (AgreementEventKind::Signed, "signed by russia".to_string()),
        (AgreementEventKind::InForce, String::new()),
    ];
    assert_eq!(kinds(&state), expected);
    drop(state);
    let state = start();
    assert_eq!(kinds(&state), expected, "logged twice");
}

#[test]
fn a_signature_by_the_wrong_key_is_refused_naming_the_file() {
    let s = scenario();
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    write_signed(&dir, &s, &[0, 1]);
    // Russia's signature file replaced by the coalition's: the party line does not match.
    let coalition =
        std::fs::read_to_string(datadir::signature_path(&dir.agreement(), "coalition")).unwrap();
    let russia_path = datadir::signature_path(&dir.agreement(), "russia");
    std::fs::write(&russia_path, coalition).unwrap();
    let err = datadir::load_agreement(&dir.agreement())
        .unwrap_err()
        .to_string();
    assert!(err.contains("russia.sig"), "{err}");
    std::fs::write(&russia_path, "garbage").unwrap();
    let err = datadir::load_agreement(&dir.agreement())
        .unwrap_err()
        .to_string();
    assert!(err.contains("russia.sig"), "{err}");
}

#[test]
fn a_broken_agreement_file_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    dir.create().unwrap();
    std::fs::write(dir.agreement(), "format = 5\n").unwrap();
    let err = datadir::load_agreement(&dir.agreement())
        .unwrap_err()
        .to_string();
    assert!(err.contains("agreement.toml"), "{err}");
    let missing = datadir::load_agreement(&tmp.path().join("nope.toml")).unwrap_err();
    assert!(missing.to_string().contains("nope.toml"));
}

#[test]
fn a_key_pair_is_written_once_and_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("alpha");
    let key = datadir::generate_key();
    let (k, p) = datadir::write_key_pair(&prefix, &key).unwrap();
    let back = datadir::read_secret_key(&k).unwrap();
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(
        std::fs::read_to_string(&p).unwrap().trim(),
        key.public_key().to_text()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(datadir::write_key_pair(&prefix, &datadir::generate_key()).is_err());
    // The HTTP signing key is the same key.
    let sk = datadir::signing_key(&key).unwrap();
    assert_eq!(sk.verifying_key().as_bytes(), key.public_key().as_bytes());
}

/// A data directory written with the legacy names of the log's files opens: they are renamed
/// to the current ones (atomically, the directory synced), the log reads back whole, and a
/// second open renames nothing. Files that only look alike are left alone.
#[test]
fn a_data_directory_with_the_legacy_names_opens_under_the_current_ones() {
    use deconflict_service::log_entries::ServiceLog;
    let s = scenario();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = DataDir::new(root);
    write_signed(&dir, &s, &[0, 1]);
    let open = || {
        let loaded = datadir::load_agreement(&dir.agreement()).unwrap();
        ServiceLog::open(&dir, &loaded.terms, &loaded.signed_by, 1_491_984_000_000).unwrap()
    };
    let log = open();
    let head = log.log_file().latest_tree_head();
    assert_eq!(head.tree_head().size(), 3, "two signatures and in force");
    drop(log);
    std::fs::write(root.join("log-openings.1.jsonl"), "rotated\n").unwrap();
    // (current, legacy) relative to the data directory, innermost first.
    let names = [
        ("log/log.frames", "log/ledger.journal"), // legacy log file
        ("log/log.head", "log/ledger.head"),      // legacy head file
        ("log", "ledger"),                        // legacy log directory
        ("log-openings.jsonl", "ledger-openings.jsonl"), // legacy openings
        ("log-openings.1.jsonl", "ledger-openings.1.jsonl"), // legacy rotated openings
    ];
    let mut bytes = Vec::new();
    for (current, legacy) in names {
        let (current, legacy) = (root.join(current), root.join(legacy));
        bytes.push(std::fs::read(&current).ok());
        std::fs::rename(&current, &legacy).unwrap();
    }
    // Not an openings file of the legacy layout: stays as it is.
    let lookalike = root.join("ledger-openings.x.jsonl"); // legacy-like
    std::fs::write(&lookalike, "other\n").unwrap();
    assert!(!root.join("log").exists());

    let log = open();
    assert_eq!(
        log.log_file().latest_tree_head(),
        head,
        "the same log, nothing lost"
    );
    drop(log);
    for ((current, legacy), before) in names.iter().zip(&bytes) {
        assert!(!root.join(legacy).exists(), "{legacy} is still there");
        assert!(root.join(current).exists(), "{current} is missing");
        if before.is_some() {
            assert_eq!(&std::fs::read(root.join(current)).ok(), before, "{current}");
        }
    }
    assert!(lookalike.exists());
    assert!(!root.join("log-openings.x.jsonl").exists());
    assert_eq!(
        datadir::rename_legacy_names(root).unwrap(),
        vec![],
        "a second run renames nothing"
    );

    // Both names present: neither is touched (the current one is what opens).
    let legacy_openings = root.join("ledger-openings.jsonl"); // legacy
    std::fs::write(&legacy_openings, "old\n").unwrap();
    assert_eq!(datadir::rename_legacy_names(root).unwrap(), vec![]);
    assert_eq!(std::fs::read_to_string(&legacy_openings).unwrap(), "old\n");
}
