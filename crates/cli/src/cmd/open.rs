//! `deconflict log open FILE --openings OPENINGS.jsonl [--json]`: opens the record's salted
//! commitments for a working group.
//!
//! A field a party did not disclose is in the record only as `SHA-256(salt ‖ value)`. Whoever
//! holds the salt and the value (an opening: the service keeps every one in
//! `DATA_DIR/log-openings.jsonl`, a party keeps those of its own notifications) can show the
//! value later, and anyone can check it against the record. This command reads an export and an
//! openings file, and prints, for every entry with a commitment, each committed field either
//! opened (its value) or still sealed. It checks every opening line against the commitment it
//! names (exit 1 naming the line otherwise); it does not check the export's signatures and
//! tree: run `deconflict verify` on it first.

use std::collections::HashMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use deconflict_log::{ExportLineKind, FieldValue, Hash, Opening, SignedEntry};

#[derive(clap::Args)]
pub struct OpenArgs {
    /// The export file (see `deconflict log export`), verified beforehand.
    file: PathBuf,
    /// Openings, one JSON object per line:
    /// `{"commitment":"<64 hex>","opening":{"salt":"<64 hex>","value":{"int":N}|{"text":"…"}}}`.
    #[arg(long, value_name = "FILE")]
    openings: PathBuf,
    /// One JSON object per committed field instead of text:
    /// `{"entry","kind","subject","author","time_ms","field","value"|"sealed"}`.
    #[arg(long)]
    json: bool,
}

/// Most openings held in memory (each line at most 16 KiB; a year of track summaries is well
/// below this).
pub const OPENINGS_MAX: usize = 10_000_000;

/// The openings in `path` and in the files the service rotated it to (`<stem>.<N>.jsonl`
/// beside it), oldest first.
/// Every opening of the openings file `path` (its rotated siblings read first), by commitment.
pub(crate) fn read_openings(path: &Path) -> anyhow::Result<HashMap<Hash, Opening>> {
    // The named file must exist; its rotated siblings are read before it.
    std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    let mut out = HashMap::new();
    for file in deconflict_service::log_entries::openings_files(path)
        .with_context(|| format!("{}", path.display()))?
    {
        read_openings_file(&file, &mut out)?;
    }
    Ok(out)
}

fn read_openings_file(path: &Path, out: &mut HashMap<Hash, Opening>) -> anyhow::Result<()> {
    let f = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut r = std::io::BufReader::new(f);
    let mut line = Vec::new();
    let limit = (deconflict_service::log_entries::OPENING_LINE_BYTES_MAX + 2) as u64;
    for n in 1u64.. {
        line.clear();
        let read = std::io::Read::take(&mut r, limit)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("{}", path.display()))?;
        if read == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (c, o) = deconflict_service::log_entries::parse_opening_line(&line)
            .map_err(|e| anyhow::anyhow!("{} line {n}: {e}", path.display()))?;
        if out.len() >= OPENINGS_MAX {
            bail!(
                "{}: more than {OPENINGS_MAX} openings; split the file",
                path.display()
            );
        }
        out.insert(c, o);
    }
    Ok(())
}

fn value_text(v: &FieldValue) -> String {
    match v {
        FieldValue::Int(i) => i.get().to_string(),
        FieldValue::Text(t) => format!("{:?}", t.as_str()),
        FieldValue::Commitment(c) => format!("commitment {}", c.to_hex()),
    }
}

pub fn open(a: OpenArgs) -> anyhow::Result<ExitCode> {
    let openings = read_openings(&a.openings)?;
    let f = std::fs::File::open(&a.file).with_context(|| format!("{}", a.file.display()))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, f);
    let mut line = Vec::new();
    let (mut index, mut opened, mut sealed) = (0u64, 0u64, 0u64);
    let mut used = std::collections::HashSet::new();
    let limit = (deconflict_log::export::LINE_BYTES_MAX + 2) as u64;
    let mut out = std::io::BufWriter::new(crate::stdio::stdout());
    use std::io::Write as _;
    for n in 1u64.. {
        line.clear();
        let read = std::io::Read::take(&mut r, limit)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("{}", a.file.display()))?;
        if read == 0 {
            break;
        }
        if ExportLineKind::of(&line) != Some(ExportLineKind::Entry) {
            continue;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let i = index;
        index += 1;
        let entry = SignedEntry::from_bytes(&line)
            .map_err(|e| anyhow::anyhow!("{} line {n} (entry {i}): {e}", a.file.display()))?;
        let e = entry.entry();
        let Some(fields) = e.body().fields() else {
            continue;
        };
        let committed: Vec<(&str, &Hash)> = fields
            .iter()
            .filter_map(|(name, v)| match v {
                FieldValue::Commitment(c) => Some((name, c)),
                _ => None,
            })
            .collect();
        if committed.is_empty() {
            continue;
        }
        let kind = e.body().kind();
        let subject = e.body().subject().unwrap_or("");
        if !a.json {
            writeln!(
                out,
                "entry {i} {kind} {subject} by {} at time_ms {}",
                e.author().as_str(),
                e.time_ms()
            )?;
        }
        for (name, c) in committed {
            let o = openings.get(c);
            match o {
                Some(_) => {
                    opened += 1;
                    used.insert(*c);
                }
                None => sealed += 1,
            }
            if a.json {
                let mut v = serde_json::json!({
                    "entry": i, "kind": kind, "subject": subject,
                    "author": e.author().as_str(), "time_ms": e.time_ms(), "field": name,
                });
                match o {
                    Some(o) => v["value"] = serde_json::to_value(&o.value)?,
                    None => v["sealed"] = true.into(),
                }
                writeln!(out, "{v}")?;
            } else {
                match o {
                    Some(o) => writeln!(out, "  {name} = {}", value_text(&o.value))?,
                    None => writeln!(out, "  {name}: sealed (no opening given)")?,
                }
            }
        }
    }
    out.flush()?;
    drop(out);
    let unmatched = openings.len() - used.len();
    eprintln!(
        "{}: {} committed fields in {index} entries: {opened} opened, {sealed} still sealed; \
         {unmatched} of {} openings match no commitment of this export",
        a.file.display(),
        opened + sealed,
        openings.len()
    );
    Ok(ExitCode::SUCCESS)
}
