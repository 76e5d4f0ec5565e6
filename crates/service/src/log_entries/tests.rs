use super::*;

/// Past its bound the live file is renamed `<stem>.<N>.jsonl` and a new one started; every
/// line written is in exactly one of the files, which `openings_files` lists oldest first.
#[test]
fn the_openings_file_rotates_past_its_bound_and_keeps_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log-openings.jsonl");
    let mut f = OpeningsFile::open(&path, 100).unwrap();
    let mut written = Vec::new();
    for i in 0..25 {
        let line = format!("{{\"line\":{i:04}}}\n");
        f.append(line.as_bytes()).unwrap();
        written.push(line);
    }
    let files = openings_files(&path).unwrap();
    assert!(files.len() >= 4, "{files:?}");
    assert_eq!(files.last(), Some(&path));
    let mut read = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.len() <= 100,
            "{} holds {} bytes",
            file.display(),
            text.len()
        );
        if i + 1 < files.len() {
            assert_eq!(
                file,
                &dir.path().join(format!("log-openings.{}.jsonl", i + 1))
            );
        }
        read.extend(text.lines().map(|l| format!("{l}\n")));
    }
    assert_eq!(read, written);
    // Reopened (a restart), it goes on from the live file's size and the next number.
    drop(f);
    let mut f = OpeningsFile::open(&path, 100).unwrap();
    for _ in 0..10 {
        f.append(b"{\"line\":9999}\n").unwrap();
    }
    let after = openings_files(&path).unwrap();
    assert!(after.len() > files.len(), "{after:?}");
    assert_eq!(after[..files.len() - 1], files[..files.len() - 1]);
    // A line longer than the bound still lands, alone in its file.
    let long = vec![b'x'; 300];
    f.append(&long).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), long);
    // Files of other names beside it are not openings.
    std::fs::write(dir.path().join("log-openings.x.jsonl"), "").unwrap();
    std::fs::write(dir.path().join("other.1.jsonl"), "").unwrap();
    assert_eq!(openings_files(&path).unwrap().len(), after.len() + 1);
}
use deconflict_agreement::{Agreement, AgreementSignature, PartyId, SecretKey};

fn agreement() -> (Agreement, SecretKey) {
    let key = SecretKey::from_seed([1; 32]);
    let toml = deconflict_agreement::TEMPLATE_TOML.replacen(
        "ed25519:8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
        &key.public_key().to_text(),
        1,
    );
    (deconflict_agreement::parse_toml(&toml).unwrap(), key)
}

fn event(a: &Agreement, kind: AgreementEventKind, reason: Option<&str>) -> Entry {
    let body = EntryBody::AgreementEvent {
        agreement_id: text(&a.id().to_text()),
        digest: Hash(*a.id().as_bytes()),
        event: kind,
        reason: reason.map(text),
        version: deconflict_log::field::Count::new(1).unwrap(),
    };
    Entry::new(KeyId::new(SERVICE_KEY_ID).unwrap(), 0, body).unwrap()
}

