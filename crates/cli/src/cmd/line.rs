//! `deconflict line …`: the deconfliction line.
//!
//! Offline (no service): render stored messages and conversations in a reader's language,
//! list the message catalogue, check a message's canonical form, run the scripted simulation.
//!
//! Through a running service, as one party's duty officer (`--service URL --party ID --key
//! FILE`, every request signed with the party's key): send a message (from a JSON file or from
//! typed flags), list what is pending, acknowledge, show a conversation in the reader's
//! language, list conversations, show link-test reachability.
//!
//! Every flag is checked before anything is sent: a bad value is a usage error (exit 2) that
//! names the flag, and nothing reaches the service. Exit codes of the service commands:
//! 0 done, 1 the service refused (its `code`, `message` and `field` are printed), 2 a usage
//! or connection error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use deconflict_airspace::instant::Round;
use deconflict_line::lang::{CoordFormat, Language, ReaderProfile};
use deconflict_line::message::{Document, MessageKind, parse_document};
use deconflict_line::render::{render_conversation, render_message};
use deconflict_line::units::UtcOffset;
use deconflict_line::{
    Activity, Alteration, Altitude, AltitudeBlock, Area, Body, Decision, Distance, LangTag,
    Latitude, Longitude, Message, MessageId, OfficerName, PartyId, Position, Subject, SubjectId,
    SubjectKind, Text, TimeWindow, Timestamp, TrackId, TrackRef,
};

use super::connect::ConnectArgs;

/// Shown under every service command's `--help`.
pub(crate) const EXIT_CODES: &str = "Exit codes: 0 done; 1 the service refused (its code, message and \
field are printed on stderr); 2 a usage error (a bad flag, named; nothing was sent) or the \
service could not be reached.";

pub(crate) const TIME_HELP: &str = "TIME is RFC 3339 (2017-04-12T09:40:00Z, 2017-04-12T12:40:00+03:00, \
any fractional precision: a start is rounded down to the millisecond, an end up), or relative to now: now, +90s, +10m, +2h, -5m, now+1h30m.";

#[derive(clap::Subcommand)]
pub enum Command {
    /// Render a stored message (JSON object) or conversation (JSON array) in a language.
    Render(RenderArgs),
    /// List the message types and their fields.
    Catalogue(CatalogueArgs),
    /// Check a message file and print its canonical JSON (RFC 8785): the bytes that are signed.
    Canonical(CanonicalArgs),
    /// Run the scripted day on the line (link tests, an alert conversation, a late
    /// acknowledgement that escalates) and print it in every language, or in one.
    Simulate(SimulateArgs),
    /// Send a message on the line: from a JSON file (--file), or typed (strike-warning,
    /// free-text, request-to-alter, reply, incident, investigation-request).
    Send(Box<SendArgs>),
    /// What awaits my acknowledgement, what awaits the others', what is overdue.
    Pending(PendingArgs),
    /// Acknowledge a message addressed to my party, as a named duty officer.
    Ack(AckArgs),
    /// Show one conversation rendered for the reader (language, local time, coordinates).
    Show(ShowArgs),
    /// List the conversations my party takes part in.
    Conversations(ListArgs),
    /// Link-test reachability of each party: answered in time, late, missed, pending.
    Reachability(ReachabilityArgs),
}

#[derive(clap::Args)]
pub struct ReaderArgs {
    /// Reader's language (a `locales/<code>.ftl` of the line crate: en, ru).
    #[arg(long, default_value = "en")]
    lang: String,
    /// Reader's local time as a fixed offset from UTC, e.g. +03:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true)]
    utc_offset: String,
    /// Coordinate style: decimal (35.333611° N) or dms (35°20′01.0″ N).
    #[arg(long, value_enum, default_value_t = Coords::Decimal)]
    coords: Coords,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Coords {
    Decimal,
    Dms,
}

impl Coords {
    fn wire(self) -> &'static str {
        match self {
            Coords::Decimal => "decimal",
            Coords::Dms => "dms",
        }
    }
}

impl ReaderArgs {
    fn profile(&self) -> anyhow::Result<ReaderProfile> {
        let lang = Language::parse(&self.lang).context("--lang")?;
        let offset = UtcOffset::parse(&self.utc_offset).context("--utc-offset")?;
        let coords = match self.coords {
            Coords::Decimal => CoordFormat::Decimal,
            Coords::Dms => CoordFormat::Dms,
        };
        Ok(ReaderProfile::new(lang, offset, coords))
    }
}

#[derive(clap::Args)]
pub struct RenderArgs {
    #[command(flatten)]
    reader: ReaderArgs,
    /// A message or conversation file (JSON).
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct CatalogueArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct CanonicalArgs {
    /// A message file (JSON).
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Print in one language only (default: every language).
    #[arg(long)]
    lang: Option<String>,
    /// Reader's local time offset when --lang is given (default UTC, as everywhere else).
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true)]
    utc_offset: String,
    /// Coordinate style when --lang is given.
    #[arg(long, value_enum, default_value_t = Coords::Decimal)]
    coords: Coords,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Render(a) => render(a),
        Command::Catalogue(a) => catalogue(a),
        Command::Canonical(a) => canonical(a),
        Command::Simulate(a) => simulate(a),
        Command::Send(a) => finish(send(*a)),
        Command::Pending(a) => finish(pending(a)),
        Command::Ack(a) => finish(ack(a)),
        Command::Show(a) => finish(show(a)),
        Command::Conversations(a) => finish(conversations(a)),
        Command::Reachability(a) => finish(reachability(a)),
    }
}

fn read_document(path: &PathBuf) -> anyhow::Result<Document> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_document(&bytes).with_context(|| format!("{}", path.display()))
}

