//! Readers of outside lifecycle data: random and mutated input never panics, and what reads
//! back re-encodes to the same bytes.

use deconflict_agreement::lifecycle::*;
use deconflict_agreement::*;
use proptest::prelude::*;

fn sample_records() -> Vec<Vec<u8>> {
    let a = parse_toml(TEMPLATE_TOML).unwrap();
    let mut h = History::new(a.clone());
    for (i, p) in a.parties().iter().enumerate() {
        let key = SecretKey::from_seed([i as u8 + 1; 32]);
        let sig = AgreementSignature::sign(&a, p.id(), &key).unwrap();
        h.apply(Event::Sign(sig), 5).unwrap();
    }
    let st = Statement::new(
        a.id(),
        a.parties()[1].id().clone(),
        h.state().basis_seq(),
        Action::Suspend {
            reason: "Приостановлено".into(),
        },
    )
    .unwrap()
    .sign(&SecretKey::from_seed([2; 32]));
    h.apply(Event::Statement(st), 6).unwrap();
    h.records().iter().map(Record::to_json).collect()
}

#[test]
fn statement_json_round_trips_and_refuses_unknown_members() {
    let a = parse_toml(TEMPLATE_TOML).unwrap();
    let st = Statement::new(
        a.id(),
        PartyId::new("russia").unwrap(),
        3,
        Action::Reactivate {
            conditions: "line tests twice daily".into(),
        },
    )
    .unwrap()
    .sign(&SecretKey::from_seed([2; 32]));
    let json = st.to_value().to_string();
    assert_eq!(SignedStatement::from_json(json.as_bytes()).unwrap(), st);
    let extra = json.replacen("{", "{\"note\":1,", 1);
    assert!(matches!(
        SignedStatement::from_json(extra.as_bytes()),
        Err(LifecycleError::Json(m)) if m.contains("note")
    ));
    let both = json.replace("\"conditions\"", "\"reason\":\"x\",\"conditions\"");
    assert!(SignedStatement::from_json(both.as_bytes()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Record::from_json(&data);
        let _ = SignedStatement::from_json(&data);
        if let Ok(t) = std::str::from_utf8(&data) {
            let _ = AgreementSignature::from_file_text(t);
        }
    }

    #[test]
    fn mutated_records_never_panic_and_survivors_round_trip(
        which in 0usize..3, cut in 0usize..2000, at in 0usize..2000, byte in any::<u8>()
    ) {
        let records = sample_records();
        let mut bytes = records[which % records.len()].clone();
        let at = at % bytes.len();
        bytes[at] = byte;
        bytes.truncate(cut.min(bytes.len()));
        if let Ok(r) = Record::from_json(&bytes) {
            prop_assert_eq!(Record::from_json(&r.to_json()).unwrap(), r);
        }
    }
}

#[test]
fn statement_canonical_bytes_known_answer() {
    // Written by hand from the documented shape: keys sorted, no whitespace, integers bare,
    // non-ASCII text as UTF-8 (RFC 8785 §3.2.2.2), newline escaped as \n.
    let id = AgreementId::from_bytes([0x11; 32]);
    let st = Statement::new(
        id,
        PartyId::new("russia").unwrap(),
        7,
        Action::Suspend {
            reason: "Удар по Шайрату\nline stays open".into(),
        },
    )
    .unwrap();
    let expected = format!(
        "{{\"action\":\"suspend\",\"agreement\":\"sha256:{}\",\"basis_seq\":7,\
         \"format\":\"deconflict.agreement-statement.v1\",\"party\":\"russia\",\
         \"reason\":\"Удар по Шайрату\\nline stays open\"}}",
        "11".repeat(32)
    );
    assert_eq!(String::from_utf8(st.canonical_bytes()).unwrap(), expected);
}
