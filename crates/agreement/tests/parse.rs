//! Agreement file errors: each names the field (and where the file has it, the line and column).
//! One `check(edit, field, reason fragment)` per rule, in the manner of data-driven tests.

use deconflict_agreement::parse::AGREEMENT_BYTES_MAX;
use deconflict_agreement::*;
use proptest::prelude::*;

/// Applies `from → to` once to the template and expects an `Invalid` error on `field` whose
/// reason contains `reason`.
#[track_caller]
fn check(from: &str, to: &str, field: &str, reason: &str) {
    check_at(
        from,
        to,
        field,
        reason,
        to.lines().next().unwrap_or(to).trim(),
    );
}

/// As [`check`], with the error's line expected to contain `at`.
#[track_caller]
fn check_at(from: &str, to: &str, field: &str, reason: &str, at: &str) {
    assert!(TEMPLATE_TOML.contains(from), "template lacks {from:?}");
    let text = TEMPLATE_TOML.replacen(from, to, 1);
    match parse_toml(&text) {
        Err(e @ ParseError::Invalid { .. }) => {
            assert_eq!(e.field(), Some(field), "{e}");
            assert!(e.to_string().contains(reason), "{e}");
            let loc = e.location().expect("a location");
            // The location points into the edited line.
            let line = text.lines().nth(loc.line - 1).unwrap();
            assert!(line.contains(at), "{e} points at {line:?}");
        }
        other => panic!("{from} → {to}: expected an error on {field}, got {other:?}"),
    }
}

