//! `deconflict tracks push|list`: a party's own aircraft, sent to and read from a running service
//! with the party's signed client (RFC 9421), so that a party's system can feed the service from
//! a file without writing a client.
//!
//! `push` reads JSON lines `{"party": ID, "report": {…}}`, where `report` is exactly the body
//! `POST /v1/tracks` takes. Every line is parsed and checked first, as the service checks it
//! (ranges, the report's age), and each must be the calling party's: when any line is bad,
//! every bad line is named with its line number and field and nothing is sent. The reports are
//! then sent in order with `POST /v1/tracks/batch`, at most `--batch` per request; a batch the
//! service refuses (or that cannot be delivered) is named by its line range and the reason,
//! the remaining batches are still sent, and the command exits 1. Nothing is skipped silently:
//! the last line counts the reports accepted and the lines not accepted.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use deconflict_client::wire::{
    REPORTS_PER_BATCH_MAX, TrackBatchIn, TrackReportIn, TrackView, TracksAccepted,
};
use deconflict_client::{ClientError, PartyClient};
use deconflict_service::error::parse_json;

use super::connect::ConnectArgs;
use super::line::{EXIT_CODES, Failure, finish};

/// Reports per request unless `--batch` says otherwise.
pub const PUSH_BATCH_DEFAULT: usize = 1000;
/// Most bytes of one request body the command builds: below the service's body limit
/// (`deconflict_service::limits::BODY_BYTES_MAX`), with room for the envelope.
pub const PUSH_BODY_BYTES_MAX: usize = deconflict_service::limits::BODY_BYTES_MAX - 4096;
/// Longest line read from the file; a longer one is refused with its number.
pub const LINE_BYTES_MAX: usize = 64 * 1024;
/// Most lines one file may hold (the file is checked whole before anything is sent).
pub const LINES_MAX: usize = 5_000_000;
/// Bad lines named before the rest are only counted.
pub const BAD_LINES_SHOWN_MAX: usize = 50;
/// Attempts for one batch the service answers with 429 (rate) or 503 (busy) before it is
/// reported as not accepted.
pub const BUSY_ATTEMPTS_MAX: u32 = 5;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Send the party's track reports from a file of JSON lines
    /// {"party": ID, "report": {…}} (report: the body POST /v1/tracks takes), in batches.
    #[command(after_help = PUSH_HELP)]
    Push(PushArgs),
    /// The live tracks the party may see: its own in full, the others' disclosed fields.
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),
}

const PUSH_HELP: &str = "Every line is checked before anything is sent: a line of another party, \
malformed JSON, an unknown or missing field or a value out of range is named by line number and \
field, and nothing is sent. A batch the service refuses is named by its line range; the other \
batches are still sent.\n\nExit codes: 0 every report accepted; 1 a line was bad (nothing sent) \
or a batch was not accepted (its lines are named); 2 a usage error or the service could not be \
reached.";

#[derive(clap::Args)]
pub struct PushArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// JSON lines {"party": ID, "report": {…}}; `-` for standard input.
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// Reports per request (1 to 10,000).
    #[arg(long, default_value_t = PUSH_BATCH_DEFAULT)]
    batch: usize,
    /// Send the batches as frames of one track stream (GET /v1/tracks/stream) instead of one
    /// request each.
    #[arg(long)]
    stream: bool,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The service's JSON array instead of one line per track.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    Ok(match command {
        Command::Push(a) => push(&a)?,
        Command::List(a) => finish(list(&a))?,
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PushLine {
    party: String,
    report: TrackReportIn,
}

/// A line that cannot be sent: its number, the field (when one is to blame) and why.
#[derive(Debug, PartialEq)]
struct BadLine {
    line: usize,
    field: Option<String>,
    why: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: field {field}: {}", self.line, self.why),
            None => write!(f, "line {}: {}", self.line, self.why),
        }
    }
}

/// Parses and checks one line (1-based `line`) as the service would, for `party` at `now_ms`.
fn check_line(
    bytes: &[u8],
    line: usize,
    party: &str,
    now_ms: i64,
) -> Result<TrackReportIn, BadLine> {
    let bad = |field: Option<String>, why: String| BadLine { line, field, why };
    // A line that is not JSON has no field to blame (the parser's path for it is "?").
    let parsed: PushLine = parse_json(bytes).map_err(|e| {
        let field = e.body.field.clone().filter(|f| f != "?" && f != ".");
        bad(field, e.body.message.clone())
    })?;
    if parsed.party != party {
        return Err(bad(
            Some("party".into()),
            format!(
                "{:?} is another party's line: this command sends only --party {party}'s reports",
                parsed.party
            ),
        ));
    }
    parsed
        .report
        .validate("report", now_ms)
        .map_err(|e| bad(Some(e.field), e.message))?;
    Ok(parsed.report)
}

