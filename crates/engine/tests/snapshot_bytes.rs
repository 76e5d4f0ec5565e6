//! The snapshot parser on random, truncated and mutated bytes (the same contract as the fuzz
//! target `fuzz/fuzz_targets/snapshot_csv.rs`, run in `cargo test` on stable): an error or a
//! snapshot, never a panic, and an accepted snapshot probes identically with the oracle.

use deconflict_engine::snapshot::parse;
use deconflict_engine::{ProbeConfig, probe, probe_exact};
use proptest::prelude::*;

const VALID: &str = "id,party,lat_deg,lon_deg,alt_ft,trk_deg,gs_kt,vs_fpm
1,blue,35.0,36.0,30000,90,450,0
2,red,35.0,36.1,30000,270,450,0
3,red,35.05,36.05,29500,10,300,1500
A-7,green,-89.99,180,41000,359.9,900,-6000
";

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn truncated_valid_input_parses_or_errs(cut in 0..VALID.len()) {
        if let Ok(s) = parse(&VALID.as_bytes()[..cut]) {
            let c = ProbeConfig::default();
            prop_assert_eq!(probe(&s, &c), probe_exact(&s, &c));
        }
    }

    #[test]
    fn mutated_valid_input_parses_or_errs(edits in proptest::collection::vec((0..VALID.len(), any::<u8>()), 1..6)) {
        let mut bytes = VALID.as_bytes().to_vec();
        for (at, b) in edits {
            bytes[at] = b;
        }
        if let Ok(s) = parse(&bytes) {
            let c = ProbeConfig::default();
            prop_assert_eq!(probe(&s, &c), probe_exact(&s, &c));
        }
    }

    #[test]
    fn csv_like_text_never_panics(text in "(id|party|lat_deg|[0-9.eE+-]{0,8}|NaN|inf|,|\\n|\\r| |\"|[a-z]{1,3}){0,80}") {
        let _ = parse(text.as_bytes());
    }
}

#[test]
fn the_valid_example_parses() {
    assert_eq!(parse(VALID.as_bytes()).unwrap().len(), 4);
}
