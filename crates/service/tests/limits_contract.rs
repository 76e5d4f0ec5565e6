//! The limits the README promises for `POST /v1/tracks/batch` are the ones in force: read from
//! the code, stated in the README, and sent exactly at and just over. Each refusal has its own
//! code.

mod common;

use common::*;
use deconflict_client::wire::REPORTS_PER_BATCH_MAX;
use deconflict_service::limits::BODY_BYTES_MAX;
use serde_json::json;

fn batch(n: usize) -> String {
    let reports: Vec<_> = (0..n)
        .map(|i| {
            report(
                &format!("T{i}"),
                T0_MS,
                35.0 + (i % 100) as f64 * 0.01,
                39.0 + (i / 100) as f64 * 0.01,
                7000.0,
                90.0,
                200.0,
            )
        })
        .collect();
    json!({ "reports": reports }).to_string()
}

/// The body padded with spaces after the JSON value to exactly `len` bytes.
fn padded(body: &str, len: usize) -> String {
    assert!(body.len() <= len, "{} > {len}", body.len());
    format!("{body}{}", " ".repeat(len - body.len()))
}

#[test]
fn the_readme_states_the_limits_in_force() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert_eq!(BODY_BYTES_MAX, 4 << 20);
    assert!(
        readme.contains("at most 4 MiB (413 `body_too_large`)"),
        "README: body limit"
    );
    assert_eq!(REPORTS_PER_BATCH_MAX, 10_000);
    assert!(
        readme.contains("up to 10,000 (more: 413 `too_many_reports`)"),
        "README: batch limit"
    );
    for code in ["body_too_large", "too_many_reports"] {
        assert!(readme.contains(&format!("`{code}`")), "README: {code}");
    }
}

#[tokio::test]
async fn a_batch_exactly_at_each_limit_is_accepted_and_just_over_is_refused_by_name() {
    let h = harness();
    // The most reports, in a body padded to the most bytes: accepted whole.
    let full = batch(REPORTS_PER_BATCH_MAX);
    assert!(
        full.len() > 2 << 20,
        "the batch is over 2 MiB: {}",
        full.len()
    );
    let (s, v) = h
        .call(
            "POST",
            "/v1/tracks/batch",
            &padded(&full, BODY_BYTES_MAX),
            "coalition",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["accepted"], REPORTS_PER_BATCH_MAX);
    // One byte more: 413 body_too_large.
    let (s, v) = h
        .call(
            "POST",
            "/v1/tracks/batch",
            &padded(&full, BODY_BYTES_MAX + 1),
            "coalition",
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (413, Some("body_too_large")),
        "{v}"
    );
    // One report more (within the byte limit): 413 too_many_reports.
    let over = batch(REPORTS_PER_BATCH_MAX + 1);
    assert!(over.len() <= BODY_BYTES_MAX);
    let (s, v) = h.call("POST", "/v1/tracks/batch", &over, "coalition").await;
    assert_eq!(
        (s, v["code"].as_str(), v["field"].as_str()),
        (413, Some("too_many_reports"), Some("reports")),
        "{v}"
    );
}