/// A report with its line number in the file.
type Numbered = (usize, TrackReportIn);

/// Reads and checks every line: the reports with their line numbers, or every bad line.
fn read_reports(
    input: impl std::io::Read,
    party: &str,
    now_ms: i64,
) -> Result<Vec<Numbered>, (Vec<BadLine>, usize)> {
    let mut reader = std::io::BufReader::with_capacity(1 << 20, input);
    let mut reports = Vec::new();
    let mut bad = Vec::new();
    let mut bad_count = 0usize;
    let mut buf = Vec::with_capacity(1024);
    let mut line = 0usize;
    let mut note = |b: BadLine, bad: &mut Vec<BadLine>| {
        bad_count += 1;
        if bad.len() < BAD_LINES_SHOWN_MAX {
            bad.push(b);
        }
    };
    loop {
        buf.clear();
        let read =
            std::io::Read::take(&mut reader, LINE_BYTES_MAX as u64 + 1).read_until(b'\n', &mut buf);
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                note(
                    BadLine {
                        line: line + 1,
                        field: None,
                        why: format!("reading: {e}"),
                    },
                    &mut bad,
                );
                break;
            }
        }
        line += 1;
        if line > LINES_MAX {
            note(
                BadLine {
                    line,
                    field: None,
                    why: format!("more than {LINES_MAX} lines: split the file"),
                },
                &mut bad,
            );
            break;
        }
        if buf.last() != Some(&b'\n') && buf.len() > LINE_BYTES_MAX {
            note(
                BadLine {
                    line,
                    field: None,
                    why: format!("longer than {LINE_BYTES_MAX} bytes"),
                },
                &mut bad,
            );
            // Skip the rest of the over-long line.
            let mut rest = Vec::new();
            if reader.read_until(b'\n', &mut rest).is_err() {
                break;
            }
            continue;
        }
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match check_line(text, line, party, now_ms) {
            Ok(r) => reports.push((line, r)),
            Err(b) => note(b, &mut bad),
        }
    }
    if bad_count > 0 {
        Err((bad, bad_count))
    } else {
        Ok(reports)
    }
}

/// Consecutive reports sent in one request: at most `batch` of them and
/// [`PUSH_BODY_BYTES_MAX`] bytes of body.
fn batches(reports: &[(usize, TrackReportIn)], batch: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, (_, r)) in reports.iter().enumerate() {
        let len = serde_json::to_vec(r).map_or(0, |v| v.len()) + 1;
        if i > start && (i - start >= batch || bytes + len > PUSH_BODY_BYTES_MAX) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += len;
    }
    if start < reports.len() {
        out.push(start..reports.len());
    }
    out
}

/// The line a service error names (`reports[i]…` is the i-th report of the batch).
fn line_of(field: Option<&str>, lines: &[(usize, TrackReportIn)]) -> Option<usize> {
    let rest = field?.strip_prefix("reports[")?;
    let i: usize = rest.split(']').next()?.parse().ok()?;
    lines.get(i).map(|(l, _)| *l)
}

