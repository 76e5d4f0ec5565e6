use super::*;

const MINIMAL: &str = "\
lookahead_time = 180.0 [s]
hysteresis_time = 5 [s]
alerting_m = 2
alerting_n = 4
alerters = A
A_alert_1_region = MID
A_alert_1_alerting_time = 55.0 [s]
A_alert_1_early_alerting_time = 75.0 [s]
A_alert_1_detector = det_1
A_det_1_WCV_DTHR = 0.66 [nmi]
A_det_1_WCV_ZTHR = 450.0 [ft]
A_det_1_WCV_TTHR = 35.0 [s]
A_det_1_WCV_TCOA = 0.0 [s]
A_load_core_detection_det_1 = gov.nasa.larcfm.ACCoRD.WCV_TAUMOD
";

fn check_err(text: &str, line: usize, needle: &str) {
    let e = parse_conf("t.conf", text).expect_err("must be rejected");
    let msg = e.to_string();
    assert_eq!(e.location.line, line, "{msg}");
    assert!(msg.contains(needle), "'{msg}' should mention '{needle}'");
}

#[test]
fn minimal_config_is_read_in_si() {
    let c = parse_conf("t.conf", MINIMAL).unwrap();
    assert_eq!(c.lookahead_s(), 180.0);
    assert_eq!(c.mofn(), MofN::new(2, 4));
    assert_eq!(c.alerters().len(), 1);
    let Detector::WcvTaumod(w) = c.alerters()[0].levels()[0].detector() else {
        panic!()
    };
    assert!((w.dthr_m() - 0.66 * 1852.0).abs() < 1e-9);
}

#[test]
fn unknown_unit_is_an_error_with_position() {
    check_err(
        &MINIMAL.replace("450.0 [ft]", "450.0 [fathom]"),
        11,
        "unknown unit [fathom]",
    );
    let e = parse_conf("t.conf", &MINIMAL.replace("450.0 [ft]", "450.0 [fathom]")).unwrap_err();
    assert_eq!(e.location.column, 26);
    assert!(e.to_string().starts_with("t.conf:11:26:"));
}

#[test]
fn wrong_dimension_unknown_key_and_nan_are_errors() {
    check_err(
        &MINIMAL.replace("450.0 [ft]", "450.0 [s]"),
        11,
        "not a unit of length",
    );
    check_err(
        &format!("{MINIMAL}lookahed_time = 3 [s]\n"),
        15,
        "unknown configuration key 'lookahed_time'",
    );
    check_err(
        &MINIMAL.replace("180.0 [s]", "NaN [s]"),
        1,
        "not a finite number",
    );
    check_err(&MINIMAL.replace("180.0 [s]", "-1 [s]"), 1, "out of range");
    check_err(
        &format!("{MINIMAL}hysteresis_time = 1 [s]\n"),
        15,
        "duplicate key",
    );
}

#[test]
fn sum_configuration_is_rejected_naming_the_key() {
    let e = parse_conf(
        "t.conf",
        &MINIMAL.replace("WCV_TAUMOD\n", "WCV_TAUMOD_SUM\n"),
    )
    .unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::SumNotSupported { ref key, .. } if key == "A_load_core_detection_det_1")
    );
    assert_eq!(e.location.line, 14);
}
