//! What grading a few new tracks between cycles costs against the whole broad phase, on the
//! synthetic world of 100,000 aircraft: `Picture::candidates_of` for two tracks and
//! `Picture::candidates` for all, interleaved, five rounds, medians and their ratio.
//!
//! `cargo run --release -p deconflict-engine --example arrivals_cost`

use deconflict_engine::synth::{WorldConfig, world};
use deconflict_engine::{Picture, Timestamp, TrackReport, picture::PictureConfig};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let s = world(&WorldConfig::default(), 1).expect("the default world is valid");
    let mut p = Picture::new(PictureConfig::default());
    let t0 = Timestamp::from_unix_ms(0);
    for t in s.tracks() {
        let r = TrackReport::new(t.id().clone(), t.party().clone(), t0, *t.state());
        p.update(t0, r).expect("a fresh world's report is accepted");
    }
    let of = [s.tracks()[5].id().clone(), s.tracks()[77].id().clone()];
    let now = Timestamp::from_unix_ms(500);
    let (mut few, mut all) = (Vec::new(), Vec::new());
    let (mut few_pairs, mut all_pairs) = (0, 0);
    for _ in 0..5 {
        let t = std::time::Instant::now();
        few_pairs = p.candidates_of(now, &of, false).pairs.len();
        few.push(t.elapsed().as_secs_f64() * 1e3);
        let mut whole = p.clone();
        let t = std::time::Instant::now();
        all_pairs = whole.candidates(now, false).pairs.len();
        all.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (few, all) = (median(few), median(all));
    println!(
        "{} tracks: candidates of 2 new tracks {few:.1} ms ({few_pairs} pairs) · whole broad phase {all:.1} ms ({all_pairs} pairs) · ratio {:.1}x",
        s.tracks().len(),
        all / few
    );
}
