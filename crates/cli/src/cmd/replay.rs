//! `deconflict replay`: the desk over recorded reports on a virtual clock.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The data directory whose agreement (and signatures) the replay runs under; read only.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// JSON lines `{"party": ID, "report": {…}}`, each `report` the body `POST /v1/tracks`
    /// takes.
    #[arg(long, value_name = "FILE")]
    pub tracks: PathBuf,
    /// The alerter instead of the agreement's: a DAIDALUS configuration by name
    /// (DO_365A_no_SUM, DO_365B_no_SUM, CD3D, TCAS3D, Buffered_DWC_SC_228_nom_a,
    /// Buffered_DWC_SC_228_nom_b) or a `.conf` file.
    #[arg(long, value_name = "NAME|FILE.conf")]
    pub alerter: Option<String>,
    /// Virtual time between two cycles, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub cycle_ms: u64,
    /// Where `<party>.jsonl` is written for each party (created if missing).
    #[arg(long, value_name = "OUTDIR")]
    pub out: PathBuf,
    /// A party's receiver recording, repeatable: PARTY=FORMAT:FILE, FORMAT beast, avr or sbs
    /// (FILE may be gzipped, `.gz`). Records keep their own times; relative or missing times
    /// count from the recording's first position, placed at the first report of --tracks.
    #[arg(long, value_name = "PARTY=FORMAT:FILE", value_parser = parse_feed)]
    pub feed: Vec<deconflict_service::feed::FeedSpec>,
}

fn parse_feed(text: &str) -> Result<deconflict_service::feed::FeedSpec, String> {
    deconflict_service::feed::FeedSpec::parse(text).map_err(|e| e.message)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let summary = deconflict_service::replay::run(&deconflict_service::replay::ReplayOptions {
        data_dir: args.data_dir,
        tracks: args.tracks,
        alerter: args.alerter,
        cycle_ms: args.cycle_ms,
        out: args.out.clone(),
        progress: std::io::stderr().is_terminal(),
        feeds: args.feed,
    })?;
    let events: Vec<String> = summary
        .events
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    let receivers = if summary.receiver_records > 0 {
        format!(
            " and {} receiver records ({} taken)",
            summary.receiver_records, summary.receiver_taken
        )
    } else {
        String::new()
    };
    println!(
        "replayed {} reports{receivers} over {} cycles; events: {}; written to {}",
        summary.reports,
        summary.ticks,
        events.join(", "),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
