//! `deconflict daa`: DO-365 alerting over a DAIDALUS encounter file, writing the same CSV as
//! DAIDALUS's DaidalusAlerting (v2.0.4), so that the two can be diffed; with `--bands`, the
//! guidance bands text of DaidalusBatch (v2.0.4) instead.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use deconflict_wellclear::{
    Ownship, alerting_csv_with_stats, batch::batch_text, parse_conf, parse_encounter,
};

/// Arguments of `deconflict daa`.
#[derive(clap::Args)]
pub struct Args {
    /// DAIDALUS configuration file (`key = value [unit]`), e.g. DO_365B_no_SUM.conf.
    #[arg(long, value_name = "FILE.conf")]
    conf: PathBuf,
    /// Aircraft to use as ownship (default: the first aircraft of each time step).
    #[arg(long, value_name = "NAME")]
    ownship: Option<String>,
    /// Write the output here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write DaidalusBatch's guidance bands text (kinematic bands) instead of the alerting CSV.
    #[arg(long)]
    bands: bool,
    /// With --bands: instantaneous bands (no turn rate, bank angle or accelerations), as
    /// `DaidalusBatch --instantaneous`.
    #[arg(long, requires = "bands")]
    instantaneous: bool,
    /// Encounter file (.daa with lat/lon/alt, or .xyz with sx/sy/sz).
    #[arg(value_name = "SCENARIO.daa")]
    scenario: PathBuf,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let conf_name = args.conf.display().to_string();
    let mut config = parse_conf(&conf_name, &read(&args.conf)?)?;
    if args.instantaneous {
        config = config.with_instantaneous_bands();
    }
    let scenario_name = args.scenario.display().to_string();
    let encounter = parse_encounter(&scenario_name, &read(&args.scenario)?)?;
    let ownship = match &args.ownship {
        Some(name) => {
            if !encounter
                .steps
                .iter()
                .any(|s| s.aircraft.iter().any(|a| &a.id == name))
            {
                anyhow::bail!("{scenario_name}: no aircraft named '{name}' (--ownship)");
            }
            Ownship::Named(name)
        }
        None => Ownship::First,
    };
    let (csv, stats) = if args.bands {
        batch_text(&config, &encounter, ownship)
    } else {
        alerting_csv_with_stats(&config, &encounter, ownship)
    };
    // Nothing is dropped silently: say on stderr what the CSV leaves out.
    if !encounter.ignored_columns.is_empty() {
        eprintln!(
            "deconflict: note: {scenario_name}: ignored columns: {}",
            encounter.ignored_columns.join(", ")
        );
    }
    if stats.steps_without_ownship > 0 {
        eprintln!(
            "deconflict: note: {} of {} time steps have no ownship and give no rows",
            stats.steps_without_ownship, stats.steps
        );
    }
    if stats.skipped_no_alerter > 0 {
        eprintln!(
            "deconflict: note: {} intruder states have no valid alerter index and give no rows",
            stats.skipped_no_alerter
        );
    }
    if stats.skipped_other_frame + stats.histories_dropped > 0 {
        eprintln!(
            "deconflict: note: {} intruder states in another frame skipped, {} alert histories dropped",
            stats.skipped_other_frame, stats.histories_dropped
        );
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, csv).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(csv.as_bytes())
                .context("cannot write to standard output")?;
            stdout.flush().context("cannot write to standard output")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