fn render(a: RenderArgs) -> anyhow::Result<ExitCode> {
    let reader = a.reader.profile()?;
    let text = match read_document(&a.file)? {
        Document::Message(m) => render_message(&reader, &m),
        Document::Conversation(list) => render_conversation(&reader, &list),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn catalogue(a: CatalogueArgs) -> anyhow::Result<ExitCode> {
    if a.json {
        println!("{}", deconflict_line::message::catalogue_json());
    } else {
        println!("Every message: id, from, to, sent_at_ms, subject {{kind, id}}, body {{type, …}}");
        for k in MessageKind::ALL {
            println!("\n{}", k.tag());
            for (f, d) in k.fields() {
                println!("  {f:<22} {d}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn canonical(a: CanonicalArgs) -> anyhow::Result<ExitCode> {
    match read_document(&a.file)? {
        Document::Message(m) => {
            println!("{}", String::from_utf8(m.canonical_json())?);
            Ok(ExitCode::SUCCESS)
        }
        Document::Conversation(_) => {
            anyhow::bail!(
                "{}: a conversation; canonical form is per message",
                a.file.display()
            )
        }
    }
}

fn simulate(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let story = deconflict_line::story::run();
    match a.lang {
        None => print!("{}", story.render_all()),
        Some(lang) => {
            let reader = ReaderArgs {
                lang,
                utc_offset: a.utc_offset,
                coords: a.coords,
            }
            .profile()?;
            print!("{}", story.render(&reader));
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// The line through a running service.

/// Why a service command did not complete; each maps to one exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A bad flag or file: nothing was sent (exit 2).
    Usage(anyhow::Error),
    /// The service could not be reached or answered something unreadable (exit 2).
    Connection(String),
    /// The service answered with an error body (exit 1).
    Refused {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
    },
}

impl Failure {
    pub(crate) fn usage(flag: &str, why: impl std::fmt::Display) -> Failure {
        Failure::Usage(anyhow::anyhow!("{flag}: {why}"))
    }
}

impl From<deconflict_service::client::ClientError> for Failure {
    fn from(e: deconflict_service::client::ClientError) -> Failure {
        use deconflict_service::client::ClientError;
        match e {
            ClientError::Status { status, body } => Failure::Refused {
                status,
                code: body.code,
                message: body.message,
                field: body.field,
            },
            other => Failure::Connection(other.to_string()),
        }
    }
}

/// The failure as the command's error (printed once by `main`): a usage error or an unreachable
/// service ends with exit code 2, a refusal with 1.
pub(crate) fn finish(result: Result<(), Failure>) -> anyhow::Result<ExitCode> {
    use crate::failure::{EXIT_FAILURE, EXIT_USAGE, exit};
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Failure::Usage(e)) => Err(exit(
            EXIT_USAGE,
            format!("{} (nothing was sent)", crate::failure::chain_text(&e)),
        )),
        Err(Failure::Connection(e)) => {
            Err(exit(EXIT_USAGE, format!("cannot reach the service: {e}")))
        }
        Err(Failure::Refused {
            status,
            code,
            message,
            field,
        }) => Err(exit(
            EXIT_FAILURE,
            refusal_text(status, &code, &message, field.as_deref()),
        )),
    }
}

/// What a refusal prints: the status, then one line each for `code`, `message` and `field`.
fn refusal_text(status: u16, code: &str, message: &str, field: Option<&str>) -> String {
    format!(
        "the service refused (HTTP {status})\n  code:    {code}\n  message: {message}\n  field:   {}",
        field.unwrap_or("-")
    )
}

// --- Times -------------------------------------------------------------------------------------

/// A time given on the command line: absolute, or relative to the moment the command runs. An
/// absolute time finer than a millisecond keeps both roundings: a start is rounded down, an end
/// up, so that a window never shrinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeArg {
    At { down_ms: i64, up_ms: i64 },
    FromNowMs(i64),
}

impl TimeArg {
    /// The time as an instant or the start of a window (rounded down).
    pub(crate) fn resolve(self, flag: &str, now_ms: i64) -> Result<Timestamp, Failure> {
        self.resolve_rounded(flag, now_ms, Round::Down)
    }

    /// The time as the end of a window or a deadline (rounded up).
    pub(crate) fn resolve_end(self, flag: &str, now_ms: i64) -> Result<Timestamp, Failure> {
        self.resolve_rounded(flag, now_ms, Round::Up)
    }

    fn resolve_rounded(self, flag: &str, now_ms: i64, round: Round) -> Result<Timestamp, Failure> {
        let ms = match (self, round) {
            (TimeArg::At { down_ms, .. }, Round::Down) => down_ms,
            (TimeArg::At { up_ms, .. }, Round::Up) => up_ms,
            (TimeArg::FromNowMs(d), _) => now_ms
                .checked_add(d)
                .ok_or_else(|| Failure::usage(flag, "out of range"))?,
        };
        Timestamp::from_unix_ms(ms).map_err(|e| Failure::usage(flag, e))
    }
}

/// `+1h30m`, `-90s`, `10m` (after the sign): a span in milliseconds.
fn parse_span_ms(s: &str) -> Result<i64, String> {
    let mut total: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let n_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n_len == 0 {
            return Err(format!("{s:?}: expected a number before {rest:?}"));
        }
        let n: i64 = rest[..n_len]
            .parse()
            .map_err(|_| format!("{s:?}: number too large"))?;
        rest = &rest[n_len..];
        let (unit_ms, unit_len) = match rest.as_bytes().first() {
            Some(b'h') => (3_600_000, 1),
            Some(b'm') if rest.starts_with("ms") => (1, 2),
            Some(b'm') => (60_000, 1),
            Some(b's') => (1000, 1),
            _ => return Err(format!("{s:?}: a number needs a unit (h, m, s or ms)")),
        };
        rest = &rest[unit_len..];
        total = n
            .checked_mul(unit_ms)
            .and_then(|v| total.checked_add(v))
            .filter(|v| *v <= deconflict_line::units::TIMESTAMP_MS_MAX)
            .ok_or_else(|| format!("{s:?}: too long"))?;
    }
    Ok(total)
}

/// An RFC 3339 date-time at any precision, rounded down to the millisecond (the one parser of
/// times from outside, [`deconflict_airspace::instant`]).
#[cfg(test)]
fn parse_rfc3339_ms(s: &str) -> Result<i64, String> {
    parse_rfc3339(s, Round::Down)
}

fn parse_rfc3339(s: &str, round: Round) -> Result<i64, String> {
    deconflict_airspace::instant::parse_rfc3339_ms(s, round).map_err(|e| e.to_string())
}

/// Parses a TIME flag value (see [`TIME_HELP`]).
pub(crate) fn parse_time_arg(s: &str) -> Result<TimeArg, String> {
    let rel = s.strip_prefix("now").unwrap_or(s);
    if rel.is_empty() {
        return Ok(TimeArg::FromNowMs(0));
    }
    if let Some(span) = rel.strip_prefix('+') {
        return parse_span_ms(span).map(TimeArg::FromNowMs);
    }
    if let Some(span) = rel.strip_prefix('-') {
        return parse_span_ms(span).map(|ms| TimeArg::FromNowMs(-ms));
    }
    if rel.len() != s.len() {
        return Err(format!("{s:?}: after `now` comes +SPAN or -SPAN"));
    }
    Ok(TimeArg::At {
        down_ms: parse_rfc3339(s, Round::Down)?,
        up_ms: parse_rfc3339(s, Round::Up)?,
    })
}

/// `2017-04-12 09:30:00Z` (UTC) or `2017-04-12 12:30:00+03:00`.
pub(crate) fn format_time(ms: i64, offset: UtcOffset) -> String {
    match Timestamp::from_unix_ms(ms) {
        Ok(t) => {
            let suffix = if offset == UtcOffset::UTC {
                "Z".to_string()
            } else {
                offset.to_string()
            };
            format!("{}{suffix}", t.civil(offset))
        }
        Err(_) => format!("{ms} ms"),
    }
}

/// `1 h 02 min`, `3 min 05 s`, `40 s` (whole seconds, rounded towards zero).
fn format_span(ms: i64) -> String {
    let s = ms.unsigned_abs() / 1000;
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {sec:02} s")
    } else {
        format!("{sec} s")
    }
}

// --- Flag values -------------------------------------------------------------------------------

fn parse_party(s: &str) -> Result<PartyId, String> {
    PartyId::new(s).map_err(|e| e.to_string())
}
fn parse_message_id(s: &str) -> Result<MessageId, String> {
    MessageId::new(s).map_err(|e| e.to_string())
}
fn parse_subject_id(s: &str) -> Result<SubjectId, String> {
    SubjectId::new(s).map_err(|e| e.to_string())
}
fn parse_officer(s: &str) -> Result<OfficerName, String> {
    OfficerName::new(s).map_err(|e| e.to_string())
}
fn parse_text(s: &str) -> Result<Text, String> {
    Text::new(s).map_err(|e| e.to_string())
}
fn parse_lang_tag(s: &str) -> Result<LangTag, String> {
    LangTag::new(s).map_err(|e| e.to_string())
}
fn parse_latitude(s: &str) -> Result<Latitude, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of degrees"))?;
    Latitude::from_deg(v).map_err(|_| format!("latitude {s}° is outside -90..=90"))
}
fn parse_longitude(s: &str) -> Result<Longitude, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of degrees"))?;
    Longitude::from_deg(v).map_err(|_| format!("longitude {s}° is outside -180..=180"))
}
/// `LAT,LON` in decimal degrees.
fn parse_position(s: &str) -> Result<Position, String> {
    let (lat, lon) = s
        .split_once(',')
        .ok_or_else(|| format!("{s:?} is not LAT,LON (decimal degrees)"))?;
    Ok(Position {
        lat_udeg: parse_latitude(lat.trim())?,
        lon_udeg: parse_longitude(lon.trim())?,
    })
}
pub(crate) fn parse_finite(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a finite number")),
    }
}
/// `KIND:ID`, e.g. `alert:A-17`, `notification:N-7`, `general:handover`.
fn parse_subject(s: &str) -> Result<Subject, String> {
    let (kind, id) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not KIND:ID (e.g. alert:A-17)"))?;
    Ok(Subject::new(
        parse_subject_kind(kind)?,
        parse_subject_id(id)?,
    ))
}
fn parse_subject_kind(s: &str) -> Result<SubjectKind, String> {
    Ok(match s {
        "alert" => SubjectKind::Alert,
        "notification" => SubjectKind::Notification,
        "incident" => SubjectKind::Incident,
        "link_test" | "link-test" => SubjectKind::LinkTest,
        "general" => SubjectKind::General,
        _ => {
            return Err(format!(
                "{s:?} is not a subject kind (alert, notification, incident, link_test, general)"
            ));
        }
    })
}
fn subject_kind_tag(k: SubjectKind) -> &'static str {
    match k {
        SubjectKind::Alert => "alert",
        SubjectKind::Notification => "notification",
        SubjectKind::Incident => "incident",
        SubjectKind::LinkTest => "link_test",
        SubjectKind::General => "general",
    }
}
/// `PARTY=TRACK`: `=` appears in neither identifier.
fn parse_track_ref(s: &str) -> Result<TrackRef, String> {
    let (party, track) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not PARTY=TRACK (e.g. russia=RUS-31)"))?;
    Ok(TrackRef {
        party: parse_party(party)?,
        track: TrackId::new(track).map_err(|e| e.to_string())?,
    })
}
fn parse_time(s: &str) -> Result<TimeArg, String> {
    parse_time_arg(s)
}

// --- Message forms -----------------------------------------------------------------------------

/// The envelope flags every typed form shares.
#[derive(clap::Args, Debug, Clone)]
pub struct EnvelopeArgs {
    /// Message id; default: a new unique id starting with the party's. Give the same id to
    /// resend after a lost answer: the service accepts a message exactly once.
    #[arg(long, value_name = "ID", value_parser = parse_message_id)]
    id: Option<MessageId>,
    /// The conversation the message belongs to, KIND:ID (kinds: alert, notification,
    /// incident, link_test, general). Default: see each form.
    #[arg(long, value_name = "KIND:ID", value_parser = parse_subject)]
    subject: Option<Subject>,
}

/// Where an operation takes place: a circle (--lat, --lon and a radius) or a polygon
/// (--vertex, three or more times).
#[derive(clap::Args, Debug, Clone)]
pub struct AreaArgs {
    /// Circle centre latitude, decimal degrees (north positive).
    #[arg(long, value_name = "DEG", value_parser = parse_latitude, allow_negative_numbers = true,
          requires = "lon", conflicts_with = "vertex")]
    lat: Option<Latitude>,
    /// Circle centre longitude, decimal degrees (east positive).
    #[arg(long, value_name = "DEG", value_parser = parse_longitude, allow_negative_numbers = true,
          requires = "lat")]
    lon: Option<Longitude>,
    /// Circle radius, metres.
    #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true,
          conflicts_with = "radius_nm")]
    radius_m: Option<f64>,
    /// Circle radius, nautical miles.
    #[arg(long, value_name = "NM", value_parser = parse_finite, allow_negative_numbers = true)]
    radius_nm: Option<f64>,
    /// A polygon vertex, LAT,LON in decimal degrees, in order (3 to 64 of them).
    #[arg(long, value_name = "LAT,LON", value_parser = parse_position, allow_hyphen_values = true)]
    vertex: Vec<Position>,
}