/// Expects a syntax-level error (unknown or missing field, wrong type) mentioning `fragment`.
#[track_caller]
fn check_syntax(from: &str, to: &str, fragment: &str) {
    let text = TEMPLATE_TOML.replacen(from, to, 1);
    assert_ne!(text, TEMPLATE_TOML);
    match parse_toml(&text) {
        Err(e @ ParseError::Syntax { .. }) => {
            assert!(e.to_string().contains(fragment), "{e}");
            assert!(e.location().is_some(), "{e}");
        }
        other => panic!("{from} → {to}: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn top_level_fields() {
    check(
        "format = \"deconflict.agreement.v1\"",
        "format = \"deconflict.agreement.v2\"",
        "format",
        "must be",
    );
    check(
        "title = \"Memorandum",
        "title = \"\\u0001Memorandum",
        "title",
        "control",
    );
    check("revision = 1", "revision = 0", "revision", "between 1");
    check(
        "# supersedes = ",
        "supersedes = \"sha256:00\" #",
        "supersedes",
        "64 lowercase hex",
    );
}

#[test]
fn separation_and_schedules() {
    check(
        "horizontal_m = 9260",
        "horizontal_m = 0",
        "separation.horizontal_m",
        "between 1 and 200000 m, got 0",
    );
    check(
        "vertical_m = 305",
        "vertical_m = -305",
        "separation.vertical_m",
        "got -305",
    );
    check(
        "lookahead_s = 120",
        "lookahead_s = 86400",
        "separation.lookahead_s",
        "between 1 and 3600 s",
    );
    check(
        "alerter = \"DO_365B_no_SUM\"",
        "alerter = \"DO 365\"",
        "separation.alerter",
        "alerter name",
    );
    check(
        "interval_s = 21600",
        "interval_s = 7000",
        "link_test.interval_s",
        "must divide the day",
    );
    check(
        "offset_s = 0",
        "offset_s = 21600",
        "link_test.offset_s",
        "less than interval_s",
    );
    check(
        "reply_deadline_s = 60",
        "reply_deadline_s = 0",
        "link_test.reply_deadline_s",
        "between 1",
    );
    check(
        "strike_warning = 120",
        "strike_warning = -1",
        "ack_deadline_s.strike_warning",
        "got -1",
    );
    check(
        "strike_warning = 120",
        "Strike = 120",
        "ack_deadline_s.Strike",
        "not an identifier",
    );
}

#[test]
fn parties() {
    check(
        "id = \"coalition\"",
        "id = \"Coalition\"",
        "party[0].id",
        "not an identifier",
    );
    check(
        "id = \"russia\"",
        "id = \"coalition\"",
        "party[1].id",
        "used twice",
    );
    check(
        "language = \"ru\"",
        "language = \"Russian\"",
        "party[1].language",
        "ISO 639",
    );
    check(
        "public_key = \"ed25519:8a88",
        "public_key = \"ed25519-sig:8a88",
        "party[0].public_key",
        "expected the prefix `ed25519:`",
    );
    check(
        "public_key = \"ed25519:8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394\"",
        "public_key = \"ed25519:8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c\"",
        "party[1].public_key",
        "two parties",
    );
    check(
        "disclose_track = [\"position\", \"altitude\", \"velocity\", \"callsign\"]",
        "disclose_track = [\"position\", \"mission\"]",
        "party[0].disclose_track[1]",
        "unknown track field \"mission\"",
    );
    check(
        "disclose_notification = [\"area\", \"altitude_band\", \"time_window\"]",
        "disclose_notification = [\"area\", \"area\"]",
        "party[0].disclose_notification[1]",
        "listed twice",
    );
    check(
        "shift_utc = \"06:00-18:00\"",
        "shift_utc = \"6-18\"",
        "party[0].contact[0].shift_utc",
        "HH:MM-HH:MM",
    );
    check_at(
        "shift_utc = \"18:00-06:00\"",
        "shift_utc = \"18:00-05:00\"",
        "party[0].contact",
        "05:00-06:00 UTC without a duty contact",
        "[[party.contact]]",
    );
    check(
        "role = \"duty officer\"",
        "role = \" \"",
        "party[0].contact[0].role",
        "must not be empty",
    );
}

#[test]
fn frequencies_lines_and_zones() {
    check(
        "hz = 121500000",
        "hz = 100",
        "frequency[0].hz",
        "between 3000",
    );
    check(
        "right_party = \"russia\"",
        "right_party = \"coalition\"",
        "dividing_line[0].right_party",
        "must differ",
    );
    check(
        "left_party = \"coalition\"",
        "left_party = \"nato\"",
        "dividing_line[0].left_party",
        "not a party",
    );
    check(
        "[[38.01,36.82],",
        "[[38.01,96.82],",
        "dividing_line[0].geometry",
        "latitude 96.82",
    );
    check(
        "[[38.01,36.82],",
        "[[38.01,36.82,300],",
        "dividing_line[0].geometry",
        "altitude is not accepted",
    );
    check(
        "[[38.01,36.82],",
        "[[38.012345678,36.82],",
        "dividing_line[0].geometry",
        "at most 7 decimals",
    );
    check(
        "\"LineString\"",
        "\"Polygon\"",
        "dividing_line[0].geometry",
        "coordinates[0][0] must be a position",
    );
    check(
        "{\"type\":\"LineString\",",
        "{\"type\":\"LineString\",\"crs\":1,",
        "dividing_line[0].geometry",
        "unknown GeoJSON member \"crs\"",
    );
    check(
        "{\"type\":\"LineString\",",
        "{\"type\":\"LineString\"",
        "dividing_line[0].geometry",
        "not GeoJSON",
    );
    check(
        "[38.66,33.5]",
        "[[38.66,33.5],[38.7,33.5],[38.7,33.6],[38.66,33.5]]",
        "zone[0].geometry",
        "",
    );
    check(
        "radius_m = 55000",
        "radius_m = 0",
        "zone[0].radius_m",
        "between 1",
    );
    check(
        "excluded_parties = [\"russia\"]",
        "excluded_parties = [\"russia\", \"russia\"]",
        "zone[0].excluded_parties[1]",
        "listed twice",
    );
    check(
        "id = \"al-tanf\"",
        "id = \"al tanf\"",
        "zone[0].id",
        "not an identifier",
    );
    check_at(
        "# ceiling_m = 15000",
        "floor_m = 100\nceiling_m = 100",
        "zone[0].ceiling_m",
        "must be above floor_m",
        "ceiling_m = 100",
    );
}

#[test]
fn unknown_missing_and_mistyped_fields_are_syntax_errors() {
    check_syntax("revision = 1", "revison = 1", "unknown field `revison`");
    check_syntax(
        "lookahead_s = 120",
        "lookahead_s = 120\nlookahead_ms = 1",
        "unknown field `lookahead_ms`",
    );
    check_syntax(
        "shift_utc = \"06:00-18:00\"",
        "shift = \"06:00-18:00\"",
        "unknown field `shift`",
    );
    check_syntax(
        "horizontal_m = 9260",
        "horizontal_m = 9260.5",
        "expected i64",
    );
    check_syntax("revision = 1\n", "", "missing field `revision`");
    check_syntax("title = \"Memo", "title = Memo", "");
}

#[test]
fn size_limit() {
    let big = format!("{TEMPLATE_TOML}\n#{}\n", "x".repeat(AGREEMENT_BYTES_MAX));
    assert!(matches!(parse_toml(&big), Err(ParseError::TooLarge { .. })));
}

#[test]
fn regression_location_inside_multibyte_text_does_not_panic() {
    // An error span inside Cyrillic text must map to a character column, not split a char.
    let text = TEMPLATE_TOML.replace("role = \"дежурный\"", "role = \"дежурный\\u0000\"");
    let e = parse_toml(&text).unwrap_err();
    assert!(e.to_string().contains("party[1].contact[0].role"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes never panic the parser.
    #[test]
    fn random_text_never_panics(s in "\\PC*") {
        let _ = parse_toml(&s);
    }

    /// Truncations and single-byte corruptions of the template never panic, and whatever still
    /// parses has a stable id (parsing twice gives the same canonical bytes).
    #[test]
    fn mutated_template_never_panics(cut in 0usize..4000, at in 0usize..4000, byte in any::<u8>()) {
        let mut bytes = TEMPLATE_TOML.as_bytes().to_vec();
        let at = at % bytes.len();
        bytes[at] = byte;
        bytes.truncate(cut.min(bytes.len()));
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Ok(a) = parse_toml(text)
        {
            let b = parse_toml(text).unwrap();
            prop_assert_eq!(a.canonical_bytes(), b.canonical_bytes());
        }
    }
}

/// A small alerter written out as DAIDALUS `.conf` text: one warning level, a 5 NM / 1000 ft
/// cylinder alerted 120 s ahead.
const CONF: &str = "lookahead_time = 120 [s]
alerters = mine
mine_alert_1_region = NEAR
mine_alert_1_alerting_time = 120 [s]
mine_alert_1_detector = det_1
mine_det_1_D = 9260 [m]
mine_det_1_H = 305 [m]
mine_load_core_detection_det_1 = gov.nasa.larcfm.ACCoRD.CDCylinder
";

/// The template with `alerter = …` replaced by `alerter_conf = """<conf>"""`.
fn with_conf(conf: &str) -> String {
    let from = "alerter = \"DO_365B_no_SUM\"";
    assert!(TEMPLATE_TOML.contains(from));
    TEMPLATE_TOML.replacen(from, &format!("alerter_conf = \"\"\"\n{conf}\"\"\""), 1)
}

#[test]
fn an_alerter_written_into_the_agreement_is_kept_and_signed_as_written() {
    let a = parse_toml(&with_conf(CONF)).unwrap();
    assert_eq!(a.separation().alerter_conf(), Some(CONF));
    assert_eq!(a.separation().alerter(), None);
    // It is part of what the parties sign: another configuration is another agreement.
    let other = parse_toml(&with_conf(&CONF.replace("9260 [m]", "9000 [m]"))).unwrap();
    assert_ne!(a.id(), other.id());
    let canonical = String::from_utf8(a.canonical_bytes().to_vec()).unwrap();
    assert!(canonical.contains("\"alerter_conf\":\"lookahead_time = 120 [s]\\nalerters = mine"));
}

#[test]
fn a_bad_alerter_conf_names_its_line_in_the_configuration_and_in_the_file() {
    // Line 6 of the configuration: a distance in an unknown unit.
    let bad = CONF.replace("mine_det_1_D = 9260 [m]", "mine_det_1_D = 9260 [furlong]");
    let text = with_conf(&bad);
    let e = parse_toml(&text).unwrap_err();
    assert_eq!(e.field(), Some("separation.alerter_conf"), "{e}");
    assert!(e.to_string().contains("line 6 of the configuration"), "{e}");
    assert!(e.to_string().contains("furlong"), "{e}");
    let loc = e.location().unwrap();
    let line = text.lines().nth(loc.line - 1).unwrap();
    assert_eq!(line, "mine_det_1_D = 9260 [furlong]", "{e}");

    // A key the DAIDALUS parser does not know, on the configuration's first line.
    let text = with_conf(&format!("lookahead_tim = 120 [s]\n{CONF}"));
    let e = parse_toml(&text).unwrap_err();
    assert!(e.to_string().contains("line 1 of the configuration"), "{e}");
    let loc = e.location().unwrap();
    assert!(
        text.lines()
            .nth(loc.line - 1)
            .unwrap()
            .starts_with("lookahead_tim ="),
        "{e}"
    );

    // No alerter at all: named after the configuration's last line.
    let e = parse_toml(&with_conf("lookahead_time = 120 [s]\n")).unwrap_err();
    assert_eq!(e.field(), Some("separation.alerter_conf"), "{e}");
    assert!(e.to_string().contains("'alerters'"), "{e}");
}

#[test]
fn an_agreement_names_its_alerter_or_writes_it_out_not_both() {
    let from = "alerter = \"DO_365B_no_SUM\"";
    let text = TEMPLATE_TOML.replacen(
        from,
        &format!("{from}\nalerter_conf = \"\"\"\n{CONF}\"\"\""),
        1,
    );
    let e = parse_toml(&text).unwrap_err();
    assert_eq!(e.field(), Some("separation.alerter_conf"), "{e}");
    assert!(e.to_string().contains("not both"), "{e}");
}

/// The template with `[party.names]` added to the Russian party.
fn with_russian_names(names: &str) -> String {
    let from = "disclose_notification = [\"area\", \"altitude_band\", \"time_window\"]\n\n[[party.contact]]\nname = \"Дежурный офицер, Хмеймим\"";
    assert!(TEMPLATE_TOML.contains(from), "template changed");
    TEMPLATE_TOML.replacen(
        from,
        &format!(
            "disclose_notification = [\"area\", \"altitude_band\", \"time_window\"]\n\n[party.names]\n{names}\n\n[[party.contact]]\nname = \"Дежурный офицер, Хмеймим\""
        ),
        1,
    )
}

#[test]
fn a_party_names_itself_in_other_languages_and_the_names_are_signed() {
    let plain = parse_toml(TEMPLATE_TOML).unwrap();
    let a = parse_toml(&with_russian_names(
        "ru = \"Российская Федерация\"\nen = \"Russia\"",
    ))
    .unwrap();
    let russia = &a.parties()[1];
    assert_eq!(russia.name_in("ru"), "Российская Федерация");
    assert_eq!(russia.name_in("en"), "Russia");
    // No name in a language: the party's own name.
    assert_eq!(russia.name_in("ar"), "Russian Federation");
    assert_eq!(a.parties()[0].name_in("ru"), "Coalition");
    // Part of the signed document: the id changes, and the canonical form carries them back.
    assert_ne!(a.id(), plain.id());
    let back = deconflict_agreement::decode::from_canonical_json(a.canonical_bytes()).unwrap();
    assert_eq!(back.id(), a.id());
    assert_eq!(back.parties()[1].names(), russia.names());
}

#[test]
fn a_party_name_in_another_language_is_checked_like_any_name() {
    for (names, field, reason) in [
        ("Russian = \"Россия\"", "party[1].names.Russian", "ISO 639"),
        ("ru = \"  \"", "party[1].names.ru", "must not be empty"),
        (
            "ru = \"a\\u0007b\"",
            "party[1].names.ru",
            "control characters",
        ),
    ] {
        match parse_toml(&with_russian_names(names)) {
            Err(e @ ParseError::Invalid { .. }) => {
                assert_eq!(e.field(), Some(field), "{e}");
                assert!(e.to_string().contains(reason), "{e}");
                assert!(e.location().is_some(), "{e}");
            }
            other => panic!("{names}: expected an error on {field}, got {other:?}"),
        }
    }
    match parse_toml(&with_russian_names("ru = 7")) {
        Err(e @ ParseError::Syntax { .. }) => assert!(e.location().is_some(), "{e}"),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}
