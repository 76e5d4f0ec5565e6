//! A report over arbitrary bytes: refused with an error, or computed and rendered in every
//! format and language, never a panic.
#![no_main]

use deconflict_log::VerifyOptions;
use deconflict_report::figures::Deadlines;
use deconflict_report::{Format, Lang, Options, compute, read_export, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(facts) = read_export(data, VerifyOptions::default()) else {
        return;
    };
    let options = Options {
        from_unix_ms: None,
        to_unix_ms: None,
        deadlines: Deadlines::line_defaults(),
    };
    if let Ok(report) = compute(&facts, &options) {
        for format in [Format::Html, Format::Json, Format::Csv] {
            for lang in [Lang::En, Lang::Ru] {
                let _ = render(&report, format, lang);
            }
        }
    }
});