impl AreaArgs {
    fn area(&self) -> Result<Area, Failure> {
        if !self.vertex.is_empty() {
            if self.radius_m.is_some() || self.radius_nm.is_some() {
                return Err(Failure::usage("--vertex", "a polygon has no radius"));
            }
            return Area::polygon(self.vertex.clone()).map_err(|e| Failure::usage("--vertex", e));
        }
        let (Some(lat), Some(lon)) = (self.lat, self.lon) else {
            return Err(Failure::usage(
                "--lat/--lon",
                "give a circle (--lat, --lon, --radius-m or --radius-nm) or a polygon (--vertex three or more times)",
            ));
        };
        let (flag, radius) = match (self.radius_m, self.radius_nm) {
            (Some(m), _) => ("--radius-m", Distance::from_m(m)),
            (None, Some(nm)) => ("--radius-nm", Distance::from_nm(nm)),
            (None, None) => {
                return Err(Failure::usage(
                    "--radius-m/--radius-nm",
                    "a circle needs a radius",
                ));
            }
        };
        let radius = radius.map_err(|_| Failure::usage(flag, "must be a positive distance"))?;
        let centre = Position {
            lat_udeg: lat,
            lon_udeg: lon,
        };
        Area::circle(centre, radius).map_err(|e| Failure::usage(flag, e))
    }
}

/// An altitude block, in feet or metres above mean sea level.
#[derive(clap::Args, Debug, Clone)]
pub struct BlockArgs {
    /// Lower bound of the altitude block, feet above mean sea level.
    #[arg(
        long,
        value_name = "FT",
        allow_negative_numbers = true,
        conflicts_with = "floor_m"
    )]
    floor_ft: Option<i64>,
    /// Upper bound of the altitude block, feet above mean sea level.
    #[arg(
        long,
        value_name = "FT",
        allow_negative_numbers = true,
        conflicts_with = "ceiling_m"
    )]
    ceiling_ft: Option<i64>,
    /// Lower bound of the altitude block, metres above mean sea level.
    #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true)]
    floor_m: Option<f64>,
    /// Upper bound of the altitude block, metres above mean sea level.
    #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true)]
    ceiling_m: Option<f64>,
}

impl BlockArgs {
    fn given(&self) -> bool {
        self.floor_ft.is_some()
            || self.ceiling_ft.is_some()
            || self.floor_m.is_some()
            || self.ceiling_m.is_some()
    }
    fn block(&self) -> Result<AltitudeBlock, Failure> {
        let lower = match (self.floor_ft, self.floor_m) {
            (Some(ft), _) => Altitude::from_ft(ft).map_err(|e| Failure::usage("--floor-ft", e))?,
            (None, Some(m)) => Altitude::from_m(m).map_err(|e| Failure::usage("--floor-m", e))?,
            (None, None) => {
                return Err(Failure::usage(
                    "--floor-ft/--floor-m",
                    "the altitude block needs a lower bound",
                ));
            }
        };
        let upper = match (self.ceiling_ft, self.ceiling_m) {
            (Some(ft), _) => {
                Altitude::from_ft(ft).map_err(|e| Failure::usage("--ceiling-ft", e))?
            }
            (None, Some(m)) => Altitude::from_m(m).map_err(|e| Failure::usage("--ceiling-m", e))?,
            (None, None) => {
                return Err(Failure::usage(
                    "--ceiling-ft/--ceiling-m",
                    "the altitude block needs an upper bound",
                ));
            }
        };
        let flag = if self.ceiling_ft.is_some() {
            "--ceiling-ft"
        } else {
            "--ceiling-m"
        };
        AltitudeBlock::new(lower, upper).map_err(|_| {
            Failure::usage(
                flag,
                format!(
                    "the ceiling ({} m) must be above the floor ({} m)",
                    upper.m(),
                    lower.m()
                ),
            )
        })
    }
}

/// A time window.
#[derive(clap::Args, Debug, Clone)]
pub struct WindowArgs {
    /// Start of the window (TIME, see below).
    #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    start: Option<TimeArg>,
    /// End of the window (TIME); after the start, at most 7 days later.
    #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    end: Option<TimeArg>,
}

impl WindowArgs {
    fn given(&self) -> bool {
        self.start.is_some() || self.end.is_some()
    }
    fn window(&self, now_ms: i64) -> Result<TimeWindow, Failure> {
        let start = self
            .start
            .ok_or_else(|| Failure::usage("--start", "the time window needs a start"))?
            .resolve("--start", now_ms)?;
        let end = self
            .end
            .ok_or_else(|| Failure::usage("--end", "the time window needs an end"))?
            .resolve_end("--end", now_ms)?;
        if end <= start {
            return Err(Failure::usage(
                "--end",
                format!(
                    "the window ends ({}) before or when it starts ({}): a negative or empty window",
                    format_time(end.unix_ms(), UtcOffset::UTC),
                    format_time(start.unix_ms(), UtcOffset::UTC)
                ),
            ));
        }
        TimeWindow::new(start, end).map_err(|e| Failure::usage("--end", e))
    }
}

/// A proposed change: a new altitude block, or a new time window (exactly one).
#[derive(clap::Args, Debug, Clone)]
pub struct AlterationArgs {
    #[command(flatten)]
    block: BlockArgs,
    #[command(flatten)]
    window: WindowArgs,
}

