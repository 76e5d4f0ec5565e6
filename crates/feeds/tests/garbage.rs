//! Outside bytes never stop ingestion: random bytes, truncated records and garbage between good
//! records give no panic, bounded buffers, exact counters, and every good record around the
//! garbage still comes out.

use deconflict_feeds::frame::Record;
use deconflict_feeds::framing::beast::{BeastClock, ESCAPE, encode_record};
use deconflict_feeds::framing::{BUFFER_BYTES_MAX, Format, Framer, LINE_BYTES_MAX, framer};
use deconflict_feeds::pipeline::{Pipeline, PipelineConfig, TimeMode};
use deconflict_feeds::report::SourceId;
use proptest::prelude::*;

/// Real frames (from the recordings): a DF17 identification, a DF17 position, a DF4, a DF11.
const FRAMES: [&str; 4] = [
    "8d4ca7b3990c3b0f0804a85c6f1a",
    "8d40058b58c901375147efd09357",
    "20001838ca3804",
    "5d4ca7b3a7a8b4",
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A good record of `format` carrying frame `i % 4`, with a distinguishing timestamp.
fn good_record(format: Format, i: usize) -> Vec<u8> {
    let f = FRAMES[i % FRAMES.len()];
    match format {
        Format::Beast => {
            let bytes = hex(f);
            let mut out = Vec::new();
            encode_record(
                if bytes.len() == 7 { b'2' } else { b'3' },
                i as u64,
                0x1a,
                &bytes,
                &mut out,
            );
            out
        }
        Format::Avr => format!("@{:012X}{f};\n", i).into_bytes(),
        Format::HexCsv => format!("{}.5,{f}\n", 1_700_000_000 + i).into_bytes(),
        Format::Sbs => format!(
            "MSG,3,,,{:06X},,,,,,,{},,,45.0,7.0,,,0,0,0,0\n",
            0x400000 + i,
            1000 + i
        )
        .into_bytes(),
        _ => unreachable!(),
    }
}

fn drain(f: &mut dyn Framer, bytes: &[u8], chunk: usize) -> Vec<Record> {
    let mut out = Vec::new();
    for c in bytes.chunks(chunk.max(1)) {
        let mut rest = c;
        while !rest.is_empty() {
            let n = f.push(rest);
            rest = &rest[n..];
            assert!(f.buffered_bytes() <= BUFFER_BYTES_MAX);
            while let Some(r) = f.next_record() {
                out.push(r);
            }
        }
    }
    f.finish();
    while let Some(r) = f.next_record() {
        out.push(r);
    }
    out
}

const FORMATS: [Format; 4] = [Format::Beast, Format::Avr, Format::Sbs, Format::HexCsv];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes: no panic, bounded buffer, every record counted once.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096), chunk in 1usize..300, which in 0usize..4) {
        let mut f = framer(FORMATS[which], BeastClock::Counter12MHz);
        let out = drain(f.as_mut(), &bytes, chunk);
        prop_assert_eq!(out.len() as u64, f.counters().records);
        prop_assert_eq!(f.buffered_bytes(), 0);
    }

    /// Good records with garbage lines between them (text formats): every good record comes out
    /// in order, each garbage line is counted exactly once under its reason.
    #[test]
    fn text_garbage_lines_are_counted_and_skipped(
        garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no line end", |b| *b != b'\n' && *b != b'\r'), 0..700), 1..12),
        chunk in 1usize..200,
        which in 1usize..4,
    ) {
        let format = FORMATS[which];
        let mut stream = Vec::new();
        let (mut want_malformed, mut want_too_long) = (0, 0);
        for (i, g) in garbage.iter().enumerate() {
            stream.extend(good_record(format, i));
            // A leading '#' makes the line malformed in every text format.
            let line: Vec<u8> = std::iter::once(b'#').chain(g.iter().copied()).collect();
            if line.len() > LINE_BYTES_MAX { want_too_long += 1 } else { want_malformed += 1 }
            stream.extend(line);
            stream.push(b'\n');
        }
        stream.extend(good_record(format, garbage.len()));
        let mut f = framer(format, BeastClock::Counter12MHz);
        let out = drain(f.as_mut(), &stream, chunk);
        let mut clean = framer(format, BeastClock::Counter12MHz);
        let want: Vec<Record> = (0..=garbage.len()).flat_map(|i| drain(clean.as_mut(), &good_record(format, i), 1000)).collect();
        prop_assert_eq!(out, want);
        prop_assert_eq!(f.counters().malformed, want_malformed);
        prop_assert_eq!(f.counters().too_long, want_too_long);
    }

    /// Beast with garbage between records. Without 0x1a in the garbage every good record survives
    /// and every garbage byte is counted; with it, a garbage chunk can take at most the one good
    /// record that follows it (a trailing lone 0x1a escapes the next record's start).
    #[test]
    fn beast_garbage_between_records(
        garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..20),
        chunk in 1usize..100,
        allow_escape in any::<bool>(),
    ) {
        let mut stream = Vec::new();
        let mut garbage_bytes = 0;
        let mut chunks_with_escape = 0;
        for (i, g) in garbage.iter().enumerate() {
            stream.extend(good_record(Format::Beast, i));
            let g: Vec<u8> = g.iter().copied().filter(|&b| allow_escape || b != ESCAPE).collect();
            garbage_bytes += g.len() as u64;
            chunks_with_escape += usize::from(g.contains(&ESCAPE));
            stream.extend(g);
        }
        stream.extend(good_record(Format::Beast, garbage.len()));
        let mut f = framer(Format::Beast, BeastClock::Counter12MHz);
        let out = drain(f.as_mut(), &stream, chunk);
        let good: Vec<Record> = out.iter().filter(|r| matches!(r, Record::ModeS(raw) if FRAMES.iter().any(|h| hex(h) == raw.frame.as_bytes()))).cloned().collect();
        if allow_escape {
            prop_assert!(good.len() + chunks_with_escape > garbage.len(), "more good records lost than garbage chunks with 0x1a");
        } else {
            prop_assert_eq!(good.len(), garbage.len() + 1);
            prop_assert_eq!(out.len(), garbage.len() + 1);
            prop_assert_eq!(f.counters().garbage_bytes, garbage_bytes);
        }
    }

    /// A stream cut anywhere gives a prefix of what the whole stream gives.
    #[test]
    fn truncated_stream_gives_a_prefix(n in 1usize..30, cut_frac in 0.0f64..1.0, which in 0usize..4) {
        let format = FORMATS[which];
        let stream: Vec<u8> = (0..n).flat_map(|i| good_record(format, i)).collect();
        let cut = ((stream.len() as f64) * cut_frac) as usize;
        let full = drain(framer(format, BeastClock::Counter12MHz).as_mut(), &stream, 4096);
        prop_assert_eq!(full.len(), n);
        // Records wholly before the cut.
        let mut end = 0;
        let complete = (0..n).take_while(|&i| { end += good_record(format, i).len(); end <= cut }).count();
        let mut f = framer(format, BeastClock::Counter12MHz);
        let part = drain(f.as_mut(), &stream[..cut], 17);
        prop_assert!(part.len() >= complete && part.len() <= complete + 1);
        prop_assert_eq!(&part[..complete], &full[..complete]);
    }

    /// The whole pipeline on random bytes: no panic, decoder counters add up, tracks bounded.
    #[test]
    fn pipeline_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096), which in 0usize..4) {
        let mut cfg = PipelineConfig::new(FORMATS[which], TimeMode::Record);
        cfg.tracker.tracks_max = 4;
        let mut p = Pipeline::new(cfg);
        p.push(SourceId(1), 0.0, &bytes, |_| {});
        p.close(SourceId(1), 0.0, |_| {});
        let c = p.counters();
        let d = c.decode;
        prop_assert_eq!(d.frames, d.decoded + d.bad_crc + d.unknown_df + d.length_mismatch + d.malformed + d.cpr_states_full);
        prop_assert!(c.tracks_alive <= 4);
    }
}

#[test]
fn garbage_between_good_frames_still_decodes_through_the_pipeline() {
    for format in FORMATS {
        let mut stream = Vec::new();
        for i in 0..8 {
            stream.extend(good_record(format, i));
            stream.extend_from_slice(b"#\x00\xff garbage \x1a\x1a\n");
        }
        let mut p = Pipeline::new(PipelineConfig::new(format, TimeMode::Record));
        let mut updates = 0;
        p.push(SourceId(0), 0.0, &stream, |_| updates += 1);
        p.close(SourceId(0), 0.0, |_| updates += 1);
        let c = p.counters();
        assert_eq!(c.framing.records, 8, "{format:?}");
        assert!(
            c.framing.rejected() + c.framing.garbage_bytes > 0,
            "{format:?}"
        );
        assert!(updates > 0, "{format:?}");
    }
}
