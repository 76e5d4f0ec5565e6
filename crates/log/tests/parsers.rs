//! Every parser of outside bytes, over random and mutated inputs (the same parsers the fuzz
//! targets in `fuzz/` exercise): an error or a value, never a panic; and whatever is accepted as
//! a signed record is exactly its canonical form.

use deconflict_log::export::parse_header;
use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, KeyId, KeyRing, Monitor, SignedEntry, SignedTreeHead,
    SigningKey, Text, TreeHead, TreeHeadUpdate, saved_tree_head_from_json,
};
use proptest::prelude::*;

fn valid_entry() -> Vec<u8> {
    let e = Entry::new(
        KeyId::new("blue").unwrap(),
        1_700_000_000_000,
        EntryBody::IncidentReport {
            incident_id: Text::new("inc-7").unwrap(),
            fields: Fields::new()
                .with("closest_h_m", FieldValue::int(480).unwrap())
                .unwrap()
                .with("account", FieldValue::text("\"quoted\" \\ \u{1}").unwrap())
                .unwrap(),
        },
    )
    .unwrap();
    SignedEntry::sign(e, &SigningKey::from_bytes(&[2; 32]))
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn valid_head() -> Vec<u8> {
    let th = TreeHead::new(
        KeyId::new("service").unwrap(),
        3,
        deconflict_log::Hash::leaf(b"x"),
        5,
    )
    .unwrap();
    SignedTreeHead::sign(th, &SigningKey::from_bytes(&[1; 32]))
        .as_bytes()
        .to_vec()
}

fn all_parsers(data: &[u8]) {
    if let Ok(e) = SignedEntry::from_bytes(data) {
        assert_eq!(e.as_bytes(), data);
    }
    if let Ok(h) = SignedTreeHead::from_bytes(data) {
        assert_eq!(h.as_bytes(), data);
    }
    let _ = TreeHeadUpdate::from_json(data);
    let _ = Monitor::from_json(data);
    let _ = saved_tree_head_from_json(data);
    let _ = KeyRing::from_json(data);
    let _ = parse_header(data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        all_parsers(&data);
    }

    #[test]
    fn mutated_entries_and_heads(which in any::<bool>(), at_frac in 0.0..1.0f64, byte in any::<u8>(), cut in any::<bool>()) {
        let mut data = if which { valid_entry() } else { valid_head() };
        let at = ((data.len() as f64 * at_frac) as usize).min(data.len() - 1);
        if cut {
            data.truncate(at);
        } else {
            data[at] = byte;
        }
        all_parsers(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text (control characters, quotes, non-ASCII, astral planes) and any integer in range:
    /// signing asserts the compact and RFC 8785 forms agree, and the bytes parse back as
    /// canonical.
    #[test]
    fn any_text_and_integer_round_trip_canonically(
        text in any::<String>(),
        int in -((1i64 << 53) - 1)..=((1i64 << 53) - 1),
        time_ms in 0u64..(1u64 << 53),
    ) {
        let fields = Fields::new()
            .with("t", FieldValue::text(text.clone()).unwrap())
            .unwrap()
            .with("n_m", FieldValue::int(int).unwrap())
            .unwrap();
        let e = Entry::new(
            KeyId::new("blue").unwrap(),
            time_ms,
            EntryBody::LineMessage { fields, message_id: Text::new(text).unwrap() },
        )
        .unwrap();
        let s = SignedEntry::sign(e, &SigningKey::from_bytes(&[2; 32])).unwrap();
        let back = SignedEntry::from_bytes(s.as_bytes()).unwrap();
        prop_assert_eq!(back, s);
    }
}

#[test]
fn escapes_in_text_round_trip_canonically() {
    let e = valid_entry();
    assert_eq!(SignedEntry::from_bytes(&e).unwrap().as_bytes(), &e[..]);
}