impl AlterationArgs {
    fn given(&self) -> bool {
        self.block.given() || self.window.given()
    }
    fn alteration(&self, now_ms: i64) -> Result<Alteration, Failure> {
        match (self.block.given(), self.window.given()) {
            (true, false) => Ok(Alteration::AltitudeBlock {
                altitude_block: self.block.block()?,
            }),
            (false, true) => Ok(Alteration::TimeWindow {
                window: self.window.window(now_ms)?,
            }),
            (true, true) => Err(Failure::usage(
                "--start/--end",
                "propose either an altitude block or a time window, not both",
            )),
            (false, false) => Err(Failure::usage(
                "--floor-ft/--ceiling-ft or --start/--end",
                "propose a new altitude block or a new time window",
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ActivityArg {
    Strike,
    Activity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum DecisionArg {
    Accept,
    Reject,
    Counter,
}

/// `deconflict line send`: from a file, or one of the typed forms.
#[derive(clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = EXIT_CODES
)]
pub struct SendArgs {
    #[command(subcommand)]
    form: Option<SendForm>,
    /// A message in the line's JSON form (`deconflict line catalogue`); "from" must be
    /// --party. Its id, time and subject are sent as written.
    #[arg(long, value_name = "FILE", required = true)]
    file: Option<PathBuf>,
    #[command(flatten)]
    connect: Option<ConnectArgs>,
}

#[derive(clap::Subcommand)]
enum SendForm {
    /// A strike or other activity about to take place: area, altitude block, time window.
    /// Default subject: general:<message id>.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    StrikeWarning {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party warned.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// What takes place.
        #[arg(long, value_enum, default_value_t = ActivityArg::Strike)]
        activity: ActivityArg,
        #[command(flatten)]
        area: AreaArgs,
        #[command(flatten)]
        block: BlockArgs,
        #[command(flatten)]
        window: WindowArgs,
        #[command(flatten)]
        envelope: EnvelopeArgs,
    },
    /// Text as written, in the language it was written in (never translated).
    /// Default subject: general:<message id>.
    #[command(after_help = EXIT_CODES)]
    FreeText {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party addressed.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// The text (at most 4096 bytes, no control characters but newlines).
        #[arg(long, value_parser = parse_text)]
        text: Text,
        /// The language the text is written in (en, ru, …).
        #[arg(long, value_name = "TAG", value_parser = parse_lang_tag)]
        lang: LangTag,
        #[command(flatten)]
        envelope: EnvelopeArgs,
    },
    /// Ask a party to change an operation: a new altitude block (--floor-ft/--ceiling-ft) or
    /// a new time window (--start/--end). Default subject: that of the --regarding message.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    RequestToAlter {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party asked.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// The message announcing the operation to change.
        #[arg(long, value_name = "ID", value_parser = parse_message_id)]
        regarding: MessageId,
        #[command(flatten)]
        proposal: AlterationArgs,
        #[command(flatten)]
        envelope: EnvelopeArgs,
    },
    /// Answer a request: accept, reject, or counter with a new altitude block or time window.
    /// Goes to the request's sender; default subject: the request's.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    Reply {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The message answered (its sender receives the reply).
        #[arg(long = "to", value_name = "ID", value_parser = parse_message_id)]
        in_reply_to: MessageId,
        /// accept, reject, or counter (with --floor-ft/--ceiling-ft or --start/--end).
        #[arg(value_enum)]
        decision: DecisionArg,
        #[command(flatten)]
        proposal: AlterationArgs,
        #[command(flatten)]
        envelope: EnvelopeArgs,
    },
    /// A loss of separation that happened, as my party measured it. Subject: incident:<ID>.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    Incident {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party told.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// The incident's id (the conversation threads on it).
        #[arg(long, value_name = "ID", value_parser = parse_subject_id)]
        incident_id: SubjectId,
        /// When it happened (TIME).
        #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
        at: TimeArg,
        /// Where it happened: latitude, decimal degrees.
        #[arg(long, value_name = "DEG", value_parser = parse_latitude, allow_negative_numbers = true)]
        lat: Latitude,
        /// Where it happened: longitude, decimal degrees.
        #[arg(long, value_name = "DEG", value_parser = parse_longitude, allow_negative_numbers = true)]
        lon: Longitude,
        /// One aircraft, PARTY=TRACK (e.g. coalition=CLT-7).
        #[arg(long, value_name = "PARTY=TRACK", value_parser = parse_track_ref)]
        track_a: TrackRef,
        /// The other aircraft, PARTY=TRACK.
        #[arg(long, value_name = "PARTY=TRACK", value_parser = parse_track_ref)]
        track_b: TrackRef,
        /// Closest approach measured, horizontal, metres.
        #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true,
              required_unless_present = "closest_horizontal_ft", conflicts_with = "closest_horizontal_ft")]
        closest_horizontal_m: Option<f64>,
        /// Closest approach measured, horizontal, feet.
        #[arg(long, value_name = "FT", allow_negative_numbers = true)]
        closest_horizontal_ft: Option<i64>,
        /// Closest approach measured, vertical, metres.
        #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true,
              required_unless_present = "closest_vertical_ft", conflicts_with = "closest_vertical_ft")]
        closest_vertical_m: Option<f64>,
        /// Closest approach measured, vertical, feet.
        #[arg(long, value_name = "FT", allow_negative_numbers = true)]
        closest_vertical_ft: Option<i64>,
        /// Message id (default: a new unique id).
        #[arg(long, value_name = "ID", value_parser = parse_message_id)]
        id: Option<MessageId>,
    },
    /// Ask a party to investigate an incident and answer by a date. Subject: incident:<ID>.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    InvestigationRequest {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party asked.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// The incident.
        #[arg(long, value_name = "ID", value_parser = parse_subject_id)]
        incident_id: SubjectId,
        /// Answer expected by (TIME).
        #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
        reply_by: TimeArg,
        /// Message id (default: a new unique id).
        #[arg(long, value_name = "ID", value_parser = parse_message_id)]
        id: Option<MessageId>,
    },
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct PendingArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print the service's answer as JSON ({"to_acknowledge", "awaiting_others", "overdue"},
    /// each a list of line message views) instead of text.
    #[arg(long)]
    json: bool,
    /// Show times at this offset from UTC, e.g. +03:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true, value_parser = parse_offset, value_name = "±HH:MM")]
    utc_offset: UtcOffset,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct AckArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The message acknowledged (addressed to my party).
    #[arg(value_name = "ID", value_parser = parse_message_id)]
    id: MessageId,
    /// The duty officer acknowledging, exactly as on my party's roster.
    #[arg(long, value_name = "NAME", value_parser = parse_officer)]
    officer: OfficerName,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ShowArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The subject's kind: alert, notification, incident, link_test or general.
    #[arg(value_name = "KIND", value_parser = parse_subject_kind)]
    kind: SubjectKind,
    /// The subject's id (an alert, notification or incident id; a link test's id).
    #[arg(value_name = "ID", value_parser = parse_subject_id)]
    id: SubjectId,
    /// The reader's language (en, ru); default: my party's language in the agreement.
    #[arg(long, value_parser = parse_language)]
    lang: Option<Language>,
    /// The reader's local time as a fixed offset from UTC, e.g. +03:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true, value_parser = parse_offset, value_name = "±HH:MM")]
    utc_offset: UtcOffset,
    /// Coordinate style: decimal (35.333611° N) or dms (35°20′01.0″ N).
    #[arg(long, value_enum, default_value_t = Coords::Decimal)]
    coords: Coords,
    /// Print the service's answer as JSON (subject, language, the messages with where each
    /// stands, and the rendered text) instead of the text alone.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ListArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print the service's answer as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Show times at this offset from UTC, e.g. +03:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true, value_parser = parse_offset, value_name = "±HH:MM")]
    utc_offset: UtcOffset,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ReachabilityArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print the service's answer as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_offset(s: &str) -> Result<UtcOffset, String> {
    UtcOffset::parse(s).map_err(|e| e.to_string())
}
fn parse_language(s: &str) -> Result<Language, String> {
    Language::parse(s).map_err(|e| e.to_string())
}

/// What a typed form asks for, before the envelope is filled in (the sender, the time, and for
/// a reply or request the subject of the message referred to, which may need the service).
#[derive(Debug)]
struct Draft {
    to: Recipient,
    id: Option<MessageId>,
    subject: SubjectChoice,
    body: Body,
}

#[derive(Debug)]
enum Recipient {
    Party(PartyId),
    /// The sender of this message (a reply goes back to whoever asked).
    SenderOf(MessageId),
}

#[derive(Debug)]
enum SubjectChoice {
    Given(Subject),
    /// `general:<message id>`.
    OwnId,
    /// The subject of the message referred to.
    SameAs(MessageId),
}

impl SendForm {
    fn connect(&self) -> &ConnectArgs {
        match self {
            SendForm::StrikeWarning { connect, .. }
            | SendForm::FreeText { connect, .. }
            | SendForm::RequestToAlter { connect, .. }
            | SendForm::Reply { connect, .. }
            | SendForm::Incident { connect, .. }
            | SendForm::InvestigationRequest { connect, .. } => connect,
        }
    }

    /// Checks every flag and builds the body; `now_ms` resolves relative times.
    fn draft(&self, now_ms: i64) -> Result<Draft, Failure> {
        let given = |e: &EnvelopeArgs, default: SubjectChoice| {
            e.subject.clone().map_or(default, SubjectChoice::Given)
        };
        Ok(match self {
            SendForm::StrikeWarning {
                to,
                activity,
                area,
                block,
                window,
                envelope,
                ..
            } => Draft {
                to: Recipient::Party(to.clone()),
                id: envelope.id.clone(),
                subject: given(envelope, SubjectChoice::OwnId),
                body: Body::StrikeWarning {
                    activity: match activity {
                        ActivityArg::Strike => Activity::Strike,
                        ActivityArg::Activity => Activity::Activity,
                    },
                    area: area.area()?,
                    altitude_block: block.block()?,
                    window: window.window(now_ms)?,
                },
            },
            SendForm::FreeText {
                to,
                text,
                lang,
                envelope,
                ..
            } => Draft {
                to: Recipient::Party(to.clone()),
                id: envelope.id.clone(),
                subject: given(envelope, SubjectChoice::OwnId),
                body: Body::FreeText {
                    written_in: lang.clone(),
                    text: text.clone(),
                },
            },
            SendForm::RequestToAlter {
                to,
                regarding,
                proposal,
                envelope,
                ..
            } => Draft {
                to: Recipient::Party(to.clone()),
                id: envelope.id.clone(),
                subject: given(envelope, SubjectChoice::SameAs(regarding.clone())),
                body: Body::RequestToAlter {
                    regarding: regarding.clone(),
                    proposal: proposal.alteration(now_ms)?,
                },
            },
            SendForm::Reply {
                in_reply_to,
                decision,
                proposal,
                envelope,
                ..
            } => {
                let answer = match decision {
                    DecisionArg::Counter => Decision::Counter {
                        proposal: proposal.alteration(now_ms)?,
                    },
                    _ if proposal.given() => {
                        return Err(Failure::usage(
                            "--floor-ft/--ceiling-ft/--start/--end",
                            "only a counter proposal carries an altitude block or a time window",
                        ));
                    }
                    DecisionArg::Accept => Decision::Accept,
                    DecisionArg::Reject => Decision::Reject,
                };
                Draft {
                    to: Recipient::SenderOf(in_reply_to.clone()),
                    id: envelope.id.clone(),
                    subject: given(envelope, SubjectChoice::SameAs(in_reply_to.clone())),
                    body: Body::Reply {
                        in_reply_to: in_reply_to.clone(),
                        answer,
                    },
                }
            }
            SendForm::Incident {
                to,
                incident_id,
                at,
                lat,
                lon,
                track_a,
                track_b,
                closest_horizontal_m,
                closest_horizontal_ft,
                closest_vertical_m,
                closest_vertical_ft,
                id,
                ..
            } => {
                let distance =
                    |m: Option<f64>, ft: Option<i64>, flag_m: &str, flag_ft: &str| match (m, ft) {
                        (Some(m), _) => Distance::from_m(m)
                            .map_err(|_| Failure::usage(flag_m, "must be a distance ≥ 0")),
                        (None, Some(ft)) => Distance::from_ft(ft)
                            .map_err(|_| Failure::usage(flag_ft, "must be a distance ≥ 0")),
                        (None, None) => Err(Failure::usage(flag_m, "required")),
                    };
                if track_a == track_b {
                    return Err(Failure::usage(
                        "--track-b",
                        "the same aircraft as --track-a",
                    ));
                }
                Draft {
                    to: Recipient::Party(to.clone()),
                    id: id.clone(),
                    subject: SubjectChoice::Given(Subject::new(
                        SubjectKind::Incident,
                        incident_id.clone(),
                    )),
                    body: Body::IncidentReport {
                        incident_id: incident_id.clone(),
                        at_ms: at.resolve("--at", now_ms)?,
                        position: Position {
                            lat_udeg: *lat,
                            lon_udeg: *lon,
                        },
                        track_a: track_a.clone(),
                        track_b: track_b.clone(),
                        closest_horizontal_mm: distance(
                            *closest_horizontal_m,
                            *closest_horizontal_ft,
                            "--closest-horizontal-m",
                            "--closest-horizontal-ft",
                        )?,
                        closest_vertical_mm: distance(
                            *closest_vertical_m,
                            *closest_vertical_ft,
                            "--closest-vertical-m",
                            "--closest-vertical-ft",
                        )?,
                    },
                }
            }
            SendForm::InvestigationRequest {
                to,
                incident_id,
                reply_by,
                id,
                ..
            } => Draft {
                to: Recipient::Party(to.clone()),
                id: id.clone(),
                subject: SubjectChoice::Given(Subject::new(
                    SubjectKind::Incident,
                    incident_id.clone(),
                )),
                body: Body::InvestigationRequest {
                    incident_id: incident_id.clone(),
                    reply_by_ms: reply_by.resolve_end("--reply-by", now_ms)?,
                },
            },
        })
    }
}

