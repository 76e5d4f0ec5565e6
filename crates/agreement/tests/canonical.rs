//! The canonical encoding: golden bytes for the template, RFC 8785 known answers, stability.

use deconflict_agreement::*;

#[test]
fn template_canonical_bytes_match_the_golden_file_byte_for_byte() {
    // The golden file comes from testdata/make_golden.py, an independent Python implementation
    // of the documented shape (see testdata/README.md).
    let a = parse_toml(TEMPLATE_TOML).unwrap();
    let golden = include_bytes!("../testdata/template.canonical.json");
    if a.canonical_bytes() != golden {
        panic!(
            "canonical bytes differ from the golden file\n   got: {}\nwanted: {}",
            String::from_utf8_lossy(a.canonical_bytes()),
            String::from_utf8_lossy(golden)
        );
    }
    assert_eq!(
        format!("{}\n", a.id()),
        include_str!("../testdata/template.id")
    );
}

#[test]
fn layout_comments_and_key_order_do_not_change_the_id() {
    let a = parse_toml(TEMPLATE_TOML).unwrap();
    // Strip comments and blank lines, and swap two keys inside [separation].
    let stripped: String = TEMPLATE_TOML
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| match l.find(" #") {
            Some(i) if !l.contains('\'') && l.matches('"').count() % 2 == 0 => l[..i].trim_end(),
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let swapped = stripped.replace(
        "horizontal_m = 9260\nvertical_m = 305",
        "vertical_m = 305\nhorizontal_m = 9260",
    );
    assert_ne!(swapped, stripped, "the swap must apply");
    let b = parse_toml(&swapped).unwrap();
    assert_eq!(a.id(), b.id());
    // Sets are sorted: the order of disclosure fields does not matter either.
    let reordered = TEMPLATE_TOML.replace(
        r#"disclose_track = ["position", "altitude", "velocity", "callsign"]"#,
        r#"disclose_track = ["callsign", "velocity", "altitude", "position"]"#,
    );
    assert_eq!(parse_toml(&reordered).unwrap().id(), a.id());
}

#[test]
fn every_value_changes_the_id() {
    let a = parse_toml(TEMPLATE_TOML).unwrap();
    for (from, to) in [
        ("revision = 1", "revision = 2"),
        ("lookahead_s = 120", "lookahead_s = 121"),
        ("strike_warning = 120", "strike_warning = 119"),
        ("[38.66,33.5]", "[38.66,33.5000001]"),
        ("radius_m = 55000", "radius_m = 55001"),
        ("shift_utc = \"06:00-18:00\"", "shift_utc = \"06:00-18:01\""),
        ("\"callsign\"]", "\"callsign\", \"icao24\"]"),
        ("name = \"Guard\"", "name = \"Guard \""),
    ] {
        let text = TEMPLATE_TOML.replacen(from, to, 1);
        assert_ne!(text, TEMPLATE_TOML, "{from}");
        let b = parse_toml(&text).unwrap_or_else(|e| panic!("{to}: {e}"));
        assert_ne!(a.id(), b.id(), "{from} → {to}");
    }
}

#[test]
fn rfc8785_section_3_2_2_known_answer() {
    // RFC 8785 §3.2.2 input and §3.2.3 output (numbers, string escapes, literals).
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    let expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    let value: serde_json::Value = serde_json::from_str(input).unwrap();
    assert_eq!(String::from_utf8(canonical::jcs(&value)).unwrap(), expected);
}

#[test]
fn rfc8785_section_3_2_3_sorting_known_answer() {
    // Property names sorted by UTF-16 code units, so U+1F600 (surrogates D83D DE00) sorts
    // before U+FB33, unlike a sort by code points or UTF-8 bytes.
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let expected = concat!(
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",",
        "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",",
        "\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    );
    let value: serde_json::Value = serde_json::from_str(input).unwrap();
    assert_eq!(String::from_utf8(canonical::jcs(&value)).unwrap(), expected);
}

#[test]
fn canonical_bytes_are_integers_and_strings_only() {
    fn check(v: &serde_json::Value) {
        match v {
            serde_json::Value::Number(n) => assert!(n.is_i64() || n.is_u64(), "{n}"),
            serde_json::Value::Array(a) => a.iter().for_each(check),
            serde_json::Value::Object(o) => o.values().for_each(check),
            serde_json::Value::String(_) => {}
            other => panic!("unexpected {other}"),
        }
    }
    let a = parse_toml(TEMPLATE_TOML).unwrap();
    check(&serde_json::from_slice(a.canonical_bytes()).unwrap());
}

#[test]
fn canonical_bytes_read_back_to_the_same_agreement() {
    let a = parse_toml(TEMPLATE_TOML).unwrap();
    let b = deconflict_agreement::decode::from_canonical_json(a.canonical_bytes()).unwrap();
    assert_eq!(a, b);
    // The golden bytes too, which this crate did not write.
    let golden = include_bytes!("../testdata/template.canonical.json");
    assert_eq!(
        deconflict_agreement::decode::from_canonical_json(golden)
            .unwrap()
            .id(),
        a.id()
    );
}

#[test]
fn non_canonical_or_invalid_json_is_refused() {
    let a = parse_toml(TEMPLATE_TOML).unwrap();
    let text = String::from_utf8(a.canonical_bytes().to_vec()).unwrap();
    let cases: Vec<(String, &str)> = vec![
        (format!(" {text}"), "not in canonical form"),
        (
            text.replacen("{", "{\"extra\":1,", 1),
            "unknown field `extra`",
        ),
        (
            text.replace("\"horizontal_m\":9260", "\"horizontal_m\":0"),
            "separation.horizontal_m",
        ),
        (text.replace("\"revision\":1", "\"revision\":1.0"), ""),
        (
            text.replace("386600000", "386600000.5"),
            "1e-7 degree integers",
        ),
        (text[..text.len() - 1].to_owned(), "not JSON"),
    ];
    for (input, fragment) in cases {
        let e = deconflict_agreement::decode::from_canonical_json(input.as_bytes()).unwrap_err();
        assert!(e.to_string().contains(fragment), "{fragment}: {e}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Mutated canonical bytes never panic the reader, and what it accepts is exactly canonical.
    #[test]
    fn mutated_canonical_bytes_never_panic(cut in 0usize..2000, at in 0usize..2000, byte in proptest::prelude::any::<u8>()) {
        let a = parse_toml(TEMPLATE_TOML).unwrap();
        let mut bytes = a.canonical_bytes().to_vec();
        let at = at % bytes.len();
        bytes[at] = byte;
        bytes.truncate(cut.min(bytes.len()));
        if let Ok(b) = deconflict_agreement::decode::from_canonical_json(&bytes) {
            proptest::prop_assert_eq!(b.canonical_bytes(), &bytes[..]);
        }
    }
}