async fn send_batch(
    client: &PartyClient,
    slice: &[(usize, TrackReportIn)],
) -> Result<usize, ClientError> {
    let body = TrackBatchIn {
        reports: slice.iter().map(|(_, r)| r.clone()).collect(),
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client
            .call::<_, TracksAccepted>("POST", "/v1/tracks/batch", Some(&body))
            .await
        {
            Err(ClientError::Status { status, .. })
                if (status == 429 || status == 503) && attempt < BUSY_ATTEMPTS_MAX =>
            {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            other => return other.map(|a| a.accepted),
        }
    }
}

/// Sends the batches `ranges` of `reports` as the frames of one track stream, keeping at most
/// [`STREAM_FRAMES_AHEAD_MAX`] unanswered; gives each batch's outcome, in order. Once the stream
/// ends (an integrity error, a dropped connection), every batch not answered is not accepted,
/// with the reason.
async fn send_stream(
    client: &PartyClient,
    reports: &[(usize, TrackReportIn)],
    ranges: &[std::ops::Range<usize>],
) -> Vec<Result<usize, ClientError>> {
    use deconflict_client::track_stream::TrackStream;
    use deconflict_client::wire::frame::STREAM_FRAMES_AHEAD_MAX;
    let mut stream = match TrackStream::open(client).await {
        Ok(s) => s,
        Err(e) => return ranges.iter().map(|_| Err(clone_error(&e))).collect(),
    };
    let batch = |r: &std::ops::Range<usize>| -> Vec<TrackReportIn> {
        reports[r.clone()].iter().map(|(_, t)| t.clone()).collect()
    };
    let mut out: Vec<Result<usize, ClientError>> = Vec::with_capacity(ranges.len());
    let mut sent = 0;
    while out.len() < ranges.len() {
        while sent < ranges.len() && sent - out.len() < STREAM_FRAMES_AHEAD_MAX {
            if let Err(e) = stream.send(&batch(&ranges[sent])).await {
                out.extend(ranges[out.len()..].iter().map(|_| Err(clone_error(&e))));
                return out;
            }
            sent += 1;
        }
        match stream.answer().await {
            Ok(a) => out.push(match (a.accepted, a.refused.or(a.error)) {
                (Some(n), _) => Ok(n),
                (None, Some(body)) => Err(ClientError::Status { status: 422, body }),
                (None, None) => Err(ClientError::Decode(format!(
                    "frame {}: an empty answer",
                    a.frame
                ))),
            }),
            Err(e) => {
                out.extend(ranges[out.len()..].iter().map(|_| Err(clone_error(&e))));
                return out;
            }
        }
    }
    let _ = stream.close().await;
    out
}

/// The same error again, for each batch it stopped.
fn clone_error(e: &ClientError) -> ClientError {
    match e {
        ClientError::Status { status, body } => ClientError::Status {
            status: *status,
            body: body.clone(),
        },
        other => ClientError::Stream(other.to_string()),
    }
}

fn push(a: &PushArgs) -> anyhow::Result<ExitCode> {
    if a.batch == 0 || a.batch > REPORTS_PER_BATCH_MAX {
        return finish(Err(Failure::usage(
            "--batch",
            format!("{} is outside 1 to {REPORTS_PER_BATCH_MAX}", a.batch),
        )));
    }
    let client = match a.connect.client() {
        Ok(c) => c,
        Err(e) => return finish(Err(Failure::Usage(e))),
    };
    let now_ms = deconflict_logfile::system_now_ms() as i64;
    let read = if a.file.as_os_str() == "-" {
        read_reports(std::io::stdin().lock(), &a.connect.party, now_ms)
    } else {
        match std::fs::File::open(&a.file) {
            Ok(f) => read_reports(f, &a.connect.party, now_ms),
            Err(e) => {
                return finish(Err(Failure::usage(
                    "--file",
                    format!("{}: {e}", a.file.display()),
                )));
            }
        }
    };
    let reports = match read {
        Ok(r) => r,
        Err((bad, count)) => {
            for b in &bad {
                eprintln!("{}: {b}", a.file.display());
            }
            if count > bad.len() {
                eprintln!("… and {} more bad lines", count - bad.len());
            }
            anyhow::bail!(
                "{count} bad line(s) in {}; nothing was sent",
                a.file.display()
            );
        }
    };
    let rt = match super::connect::runtime() {
        Ok(rt) => rt,
        Err(e) => return finish(Err(Failure::Usage(e))),
    };
    let ranges = batches(&reports, a.batch);
    let mut accepted = 0usize;
    let mut lines_failed = 0usize;
    let mut unreachable = 0usize;
    let streamed = a
        .stream
        .then(|| rt.block_on(send_stream(&client, &reports, &ranges)));
    let mut streamed = streamed.map(Vec::into_iter);
    for range in &ranges {
        let slice = &reports[range.clone()];
        let (first, last) = (slice[0].0, slice[slice.len() - 1].0);
        let outcome = match streamed.as_mut() {
            // One outcome per batch, in order.
            Some(outcomes) => outcomes
                .next()
                .unwrap_or_else(|| Err(ClientError::Stream("no answer".into()))),
            None => rt.block_on(send_batch(&client, slice)),
        };
        match outcome {
            Ok(n) => accepted += n,
            Err(e) => {
                lines_failed += slice.len();
                let at = match &e {
                    ClientError::Status { body, .. } => line_of(body.field.as_deref(), slice)
                        .map(|l| format!(" (at line {l})"))
                        .unwrap_or_default(),
                    _ => {
                        unreachable += 1;
                        String::new()
                    }
                };
                eprintln!(
                    "{}: lines {first}–{last} ({} reports) NOT accepted{at}: {e}",
                    a.file.display(),
                    slice.len()
                );
            }
        }
    }
    println!(
        "{accepted} of {} reports accepted by {} as {} in {} {}; {lines_failed} not accepted",
        reports.len(),
        client.base(),
        a.connect.party,
        ranges.len(),
        if a.stream {
            "frames of one track stream"
        } else {
            "batches"
        }
    );
    if lines_failed == 0 {
        Ok(ExitCode::SUCCESS)
    } else if unreachable == ranges.len() {
        Err(crate::failure::exit(
            crate::failure::EXIT_USAGE,
            format!("cannot reach the service: {lines_failed} reports not sent"),
        ))
    } else {
        Err(crate::failure::exit(
            crate::failure::EXIT_FAILURE,
            format!("{lines_failed} of {} reports not accepted", reports.len()),
        ))
    }
}

fn list(a: &ListArgs) -> Result<(), Failure> {
    let c = a.connect.client().map_err(Failure::Usage)?;
    let rt = super::connect::runtime().map_err(Failure::Usage)?;
    let tracks: Vec<TrackView> = rt.block_on(c.call::<(), _>("GET", "/v1/tracks", None))?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&tracks).map_err(|e| Failure::Connection(e.to_string()))?
        );
        return Ok(());
    }
    let opt = |v: Option<f64>, digits: usize| match v {
        Some(v) => format!("{v:.digits$}"),
        None => "-".into(),
    };
    for t in &tracks {
        println!(
            "{:<12} {:<20} {:>14} lat {:>9} lon {:>10} alt {:>7} m  trk {:>5}  gs {:>6} m/s  {}{}",
            t.party,
            t.track_id,
            t.time_unix_ms,
            opt(t.lat_deg, 5),
            opt(t.lon_deg, 5),
            opt(t.alt_m, 0),
            opt(t.track_deg, 0),
            opt(t.ground_speed_mps, 1),
            t.callsign.as_deref().unwrap_or(""),
            // The party's own tracks list where they came from (its pushes, its receivers).
            if t.sources.is_empty() {
                String::new()
            } else {
                format!("  sources {}", t.sources.join(","))
            }
        );
    }
    if tracks.is_empty() {
        println!("no live tracks");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn line(party: &str, lat: f64, t: i64) -> String {
        format!(
            r#"{{"party":"{party}","report":{{"track_id":"a1","time_unix_ms":{t},"lat_deg":{lat},"lon_deg":38.5,"alt_m":3000,"track_deg":90,"ground_speed_mps":120}}}}"#
        )
    }

    #[test]
    fn every_bad_line_is_named_by_number_and_field() {
        let text = [
            line("blue", 35.0, NOW),
            String::new(),
            line("red", 35.0, NOW),
            line("blue", 200.0, NOW),
            r#"{"party":"blue","report":{"track_id":"a1"}}"#.to_string(),
            r#"{"extra":1,"party":"blue","report":{}}"#.to_string(),
            "{not json".to_string(),
            line("blue", 35.0, NOW - 3_600_000),
            line("blue", 35.1, NOW),
        ]
        .join("\n");
        let (bad, count) = read_reports(text.as_bytes(), "blue", NOW).unwrap_err();
        assert_eq!(count, 6);
        let got: Vec<(usize, Option<&str>)> =
            bad.iter().map(|b| (b.line, b.field.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (3, Some("party")),
                (4, Some("report.lat_deg")),
                (5, Some("report.time_unix_ms")),
                (6, Some("extra")),
                (7, None),
                (8, Some("report.time_unix_ms")),
            ]
        );
        assert!(bad[0].why.contains("another party"), "{}", bad[0]);
        assert!(bad[1].why.contains("200"), "{}", bad[1]);
    }

    #[test]
    fn good_lines_keep_their_numbers_and_are_cut_into_bounded_batches() {
        let text: Vec<String> = (0..25)
            .map(|i| line("blue", 35.0 + i as f64 * 0.01, NOW))
            .collect();
        let text = format!("\n{}\n\n", text.join("\n"));
        let reports = read_reports(text.as_bytes(), "blue", NOW).unwrap();
        assert_eq!(reports.len(), 25);
        assert_eq!(reports[0].0, 2);
        assert_eq!(reports[24].0, 26);
        let ranges = batches(&reports, 10);
        assert_eq!(ranges, vec![0..10, 10..20, 20..25]);
        assert_eq!(
            line_of(Some("reports[3].lat_deg"), &reports[10..20]),
            Some(15)
        );
        assert_eq!(line_of(Some("reports"), &reports), None);
    }

    #[test]
    fn random_bytes_never_panic_and_are_refused_with_a_line() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..2048))| {
            if let Err((bad, count)) = read_reports(&bytes[..], "blue", NOW) {
                prop_assert!(count >= bad.len());
                prop_assert!(bad.iter().all(|b| b.line >= 1));
            }
        });
    }
}