/// Who sent a message and on which subject.
type Lookup<'a> = dyn FnMut(&MessageId) -> Result<(PartyId, Subject), Failure> + 'a;

/// Fills in the envelope: sender, time, id, recipient and subject (`lookup` answers who sent
/// a referenced message and on which subject, when a reply or request needs it).
fn complete(
    draft: Draft,
    from: &PartyId,
    now_ms: i64,
    lookup: &mut Lookup<'_>,
) -> Result<Message, Failure> {
    let id = match draft.id {
        Some(id) => id,
        None => deconflict_service::line::new_message_id(from.as_str()),
    };
    let mut referenced = None;
    let mut refer = |mid: &MessageId| -> Result<(PartyId, Subject), Failure> {
        if referenced.is_none() {
            referenced = Some(lookup(mid)?);
        }
        Ok(referenced.clone().expect("just set"))
    };
    let to = match &draft.to {
        Recipient::Party(p) => p.clone(),
        Recipient::SenderOf(mid) => refer(mid)?.0,
    };
    let subject = match draft.subject {
        SubjectChoice::Given(s) => s,
        SubjectChoice::OwnId => Subject::new(
            SubjectKind::General,
            SubjectId::new(id.as_str()).map_err(|e| Failure::usage("--id", e))?,
        ),
        SubjectChoice::SameAs(mid) => refer(&mid)?.1,
    };
    let sent = Timestamp::from_unix_ms(now_ms)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("the system clock: {e}")))?;
    let flag = match draft.to {
        Recipient::Party(_) => "--to",
        Recipient::SenderOf(_) => "--to (the message answered)",
    };
    Message::new(id, from.clone(), to, sent, subject, draft.body).map_err(|e| {
        use deconflict_line::MessageError as E;
        match e {
            E::SelfAddressed { .. } => Failure::usage(flag, "a party cannot send to itself"),
            E::SubjectMismatch { .. } => Failure::usage("--subject", e),
            other => Failure::Usage(anyhow::anyhow!("{other}")),
        }
    })
}

fn now_ms() -> i64 {
    use deconflict_service::Clock as _;
    deconflict_service::SystemClock.now_ms()
}

fn send(a: SendArgs) -> Result<(), Failure> {
    let now = now_ms();
    let (connect, draft, message) = match a.form {
        Some(form) => {
            let connect = form.connect().clone();
            let draft = form.draft(now)?;
            (connect, Some(draft), None)
        }
        None => {
            let (Some(file), Some(connect)) = (a.file, a.connect) else {
                return Err(Failure::usage(
                    "--file",
                    "give --file FILE --service URL --party ID --key FILE, or a typed form (see --help)",
                ));
            };
            let bytes = std::fs::read(&file)
                .map_err(|e| Failure::usage("--file", format!("{}: {e}", file.display())))?;
            let message = Message::from_json(&bytes)
                .map_err(|e| Failure::usage("--file", format!("{}: {e}", file.display())))?;
            let party = &connect.party;
            if message.from().as_str() != party.as_str() {
                return Err(Failure::usage(
                    "--file",
                    format!(
                        "{}: \"from\" is {}, but the message is sent as --party {party}",
                        file.display(),
                        message.from()
                    ),
                ));
            }
            (connect, None, Some(message))
        }
    };
    let from = PartyId::new(&connect.party).map_err(|e| Failure::usage("--party", e))?;
    let client = connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let message = match (message, draft) {
            (Some(m), _) => m,
            (None, Some(draft)) => {
                // A reply or a request threads on the message it refers to: ask the service
                // who sent it and on which subject (it answers only if my party may read it).
                let referenced = match draft.referenced() {
                    Some(id) => {
                        let v = client.line_message(id.as_str()).await?;
                        let sender = PartyId::new(&v.from)
                            .map_err(|e| Failure::Connection(format!("message {id}: {e}")))?;
                        Some((sender, v.message.subject().clone()))
                    }
                    None => None,
                };
                complete(draft, &from, now, &mut |id| {
                    referenced.clone().ok_or_else(|| {
                        Failure::Usage(anyhow::anyhow!("message {id} was not looked up"))
                    })
                })?
            }
            (None, None) => unreachable!("either a file or a typed form"),
        };
        let accepted = client.line_send(&message).await?;
        print!("{}", sent_text(&message, &accepted));
        Ok(())
    })
}

/// What `send` prints: the id (to acknowledge, show or resend), and the deadline if any.
fn sent_text(m: &Message, a: &deconflict_service::line::LineAccepted) -> String {
    let mut out = if a.duplicate {
        format!(
            "{} was already accepted at {}: a repeat, nothing changed\n",
            a.message_id,
            format_time(a.accepted_unix_ms, UtcOffset::UTC)
        )
    } else {
        format!(
            "sent {} ({} to {}, subject {}:{}) accepted at {}\n",
            a.message_id,
            m.kind(),
            m.to(),
            subject_kind_tag(m.subject().kind),
            m.subject().id,
            format_time(a.accepted_unix_ms, UtcOffset::UTC)
        )
    };
    match a.deadline_unix_ms {
        Some(d) => out.push_str(&format!(
            "acknowledgement due by {} ({} after acceptance)\n",
            format_time(d, UtcOffset::UTC),
            format_span(d - a.accepted_unix_ms)
        )),
        None => out.push_str("no acknowledgement required\n"),
    }
    out
}

impl Draft {
    /// The message whose sender or subject this draft takes.
    fn referenced(&self) -> Option<&MessageId> {
        match (&self.to, &self.subject) {
            (Recipient::SenderOf(id), _) | (_, SubjectChoice::SameAs(id)) => Some(id),
            _ => None,
        }
    }
}

/// Runs one command's requests on a single-threaded runtime.
fn block_on<F>(f: F) -> Result<(), Failure>
where
    F: std::future::Future<Output = Result<(), Failure>>,
{
    let rt = super::connect::runtime().map_err(|e| Failure::Connection(format!("{e:#}")))?;
    rt.block_on(f)
}

/// `GET path` and print the service's JSON answer as it came (the `--json` output).
fn print_raw_json(connect: &ConnectArgs, path: String) -> Result<(), Failure> {
    let client = connect.client().map_err(Failure::Usage)?;
    block_on(async move { print_raw_json_with(&client, &path).await })
}

async fn print_raw_json_with(
    client: &deconflict_service::client::PartyClient,
    path: &str,
) -> Result<(), Failure> {
    let (status, body) = client.send("GET", path, Vec::new()).await?;
    if !(200..300).contains(&status) {
        let e: deconflict_service::error::ErrorBody = deconflict_line::message::parse_json(&body)
            .unwrap_or(deconflict_service::error::ErrorBody {
                code: "unknown".into(),
                message: String::from_utf8_lossy(&body).into_owned(),
                field: None,
            });
        return Err(Failure::Refused {
            status,
            code: e.code,
            message: e.message,
            field: e.field,
        });
    }
    println!("{}", String::from_utf8_lossy(&body).trim_end());
    Ok(())
}

/// Percent-encodes a path segment or query value (ids may hold `:` and `/`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pending(a: PendingArgs) -> Result<(), Failure> {
    if a.json {
        return print_raw_json(&a.connect, "/v1/line/pending".into());
    }
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let p = client.line_pending().await?;
        print!("{}", pending_text(&p, now_ms(), a.utc_offset));
        Ok(())
    })
}

/// The three lists an officer works from, each message with its deadline and time left.
fn pending_text(
    p: &deconflict_service::line::LinePending,
    now_ms: i64,
    offset: UtcOffset,
) -> String {
    let mut out = String::new();
    let sections = [
        ("To acknowledge (addressed to us)", &p.to_acknowledge),
        (
            "Awaiting the other party's acknowledgement",
            &p.awaiting_others,
        ),
        ("Overdue (either side)", &p.overdue),
    ];
    for (title, list) in sections {
        out.push_str(&format!("{title}: {}\n", list.len()));
        for v in list {
            out.push_str(&view_text(v, now_ms, offset));
        }
    }
    out
}