#[test]
fn entries_about_the_agreement_are_checked_against_it() {
    let (a, key) = agreement();
    let coalition = PartyId::new("coalition").unwrap();
    let sig = AgreementSignature::sign(&a, &coalition, &key).unwrap();
    let reason = signed_reason("coalition", &sig.signature().to_text());
    let check = |e: Entry| check_against_agreement(&e, &a);
    check(event(&a, AgreementEventKind::Signed, Some(&reason))).unwrap();
    check(event(&a, AgreementEventKind::InForce, None)).unwrap();
    // Another party claimed for the same signature, an unknown party, no signature.
    for (bad, says) in [
        (reason.replacen("coalition", "russia", 1), "does not verify"),
        (reason.replacen("coalition", "nobody", 1), "not a party"),
        (
            "signed by coalition".to_string(),
            "without the party's signature",
        ),
        (
            reason
                .to_uppercase()
                .replace("SIGNED BY COALITION", "signed by coalition"),
            "signature event of coalition",
        ),
    ] {
        let e = check(event(&a, AgreementEventKind::Signed, Some(&bad))).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
    let e = check(event(&a, AgreementEventKind::Signed, None)).unwrap_err();
    assert!(e.contains("without the party's signature"), "{e}");
    // An event about another agreement, whatever its kind.
    let other = deconflict_agreement::parse_toml(&deconflict_agreement::TEMPLATE_TOML.replacen(
        "horizontal_m = ",
        "horizontal_m = 1",
        1,
    ))
    .unwrap();
    let e = check(event(&other, AgreementEventKind::InForce, None)).unwrap_err();
    assert!(e.contains("not this agreement"), "{e}");
    // A notification or withdrawal is a party's, and a notification names its author.
    let notification = |author: &str, party: &str| {
        let fields = Fields::new()
            .with("party", FieldValue::text(party).unwrap())
            .unwrap();
        let body = EntryBody::Notification {
            fields,
            notification_id: text("n-1"),
        };
        Entry::new(KeyId::new(author).unwrap(), 0, body).unwrap()
    };
    let withdrawal = |author: &str| {
        let body = EntryBody::NotificationWithdrawal {
            notification_id: text("n-1"),
            reason: None,
        };
        Entry::new(KeyId::new(author).unwrap(), 0, body).unwrap()
    };
    check(notification("coalition", "coalition")).unwrap();
    check(withdrawal("russia")).unwrap();
    for (e, says) in [
        (notification("coalition", "russia"), "names another party"),
        (notification("service", "service"), "not a party"),
        (withdrawal("nobody"), "not a party"),
    ] {
        let err = check(e).unwrap_err();
        assert!(err.contains(says), "{err}");
    }
    // Other entries pass.
    let ack = Entry::new(
        KeyId::new("service").unwrap(),
        0,
        EntryBody::Acknowledgement {
            acknowledges: text("m-1"),
            fields: Fields::new(),
        },
    )
    .unwrap();
    check(ack).unwrap();
}

/// A stored alert whose body is not the JSON object the service wrote is a damaged store: its
/// geometry is refused, naming the alert, rather than read as an alert with no views.
#[test]
fn an_alert_whose_stored_body_is_not_json_is_refused_not_read_as_empty() {
    let alert = |body: &str| deconflict_store::Alert {
        id: "a-1".into(),
        conflict: "c-1".into(),
        kind: "new".into(),
        parties: vec!["a".into(), "b".into()],
        body: body.into(),
        created_ms: 0,
    };
    let e = alert_geometry(&alert("{not json")).unwrap_err();
    assert!(e.to_string().contains("alert a-1"), "{e}");
    assert!(alert_geometry(&alert("[1]")).is_err());
    let (level, _) = alert_geometry(&alert("{}")).unwrap();
    assert_eq!(level, "none");
}

/// A geography or nonconformance event whose stored body lacks its time, place or id is refused,
/// naming the event, rather than signed into the log with zeros and empty names.
#[test]
fn an_event_body_without_its_core_fields_is_refused_not_signed_as_zeros() {
    let event = |body: &str| deconflict_store::NewEvent {
        party: "a".into(),
        kind: "geography".into(),
        body: body.into(),
        created_ms: 0,
    };
    let full = r#"{"event_id":"g:a/t1:5:z","kind":"zone_entered","party":"a","track_id":"t1",
        "time_unix_ms":5,"lat_deg":1.5,"lon_deg":2.5,"alt_m":100.0}"#;
    let (_, core) = event_core(&event(full)).unwrap();
    assert_eq!((core.time_unix_ms, core.alt_m), (5, 100.0));
    assert_eq!(core.event_id, "g:a/t1:5:z");
    let e = event_core(&event(&full.replace(r#""time_unix_ms":5,"#, ""))).unwrap_err();
    assert!(e.to_string().contains("geography event for a"), "{e}");
    assert!(e.to_string().contains("time_unix_ms"), "{e}");
    assert!(event_core(&event("{not json")).is_err());
    assert!(event_core(&event(&full.replace(r#""party":"a","#, ""))).is_err());
}
