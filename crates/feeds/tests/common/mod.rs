//! Helpers shared by the integration tests: read a recording from `testdata/`, run it through
//! the pipeline, summarise what came out.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;

use deconflict_feeds::framing::Format;
use deconflict_feeds::pipeline::{Counters, Pipeline, PipelineConfig, TimeMode};
use deconflict_feeds::report::{LatLon, SourceId};

pub fn testdata(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    } else {
        raw
    }
}

/// A track update as printed: icao and position.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub icao: u32,
    pub position: Option<LatLon>,
}

pub struct Summary {
    pub counters: Counters,
    /// Aircraft that ever had a track.
    pub aircraft: BTreeSet<u32>,
    /// Aircraft that ever had a position.
    pub aircraft_with_position: BTreeSet<u32>,
    /// Track updates that carried a new position.
    pub position_updates: u64,
    pub updates: Vec<Update>,
}

pub fn reference(lat: f64, lon: f64) -> Option<LatLon> {
    LatLon::new(lat, lon)
}

/// Runs `bytes` through a pipeline, in chunks of `chunk` bytes, on the records' own clock.
pub fn ingest(format: Format, bytes: &[u8], reference: Option<LatLon>, chunk: usize) -> Summary {
    let mut cfg = PipelineConfig::new(format, TimeMode::Record);
    cfg.decoder.reference = reference;
    let mut p = Pipeline::new(cfg);
    let mut s = Summary {
        counters: Counters::default(),
        aircraft: BTreeSet::new(),
        aircraft_with_position: BTreeSet::new(),
        position_updates: 0,
        updates: Vec::new(),
    };
    let mut last_pos = std::collections::HashMap::new();
    let mut on = |t: &deconflict_feeds::track::Track| {
        let icao = t.icao.get();
        s.aircraft.insert(icao);
        let pos = t.position;
        if pos.is_some() {
            s.aircraft_with_position.insert(icao);
            if last_pos.insert(icao, pos) != Some(pos) {
                s.position_updates += 1;
            }
        }
        s.updates.push(Update {
            icao,
            position: pos,
        });
    };
    for c in bytes.chunks(chunk.max(1)) {
        p.push(SourceId(0), 0.0, c, &mut on);
    }
    p.close(SourceId(0), 0.0, &mut on);
    s.counters = p.counters();
    s
}