/// One message and where it stands, two or three lines.
fn view_text(v: &deconflict_service::line::LineMessageView, now_ms: i64, o: UtcOffset) -> String {
    let s = v.message.subject();
    let mut out = format!(
        "  {}  {} from {} to {}, subject {}:{}\n    sent {}",
        v.message.id(),
        v.kind,
        v.from,
        v.to,
        subject_kind_tag(s.kind),
        s.id,
        format_time(v.sent_unix_ms, o)
    );
    match (&v.acknowledged, v.overdue_unix_ms, v.deadline_unix_ms) {
        (Some(a), _, _) => out.push_str(&format!(
            "; acknowledged by {} at {}{}",
            a.officer,
            format_time(a.at_unix_ms, o),
            if a.late { " (late)" } else { " (in time)" }
        )),
        (None, Some(since), _) => out.push_str(&format!(
            "; OVERDUE since {}, {} ago",
            format_time(since, o),
            format_span(now_ms - since)
        )),
        (None, None, Some(d)) if d > now_ms => out.push_str(&format!(
            "; deadline {}, {} left",
            format_time(d, o),
            format_span(d - now_ms)
        )),
        (None, None, Some(d)) => out.push_str(&format!(
            "; deadline {}, passed {} ago",
            format_time(d, o),
            format_span(now_ms - d)
        )),
        (None, None, None) => out.push_str("; no acknowledgement required"),
    }
    out.push('\n');
    if v.acknowledged.is_none()
        && let Some(h) = &v.holder
    {
        out.push_str(&format!("    with {h} (escalation level {})", v.level));
        if let Some(d) = v.holder_deadline_unix_ms {
            if d > now_ms {
                out.push_str(&format!(
                    ", to acknowledge by {} ({} left)",
                    format_time(d, o),
                    format_span(d - now_ms)
                ));
            } else {
                out.push_str(&format!(
                    ", whose deadline {} passed {} ago",
                    format_time(d, o),
                    format_span(now_ms - d)
                ));
            }
        }
        for e in &v.escalations {
            out.push_str(&format!(
                "; escalated to {} at {}",
                e.to,
                format_time(e.at_unix_ms, o)
            ));
        }
        out.push('\n');
    }
    out
}

fn ack(a: AckArgs) -> Result<(), Failure> {
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let r = client.line_ack(a.id.as_str(), a.officer.as_str()).await?;
        print!("{}", ack_text(&r, a.officer.as_str()));
        Ok(())
    })
}

fn ack_text(r: &deconflict_service::line::LineAckResult, officer: &str) -> String {
    let when = format_time(r.acknowledged_unix_ms, UtcOffset::UTC);
    let timing = if r.late {
        format!(
            "late, after {} escalation{}",
            r.escalations,
            if r.escalations == 1 { "" } else { "s" }
        )
    } else {
        "in time".to_string()
    };
    if r.duplicate {
        format!(
            "{} was already acknowledged by {officer} at {when} ({timing}): a repeat, counted once\n",
            r.message_id
        )
    } else {
        format!(
            "acknowledged {} as {officer} at {when} ({timing})\n",
            r.message_id
        )
    }
}

fn show(a: ShowArgs) -> Result<(), Failure> {
    let kind = subject_kind_tag(a.kind);
    let offset = a.utc_offset.to_string();
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let lang = match a.lang {
            Some(l) => l.code().to_string(),
            None => party_language(&client).await?,
        };
        if a.json {
            let path = format!(
                "/v1/line/conversations/{}/{}?lang={}&utc_offset={}&coords={}",
                encode(kind),
                encode(a.id.as_str()),
                encode(&lang),
                encode(&offset),
                a.coords.wire()
            );
            return print_raw_json_with(&client, &path).await;
        }
        let v = client
            .line_conversation(kind, a.id.as_str(), &lang, &offset, a.coords.wire())
            .await?;
        print!("{}", conversation_text(&v, now_ms(), a.utc_offset));
        Ok(())
    })
}

/// A conversation as `show` prints it: the rendered text, then where each message stands
/// (acknowledged in time or late, overdue, with whom after escalations), as `pending` says it.
fn conversation_text(
    v: &deconflict_service::line::ConversationView,
    now_ms: i64,
    o: UtcOffset,
) -> String {
    let mut out = v.text.clone();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if !v.messages.is_empty() {
        out.push_str("\nWhere each message stands\n");
        for m in &v.messages {
            out.push_str(&view_text(m, now_ms, o));
        }
    }
    out
}

/// The calling party's language, as the agreement names it.
async fn party_language(
    client: &deconflict_service::client::PartyClient,
) -> Result<String, Failure> {
    let view: deconflict_service::wire::AgreementView =
        client.call::<(), _>("GET", "/v1/agreement", None).await?;
    view.parties
        .into_iter()
        .find(|p| p.id == client.party())
        .map(|p| p.language)
        .ok_or_else(|| {
            Failure::Connection(format!(
                "the agreement lists no party {}; give --lang",
                client.party()
            ))
        })
}

fn conversations(a: ListArgs) -> Result<(), Failure> {
    if a.json {
        return print_raw_json(&a.connect, "/v1/line/conversations".into());
    }
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let list = client.line_conversations().await?;
        println!(
            "{:<13} {:<40} {:>8}  last message",
            "kind", "id", "messages"
        );
        for c in &list {
            println!(
                "{:<13} {:<40} {:>8}  {}",
                c.subject_kind,
                c.subject_id,
                c.messages,
                format_time(c.last_unix_ms, a.utc_offset)
            );
        }
        Ok(())
    })
}

