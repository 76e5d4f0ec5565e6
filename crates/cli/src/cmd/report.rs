//! `deconflict report --data-dir DIR | --log EXPORT [--from DATE --to DATE] --out FILE
//! [--format html|json|csv] [--lang en|ru] [--agreement FILE]`: the working group's report,
//! computed only from the record (see `deconflict-report`).
//!
//! With `--data-dir` the log is exported from the log file in memory; with `--log` the export
//! file is read. Either way the export is verified before anything is counted. The agreement
//! (`--agreement`, or `DIR/agreement.toml` when present) pins the parties' keys and sets the
//! acknowledgement deadlines; without one the keys come from the export itself and the line's
//! default deadlines apply, and the report says so.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use deconflict_log::VerifyOptions;
use deconflict_log::export::parse_header;
use deconflict_report::{Deadlines, EXPORT_BYTES_MAX, Format, Lang, Options};

use crate::cmd::log::agreement_keys;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["data_dir", "log"])))]
pub struct Args {
    /// The service's data directory (or a log file directory): its log is exported and read.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A log export file (`deconflict log export`).
    #[arg(long, value_name = "EXPORT")]
    log: Option<PathBuf>,
    /// First day counted, `YYYY-MM-DD` (UTC); default: the first entry's.
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Last day counted, `YYYY-MM-DD` (UTC), inclusive; default: the last entry's.
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// Where to write the report.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// `html` (one self-contained page), `json` or `csv`.
    #[arg(long, default_value = "html")]
    format: String,
    /// Language of the page: `en` or `ru`.
    #[arg(long, default_value = "en")]
    lang: String,
    /// The agreement (TOML): pins the parties' keys and gives the acknowledgement deadlines.
    /// Default with --data-dir: DIR/agreement.toml when it exists.
    #[arg(long, value_name = "FILE")]
    agreement: Option<PathBuf>,
}

fn read_export(path: &Path) -> anyhow::Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(EXPORT_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}", path.display()))?;
    if bytes.len() as u64 > EXPORT_BYTES_MAX {
        bail!(
            "{}: more than {EXPORT_BYTES_MAX} bytes, the most a report reads",
            path.display()
        );
    }
    Ok(bytes)
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let format = Format::from_name(&a.format)
        .with_context(|| format!("--format {:?}: expected html, json or csv", a.format))?;
    let lang = Lang::from_tag(&a.lang)
        .with_context(|| format!("--lang {:?}: expected en or ru", a.lang))?;
    let from = a
        .from
        .as_deref()
        .map(deconflict_report::parse_date)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--from {e}"))?;
    let to =
        a.to.as_deref()
            .map(deconflict_report::parse_date)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--to {e}"))?
            // The last day is counted whole.
            .map(|t| t + deconflict_report::figures::DAY_MS);
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        bail!(
            "--from {} is after --to {}",
            a.from.as_deref().unwrap_or_default(),
            a.to.as_deref().unwrap_or_default()
        );
    }
    let (bytes, source) = match (&a.data_dir, &a.log) {
        (Some(dir), None) => {
            let log_file = crate::datadir::log_dir(dir)?;
            let mut buf = Vec::new();
            deconflict_logfile::export_dir(&log_file, &mut buf)
                .with_context(|| format!("exporting the log in {}", log_file.display()))?;
            (buf, dir.display().to_string())
        }
        (None, Some(path)) => (read_export(path)?, path.display().to_string()),
        _ => bail!("give one of --data-dir and --log"),
    };
    let agreement_path = a.agreement.clone().or_else(|| {
        a.data_dir
            .as_ref()
            .map(|d| d.join("agreement.toml"))
            .filter(|p| p.exists())
    });
    let mut options = VerifyOptions::default();
    let mut agreement_parties: Option<Vec<String>> = None;
    let deadlines = match &agreement_path {
        Some(path) => {
            let (agreement, mut ring) = agreement_keys(path)?;
            agreement_parties = Some(
                agreement
                    .parties()
                    .iter()
                    .map(|p| p.id().as_str().to_string())
                    .collect(),
            );
            // The log's own key is not in the agreement: it is taken from the export.
            let header = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
            let (log_id, header_keys) =
                parse_header(header).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
            if let Some(k) = header_keys.get(&log_id) {
                ring.insert(log_id, *k)?;
            }
            options.pinned_keys = Some(ring);
            Deadlines::from_agreement(&agreement)
        }
        None => Deadlines::line_defaults(),
    };
    let mut facts = deconflict_report::read_export(&bytes, options)
        .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    // With the agreement, its parties are the parties (members' keys are not).
    if let Some(ids) = &agreement_parties {
        facts.parties.retain(|p| ids.contains(p));
    }
    let report = deconflict_report::compute(
        &facts,
        &Options {
            from_unix_ms: from,
            to_unix_ms: to,
            deadlines,
        },
    )?;
    let out = deconflict_report::render(&report, format, lang);
    // Write beside the target and rename, so a reader never sees half a report.
    let tmp = a.out.with_extension("partial");
    std::fs::write(&tmp, &out).with_context(|| format!("{}", tmp.display()))?;
    std::fs::rename(&tmp, &a.out).with_context(|| format!("{}", a.out.display()))?;
    println!(
        "report written to {}: weeks {}, entries {}, tree size {}",
        a.out.display(),
        report.weeks.len(),
        facts.entries,
        report.tree_size
    );
    Ok(ExitCode::SUCCESS)
}