fn reachability(a: ReachabilityArgs) -> Result<(), Failure> {
    if a.json {
        return print_raw_json(&a.connect, "/v1/line/reachability".into());
    }
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let list = client.line_reachability().await?;
        println!("Link tests over the last 7 days");
        println!(
            "{:<24} {:>8} {:>6} {:>7} {:>8}",
            "party", "in time", "late", "missed", "pending"
        );
        for r in &list {
            println!(
                "{:<24} {:>8} {:>6} {:>7} {:>8}",
                r.party, r.in_time, r.late, r.missed, r.pending
            );
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        let mut all = vec!["deconflict"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| c.command)
    }

    const CONNECT: [&str; 6] = [
        "--service",
        "http://127.0.0.1:1",
        "--party",
        "coalition",
        "--key",
        "k.key",
    ];

    fn send_form(args: &[&str]) -> Result<SendForm, clap::Error> {
        let mut all = vec!["send"];
        all.extend_from_slice(args);
        all.extend_from_slice(&CONNECT);
        match parse(&all)? {
            Command::Send(a) => match a.form {
                Some(f) => Ok(f),
                None => panic!("not a typed send"),
            },
            _ => panic!("not a send"),
        }
    }

    const NOW: i64 = 1_491_990_000_000; // 2017-04-12 09:40:00 UTC

    fn usage_text(f: Failure) -> String {
        match f {
            Failure::Usage(e) => format!("{e:#}"),
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn rfc3339_times_at_known_instants() {
        let t = |s| parse_rfc3339_ms(s).unwrap();
        assert_eq!(t("1970-01-01T00:00:00Z"), 0);
        assert_eq!(t("2017-04-12T09:40:00Z"), NOW);
        assert_eq!(t("2017-04-12T12:40:00+03:00"), NOW);
        assert_eq!(t("2017-04-12 09:40:00.250Z"), NOW + 250);
        assert_eq!(t("2017-04-12T09:40:00.123456789Z"), NOW + 123);
        assert_eq!(t("2000-02-29T12:00:00Z"), 951_825_600_000);
        for bad in [
            "2017-04-12",
            "2017-04-12T09:40:00",
            "2017-02-29T00:00:00Z",
            "2017-13-01T00:00:00Z",
            "2017-04-12T24:00:00Z",
            "2017-04-12T09:40:60Z",
            "2017-04-12T09:40:00+3:00",
            "2017-04-12T09:40:00.Z",
            "2017-0a-12T09:40:00Z",
            "2017-04-12T09:40:00Zjunk",
        ] {
            assert!(parse_rfc3339_ms(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn rfc3339_agrees_with_the_line_crates_calendar() {
        // The line crate's civil conversion is the oracle: format, parse back, same instant.
        let mut ms: i64 = 0;
        while ms < 4_102_444_800_000 {
            let t = Timestamp::from_unix_ms(ms).unwrap();
            let text = format!("{}Z", t.civil(UtcOffset::UTC)).replacen(' ', "T", 1);
            assert_eq!(parse_rfc3339_ms(&text).unwrap(), ms, "{text}");
            let moscow = UtcOffset::from_minutes(180).unwrap();
            let local = format!("{}+03:00", t.civil(moscow));
            assert_eq!(parse_rfc3339_ms(&local).unwrap(), ms, "{local}");
            ms += 86_399_000 * 7 + 12_345_000;
        }
    }

    /// Random and truncated flag values never panic a parser; every time accepted prints back
    /// to the same instant (the line crate's calendar is the oracle).
    #[test]
    fn flag_parsers_survive_random_and_truncated_input() {
        let alphabet: Vec<char> = "0123456789-+:.,=/TZtz nowhmsNaé°′″\u{0}".chars().collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let seeds = [
            "2017-04-12T09:40:00.250+03:00",
            "now+1h30m",
            "35.333611,40.140833",
            "notification:N-7",
            "coalition=CLT-7",
        ];
        for i in 0..20_000 {
            let text: String = if i % 4 == 0 {
                let seed = seeds[next(seeds.len())];
                let cut = next(seed.len() + 1);
                seed.char_indices()
                    .take_while(|(k, _)| *k < cut)
                    .map(|(_, c)| c)
                    .collect()
            } else {
                (0..next(32))
                    .map(|_| alphabet[next(alphabet.len())])
                    .collect()
            };
            if let Ok(TimeArg::At { down_ms: ms, .. }) = parse_time_arg(&text)
                && let Ok(t) = Timestamp::from_unix_ms(ms - ms.rem_euclid(1000))
            {
                let back = format!("{}Z", t.civil(UtcOffset::UTC)).replacen(' ', "T", 1);
                assert_eq!(parse_rfc3339_ms(&back), Ok(t.unix_ms()), "{text:?}");
            }
            let _ = parse_position(&text);
            let _ = parse_subject(&text);
            let _ = parse_track_ref(&text);
            let _ = parse_finite(&text);
        }
    }

    #[test]
    fn absolute_times_finer_than_a_millisecond_keep_both_roundings() {
        let t = parse_time_arg("2017-04-12T09:40:00.123456Z").unwrap();
        assert_eq!(
            t,
            TimeArg::At {
                down_ms: NOW + 123,
                up_ms: NOW + 124
            }
        );
        assert_eq!(t.resolve("--start", 0).unwrap().unix_ms(), NOW + 123);
        assert_eq!(t.resolve_end("--end", 0).unwrap().unix_ms(), NOW + 124);
        let exact = parse_time_arg("2017-04-12T09:40:00.123Z").unwrap();
        assert_eq!(exact.resolve_end("--end", 0).unwrap().unix_ms(), NOW + 123);
    }

    #[test]
    fn relative_times() {
        assert_eq!(parse_time_arg("now"), Ok(TimeArg::FromNowMs(0)));
        assert_eq!(parse_time_arg("+90s"), Ok(TimeArg::FromNowMs(90_000)));
        assert_eq!(
            parse_time_arg("now+1h30m"),
            Ok(TimeArg::FromNowMs(5_400_000))
        );
        assert_eq!(parse_time_arg("-5m"), Ok(TimeArg::FromNowMs(-300_000)));
        assert_eq!(parse_time_arg("+250ms"), Ok(TimeArg::FromNowMs(250)));
        for bad in [
            "+",
            "+10",
            "+m",
            "+10x",
            "nowish",
            "now10m",
            "+99999999999999h",
        ] {
            assert!(parse_time_arg(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn times_and_spans_print_for_an_officer() {
        assert_eq!(format_time(NOW, UtcOffset::UTC), "2017-04-12 09:40:00Z");
        assert_eq!(
            format_time(NOW, UtcOffset::from_minutes(180).unwrap()),
            "2017-04-12 12:40:00+03:00"
        );
        assert_eq!(format_span(40_900), "40 s");
        assert_eq!(format_span(-185_000), "3 min 05 s");
        assert_eq!(format_span(3_720_000), "1 h 02 min");
    }

    #[test]
    fn strike_warning_from_flags() {
        let f = send_form(&[
            "strike-warning",
            "--to",
            "russia",
            "--lat",
            "35.333611",
            "--lon",
            "40.140833",
            "--radius-nm",
            "2",
            "--floor-ft",
            "15000",
            "--ceiling-ft",
            "25000",
            "--start",
            "+10m",
            "--end",
            "2017-04-12T10:40:00Z",
            "--subject",
            "notification:N-7",
            "--id",
            "coalition-M-111",
        ])
        .unwrap();
        let d = f.draft(NOW).unwrap();
        let from = PartyId::new("coalition").unwrap();
        let m = complete(d, &from, NOW, &mut |_| unreachable!()).unwrap();
        let json = String::from_utf8(m.canonical_json()).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"body":{"activity":"strike","altitude_block":{"lower_mm":4572000,"upper_mm":7620000},"#,
                r#""area":{"centre":{"lat_udeg":35333611,"lon_udeg":40140833},"radius_mm":3704000,"shape":"circle"},"#,
                r#""type":"strike_warning","window":{"end_ms":1491993600000,"start_ms":1491990600000}},"#,
                r#""from":"coalition","id":"coalition-M-111","sent_at_ms":1491990000000,"#,
                r#""subject":{"id":"N-7","kind":"notification"},"to":"russia"}"#
            )
        );
    }

    #[test]
    fn latitude_200_is_refused_naming_the_flag() {
        let e = send_form(&[
            "strike-warning",
            "--to",
            "russia",
            "--lat",
            "200",
            "--lon",
            "40",
            "--radius-m",
            "1000",
            "--floor-m",
            "1000",
            "--ceiling-m",
            "2000",
            "--start",
            "now",
            "--end",
            "+1h",
        ])
        .err()
        .expect("refused");
        assert_eq!(e.exit_code(), 2);
        let text = e.to_string();
        assert!(text.contains("--lat"), "{text}");
        assert!(text.contains("outside -90..=90"), "{text}");
    }

    #[test]
    fn negative_window_is_refused_naming_the_flag() {
        let f = send_form(&[
            "strike-warning",
            "--to",
            "russia",
            "--lat",
            "35",
            "--lon",
            "40",
            "--radius-m",
            "1000",
            "--floor-m",
            "1000",
            "--ceiling-m",
            "2000",
            "--start",
            "+1h",
            "--end",
            "+10m",
        ])
        .unwrap();
        let text = usage_text(f.draft(NOW).unwrap_err());
        assert!(text.starts_with("--end: the window ends"), "{text}");
    }

    #[test]
    fn bad_values_name_their_flags() {
        let base = [
            "strike-warning",
            "--to",
            "russia",
            "--lat",
            "35",
            "--lon",
            "40",
            "--start",
            "now",
            "--end",
            "+1h",
        ];
        let case = |extra: &[&str]| {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            usage_text(send_form(&args).unwrap().draft(NOW).unwrap_err())
        };
        let t = case(&["--radius-m", "-5", "--floor-m", "0", "--ceiling-m", "10"]);
        assert!(t.starts_with("--radius-m:"), "{t}");
        let t = case(&["--radius-m", "0", "--floor-m", "0", "--ceiling-m", "10"]);
        assert!(t.starts_with("--radius-m:"), "{t}");
        let t = case(&[
            "--radius-nm",
            "1",
            "--floor-ft",
            "20000",
            "--ceiling-ft",
            "10000",
        ]);
        assert!(t.starts_with("--ceiling-ft:"), "{t}");
        let t = case(&["--radius-nm", "1", "--floor-ft", "20000"]);
        assert!(t.starts_with("--ceiling-ft/--ceiling-m:"), "{t}");
        let t = case(&["--floor-ft", "0", "--ceiling-ft", "10"]);
        assert!(t.starts_with("--radius-m/--radius-nm:"), "{t}");
        // Values clap refuses itself name the flag and exit 2.
        for (flag, value) in [
            ("--to", "bad party!"),
            ("--radius-m", "NaN"),
            ("--radius-m", "inf"),
            ("--lon", "181"),
            ("--start", "yesterday"),
        ] {
            let mut args = base.to_vec();
            if let Some(i) = args.iter().position(|a| *a == flag) {
                args[i + 1] = value;
            } else {
                args.extend_from_slice(&[flag, value]);
            }
            let e = send_form(&args).err().expect("refused");
            assert_eq!(e.exit_code(), 2, "{flag} {value}");
            assert!(e.to_string().contains(flag), "{flag}: {e}");
        }
    }

    #[test]
    fn sending_to_oneself_is_a_usage_error() {
        let f = send_form(&[
            "free-text",
            "--to",
            "coalition",
            "--text",
            "hello",
            "--lang",
            "en",
        ])
        .unwrap();
        let d = f.draft(NOW).unwrap();
        let from = PartyId::new("coalition").unwrap();
        let t = usage_text(complete(d, &from, NOW, &mut |_| unreachable!()).unwrap_err());
        assert!(t.starts_with("--to:"), "{t}");
    }

    #[test]
    fn a_reply_goes_to_the_requests_sender_on_its_subject() {
        let f = send_form(&["reply", "--to", "russia-M-201", "accept"]).unwrap();
        let d = f.draft(NOW).unwrap();
        let from = PartyId::new("coalition").unwrap();
        let mut asked = Vec::new();
        let m = complete(d, &from, NOW, &mut |id| {
            asked.push(id.clone());
            Ok((
                PartyId::new("russia").unwrap(),
                Subject::new(SubjectKind::Alert, SubjectId::new("A-1").unwrap()),
            ))
        })
        .unwrap();
        assert_eq!(asked.len(), 1, "the referenced message is fetched once");
        assert_eq!(m.to().as_str(), "russia");
        assert_eq!(m.subject().kind, SubjectKind::Alert);
        assert_eq!(m.subject().id.as_str(), "A-1");
        assert!(m.id().as_str().starts_with("coalition-"));
        // A counter needs a proposal; accept carries none.
        let f = send_form(&["reply", "--to", "russia-M-201", "counter"]).unwrap();
        assert!(usage_text(f.draft(NOW).unwrap_err()).contains("propose"));
        let f = send_form(&["reply", "--to", "x", "accept", "--floor-ft", "1"]).unwrap();
        assert!(usage_text(f.draft(NOW).unwrap_err()).contains("only a counter"));
        let f = send_form(&[
            "reply",
            "--to",
            "x",
            "counter",
            "--floor-ft",
            "27000",
            "--ceiling-ft",
            "31000",
        ])
        .unwrap();
        assert!(f.draft(NOW).is_ok());
    }

    #[test]
    fn an_incident_threads_on_its_id() {
        let f = send_form(&[
            "incident",
            "--to",
            "russia",
            "--incident-id",
            "I-3",
            "--at",
            "-10m",
            "--lat",
            "-35.5",
            "--lon",
            "40.1",
            "--track-a",
            "coalition=CLT-7",
            "--track-b",
            "russia=RUS-31",
            "--closest-horizontal-ft",
            "500",
            "--closest-vertical-m",
            "30",
        ])
        .unwrap();
        let d = f.draft(NOW).unwrap();
        let from = PartyId::new("coalition").unwrap();
        let m = complete(d, &from, NOW, &mut |_| unreachable!()).unwrap();
        assert_eq!(m.subject().kind, SubjectKind::Incident);
        let Body::IncidentReport {
            at_ms,
            closest_horizontal_mm,
            position,
            ..
        } = m.body()
        else {
            panic!("not an incident report")
        };
        assert_eq!(at_ms.unix_ms(), NOW - 600_000);
        assert_eq!(closest_horizontal_mm.mm(), 152_400);
        assert_eq!(position.lat_udeg.udeg(), -35_500_000);
        let e = send_form(&[
            "incident",
            "--to",
            "russia",
            "--incident-id",
            "I-3",
            "--at",
            "now",
            "--lat",
            "35",
            "--lon",
            "40",
            "--track-a",
            "CLT-7",
            "--track-b",
            "russia=RUS-31",
            "--closest-horizontal-m",
            "1",
            "--closest-vertical-m",
            "1",
        ])
        .err()
        .expect("refused");
        assert!(e.to_string().contains("--track-a"), "{e}");
    }

    #[test]
    fn send_needs_a_file_or_a_form() {
        let e = parse(&["send"]).err().expect("refused");
        assert_eq!(e.exit_code(), 2);
        let ok = parse(&[
            "send",
            "--file",
            "m.json",
            "--service",
            "http://x",
            "--party",
            "p",
            "--key",
            "k",
        ]);
        assert!(ok.is_ok());
        let both = parse(&[
            "send",
            "--file",
            "m.json",
            "free-text",
            "--to",
            "r",
            "--text",
            "t",
            "--lang",
            "en",
        ]);
        assert!(both.is_err());
    }

    fn strike_view() -> deconflict_service::line::LineMessageView {
        let f = send_form(&[
            "strike-warning",
            "--to",
            "russia",
            "--lat",
            "35",
            "--lon",
            "40",
            "--radius-nm",
            "2",
            "--floor-ft",
            "15000",
            "--ceiling-ft",
            "25000",
            "--start",
            "+10m",
            "--end",
            "+40m",
            "--id",
            "coalition-sw-1",
        ])
        .unwrap();
        let from = PartyId::new("coalition").unwrap();
        let m = complete(f.draft(NOW).unwrap(), &from, NOW, &mut |_| unreachable!()).unwrap();
        deconflict_service::line::LineMessageView {
            message: m,
            kind: "strike_warning".into(),
            from: "coalition".into(),
            to: "russia".into(),
            sent_unix_ms: NOW,
            deadline_unix_ms: Some(NOW + 120_000),
            acknowledged: None,
            holder: Some("Дежурный офицер".into()),
            holder_deadline_unix_ms: Some(NOW + 120_000),
            level: 0,
            escalations: Vec::new(),
            overdue_unix_ms: None,
        }
    }

    #[test]
    fn pending_shows_deadlines_time_left_and_escalations() {
        let fresh = strike_view();
        let mut late = strike_view();
        late.holder = Some("Russian Federation command".into());
        late.holder_deadline_unix_ms = Some(NOW + 240_000);
        late.level = 1;
        late.overdue_unix_ms = Some(NOW + 120_000);
        late.escalations = vec![deconflict_service::line::EscalationView {
            to: "Russian Federation command".into(),
            at_unix_ms: NOW + 120_000,
        }];
        let p = deconflict_service::line::LinePending {
            to_acknowledge: Vec::new(),
            awaiting_others: vec![fresh],
            overdue: vec![late],
        };
        let moscow = UtcOffset::from_minutes(180).unwrap();
        assert_eq!(
            pending_text(&p, NOW + 130_000, UtcOffset::UTC),
            "To acknowledge (addressed to us): 0\n\
             Awaiting the other party's acknowledgement: 1\n\
             \x20 coalition-sw-1  strike_warning from coalition to russia, subject general:coalition-sw-1\n\
             \x20   sent 2017-04-12 09:40:00Z; deadline 2017-04-12 09:42:00Z, passed 10 s ago\n\
             \x20   with Дежурный офицер (escalation level 0), whose deadline 2017-04-12 09:42:00Z passed 10 s ago\n\
             Overdue (either side): 1\n\
             \x20 coalition-sw-1  strike_warning from coalition to russia, subject general:coalition-sw-1\n\
             \x20   sent 2017-04-12 09:40:00Z; OVERDUE since 2017-04-12 09:42:00Z, 10 s ago\n\
             \x20   with Russian Federation command (escalation level 1), to acknowledge by 2017-04-12 09:44:00Z (1 min 50 s left); escalated to Russian Federation command at 2017-04-12 09:42:00Z\n"
        );
        let mut acked = strike_view();
        acked.acknowledged = Some(deconflict_service::line::AckView {
            officer: "Russian Federation command".into(),
            at_unix_ms: NOW + 150_000,
            late: true,
        });
        acked.holder = None;
        assert_eq!(
            view_text(&acked, NOW + 200_000, moscow),
            "  coalition-sw-1  strike_warning from coalition to russia, subject general:coalition-sw-1\n\
             \x20   sent 2017-04-12 12:40:00+03:00; acknowledged by Russian Federation command at 2017-04-12 12:42:30+03:00 (late)\n"
        );
        let overdue = strike_view();
        assert!(
            view_text(&overdue, NOW + 185_000, UtcOffset::UTC)
                .contains("deadline 2017-04-12 09:42:00Z, passed 1 min 05 s ago")
        );
    }

    #[test]
    fn show_says_where_each_message_stands_overdue_escalated_or_late() {
        let mut overdue = strike_view();
        overdue.overdue_unix_ms = Some(NOW + 120_000);
        overdue.holder = Some("Russian Federation command".into());
        overdue.level = 1;
        overdue.escalations = vec![deconflict_service::line::EscalationView {
            to: "Russian Federation command".into(),
            at_unix_ms: NOW + 120_000,
        }];
        let mut late = strike_view();
        late.acknowledged = Some(deconflict_service::line::AckView {
            officer: "Russian Federation command".into(),
            at_unix_ms: NOW + 200_000,
            late: true,
        });
        let v = deconflict_service::line::ConversationView {
            subject_kind: "general".into(),
            subject_id: "coalition-sw-1".into(),
            lang: "en".into(),
            messages: vec![overdue, late],
            text: "rendered".into(),
        };
        let text = conversation_text(&v, NOW + 185_000, UtcOffset::UTC);
        assert!(
            text.starts_with("rendered\n\nWhere each message stands\n"),
            "{text}"
        );
        assert!(
            text.contains("OVERDUE since 2017-04-12 09:42:00Z"),
            "{text}"
        );
        assert!(
            text.contains("escalated to Russian Federation command at 2017-04-12 09:42:00Z"),
            "{text}"
        );
        assert!(
            text.contains(
                "acknowledged by Russian Federation command at 2017-04-12 09:43:20Z (late)"
            ),
            "{text}"
        );
    }

    #[test]
    fn acknowledgements_print_timing_and_repeats() {
        let r = |late, escalations, duplicate| deconflict_service::line::LineAckResult {
            message_id: "coalition-sw-1".into(),
            acknowledged_unix_ms: NOW,
            late,
            escalations,
            duplicate,
        };
        assert_eq!(
            ack_text(&r(false, 0, false), "Дежурный офицер"),
            "acknowledged coalition-sw-1 as Дежурный офицер at 2017-04-12 09:40:00Z (in time)\n"
        );
        assert_eq!(
            ack_text(&r(true, 2, true), "Russian Federation command"),
            "coalition-sw-1 was already acknowledged by Russian Federation command at 2017-04-12 09:40:00Z (late, after 2 escalations): a repeat, counted once\n"
        );
    }

    #[test]
    fn refusals_print_code_message_and_field() {
        assert_eq!(
            refusal_text(409, "already_acknowledged", "by someone", Some("officer")),
            "the service refused (HTTP 409)\n  code:    already_acknowledged\n  message: by someone\n  field:   officer"
        );
    }
}
