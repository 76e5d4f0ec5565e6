//! `deconflict notifications …`: strategic checks of notified operations.
//!
//! `check` reads two GeoJSON documents (the format is documented in
//! `deconflict_airspace::geojson_io`), indexes the existing notifications and prints one line
//! `{"new":ID,"existing":ID}` per new notification and other-party existing notification whose
//! volumes conflict, new notifications in document order, existing ids sorted. Invalid input
//! fails the whole command with the file, feature and rule in the message.
//!
//! `create`, `update`, `withdraw`, `list` and `show` talk to a running service as one party
//! (`--service`, `--party`, `--key`). A create or update is signed twice: the request (RFC 9421)
//! and the notification's entry in the shared log, which the party builds from its own copy
//! of the agreement (`--agreement`: what it discloses is in the clear, the rest committed with
//! salts derived from its key) and signs with its key. `--keep-openings FILE` appends the openings of
//! those commitments, in the format `deconflict log open` reads, so the party can open them to
//! a working group itself.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use deconflict_client::PartyClient;
use deconflict_client::wire::{
    AreaIn, LatLon, NotificationAccepted, NotificationCreate, NotificationIn, NotificationUpdate,
    NotificationView,
};
use deconflict_line::units::UtcOffset;

use super::connect::ConnectArgs;
use super::line::{
    EXIT_CODES, Failure, TIME_HELP, TimeArg, finish, format_time, parse_finite, parse_time_arg,
};
use deconflict_airspace::geojson_io::{DOCUMENT_BYTES_MAX, conflict_json_line};
use deconflict_airspace::{
    Buffers, Footprint, Frame, Limits, LonLat, Notification, StrategicIndex, parse_notifications,
};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print every conflict between NEW notifications and EXISTING notifications of other
    /// parties, one JSON line each: {"new":ID,"existing":ID}.
    Check(CheckArgs),
    /// Notify an operation to the service: the strategic check answers at once, and every
    /// overlap with another party's notification is flagged to both.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    Create(Box<WriteArgs>),
    /// Replace a notification (every field is given again); --revision is the one replaced.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    Update {
        /// The stored revision this one replaces (a stale one is refused).
        #[arg(long)]
        revision: u64,
        #[command(flatten)]
        write: Box<WriteArgs>,
    },
    /// Withdraw a notification at --revision.
    #[command(after_help = EXIT_CODES)]
    Withdraw {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The notification's id.
        id: String,
        /// The stored revision.
        #[arg(long)]
        revision: u64,
    },
    /// Every notification the party may see: its own in full, the others' disclosed fields.
    #[command(after_help = EXIT_CODES)]
    List {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The service's JSON array instead of one line per notification.
        #[arg(long)]
        json: bool,
    },
    /// One notification, as the service's JSON document.
    #[command(after_help = EXIT_CODES)]
    Show {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The notification's id.
        id: String,
    },
}

/// What a create or an update sends.
#[derive(clap::Args)]
pub struct WriteArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The agreement the party signed (TOML): what it discloses of a notification goes into the
    /// record in the clear, the rest as salted commitments.
    #[arg(long, value_name = "FILE")]
    agreement: PathBuf,
    /// The notification's id (letters, digits, - _ . :), chosen by the party.
    id: String,
    /// Circle centre latitude, decimal degrees (north positive).
    #[arg(long, value_name = "DEG", value_parser = parse_finite, allow_negative_numbers = true,
          requires = "lon", conflicts_with = "vertex")]
    lat: Option<f64>,
    /// Circle centre longitude, decimal degrees (east positive).
    #[arg(long, value_name = "DEG", value_parser = parse_finite, allow_negative_numbers = true,
          requires = "lat")]
    lon: Option<f64>,
    /// Circle radius, metres.
    #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true,
          conflicts_with = "radius_nm")]
    radius_m: Option<f64>,
    /// Circle radius, nautical miles.
    #[arg(long, value_name = "NM", value_parser = parse_finite, allow_negative_numbers = true)]
    radius_nm: Option<f64>,
    /// A polygon vertex, LAT,LON in decimal degrees, in order (three or more).
    #[arg(long, value_name = "LAT,LON", allow_hyphen_values = true)]
    vertex: Vec<String>,
    /// Lower bound of the altitude band, metres above mean sea level.
    #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true,
          conflicts_with = "floor_ft")]
    floor_m: Option<f64>,
    /// Lower bound of the altitude band, feet above mean sea level.
    #[arg(long, value_name = "FT", value_parser = parse_finite, allow_negative_numbers = true)]
    floor_ft: Option<f64>,
    /// Upper bound of the altitude band, metres above mean sea level.
    #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true,
          conflicts_with = "ceiling_ft")]
    ceiling_m: Option<f64>,
    /// Upper bound of the altitude band, feet above mean sea level.
    #[arg(long, value_name = "FT", value_parser = parse_finite, allow_negative_numbers = true)]
    ceiling_ft: Option<f64>,
    /// Start of the operation (TIME).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    start: TimeArg,
    /// End of the operation (TIME), after the start.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    end: TimeArg,
    /// A callsign taking part (repeat for each).
    #[arg(long, value_name = "CALLSIGN")]
    callsign: Vec<String>,
    /// How many aircraft.
    #[arg(long, value_name = "N")]
    aircraft_count: Option<u32>,
    /// The aircraft type.
    #[arg(long, value_name = "TYPE")]
    aircraft_type: Option<String>,
    /// Free text.
    #[arg(long, value_name = "TEXT")]
    remarks: Option<String>,
    /// A strike warning: the other parties must acknowledge it.
    #[arg(long)]
    strike_warning: bool,
    /// Append the openings of the log entry's commitments to FILE (one JSON line each, as
    /// `deconflict log open --openings` reads them); created if missing.
    #[arg(long, value_name = "FILE")]
    keep_openings: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Notifications already accepted (GeoJSON FeatureCollection).
    #[arg(long, value_name = "EXISTING.geojson")]
    existing: PathBuf,
    /// Notifications to check (GeoJSON FeatureCollection).
    #[arg(value_name = "NEW.geojson")]
    new: PathBuf,
    /// Horizontal buffer, metres: footprints closer than this conflict.
    #[arg(long, default_value_t = 0.0)]
    h_buffer_m: f64,
    /// Vertical buffer, metres: altitude bands closer than this conflict.
    #[arg(long, default_value_t = 0.0)]
    v_buffer_m: f64,
    /// Latitude of the planar frame's origin, degrees (default: centre of all volumes).
    #[arg(long, requires = "frame_lon_deg", allow_hyphen_values = true)]
    frame_lat_deg: Option<f64>,
    /// Longitude of the planar frame's origin, degrees (default: centre of all volumes).
    #[arg(long, requires = "frame_lat_deg", allow_hyphen_values = true)]
    frame_lon_deg: Option<f64>,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    Ok(match command {
        Command::Check(a) => return check(a),
        Command::Create(w) => finish(write(w, None))?,
        Command::Update { revision, write: w } => {
            if revision == 0 {
                finish(Err(Failure::usage("--revision", "revisions start at 1")))?
            } else {
                finish(write(w, Some(revision)))?
            }
        }
        Command::Withdraw {
            connect,
            id,
            revision,
        } => finish(withdraw(&connect, &id, revision))?,
        Command::List { connect, json } => finish(list(&connect, json))?,
        Command::Show { connect, id } => finish(show(&connect, &id))?,
    })
}

const FEET_M: f64 = 0.3048;
const NM_M: f64 = 1852.0;

/// The flag that sets a field the service's validation names.
fn flag_of(field: &str) -> &'static str {
    let f = field.trim_start_matches("notification.");
    if f.starts_with("area.centre.lat") {
        "--lat"
    } else if f.starts_with("area.centre.lon") {
        "--lon"
    } else if f.starts_with("area.radius") {
        "--radius-m/--radius-nm"
    } else if f.starts_with("area") {
        "--vertex"
    } else if f.starts_with("alt_min") {
        "--floor-m/--floor-ft"
    } else if f.starts_with("alt_max") {
        "--ceiling-m/--ceiling-ft"
    } else if f.starts_with("start") {
        "--start"
    } else if f.starts_with("end") {
        "--end"
    } else if f.starts_with("callsigns") {
        "--callsign"
    } else if f.starts_with("aircraft_type") {
        "--aircraft-type"
    } else if f.starts_with("remarks") {
        "--remarks"
    } else if f == "id" {
        "ID"
    } else {
        "a flag"
    }
}

impl WriteArgs {
    /// The notification the flags describe, checked as the service will check it.
    fn notification(&self, now_ms: i64) -> Result<NotificationIn, Failure> {
        let area = if !self.vertex.is_empty() {
            if self.radius_m.is_some() || self.radius_nm.is_some() {
                return Err(Failure::usage("--vertex", "a polygon has no radius"));
            }
            let mut points = Vec::new();
            for v in &self.vertex {
                let (lat, lon) = v
                    .split_once(',')
                    .and_then(|(a, b)| {
                        Some((parse_finite(a.trim()).ok()?, parse_finite(b.trim()).ok()?))
                    })
                    .ok_or_else(|| Failure::usage("--vertex", format!("{v:?} is not LAT,LON")))?;
                points.push(LatLon {
                    lat_deg: lat,
                    lon_deg: lon,
                });
            }
            AreaIn::Polygon { points }
        } else {
            let (Some(lat), Some(lon)) = (self.lat, self.lon) else {
                return Err(Failure::usage(
                    "--lat/--lon",
                    "give a circle (--lat, --lon, --radius-m or --radius-nm) or a polygon \
                     (--vertex three or more times)",
                ));
            };
            let radius_m = match (self.radius_m, self.radius_nm) {
                (Some(m), _) => m,
                (None, Some(nm)) => nm * NM_M,
                (None, None) => {
                    return Err(Failure::usage(
                        "--radius-m/--radius-nm",
                        "a circle needs a radius",
                    ));
                }
            };
            AreaIn::Circle {
                centre: LatLon {
                    lat_deg: lat,
                    lon_deg: lon,
                },
                radius_m,
            }
        };
        let band = |m: Option<f64>, ft: Option<f64>, flags: &str| match (m, ft) {
            (Some(m), _) => Ok(m),
            (None, Some(ft)) => Ok(ft * FEET_M),
            (None, None) => Err(Failure::usage(flags, "the altitude band needs this bound")),
        };

        let n = NotificationIn {
            area,
            alt_min_m: band(self.floor_m, self.floor_ft, "--floor-m/--floor-ft")?,
            alt_max_m: band(self.ceiling_m, self.ceiling_ft, "--ceiling-m/--ceiling-ft")?,
            start_unix_ms: self.start.resolve("--start", now_ms)?.unix_ms(),
            end_unix_ms: self.end.resolve_end("--end", now_ms)?.unix_ms(),
            callsigns: self.callsign.clone(),
            aircraft_count: self.aircraft_count,
            aircraft_type: self.aircraft_type.clone(),
            remarks: self.remarks.clone(),
            strike_warning: self.strike_warning,
        };
        n.validate()
            .map_err(|e| Failure::usage(flag_of(&e.field), e.message))?;
        Ok(n)
    }
}

fn client(connect: &ConnectArgs) -> Result<(PartyClient, tokio::runtime::Runtime), Failure> {
    let c = connect.client().map_err(Failure::Usage)?;
    let rt = crate::cmd::connect::runtime().map_err(Failure::Usage)?;
    Ok((c, rt))
}

/// Creates (`revision` None) or updates a notification, signing its log entry.
fn write(w: Box<WriteArgs>, revision: Option<u64>) -> Result<(), Failure> {
    use deconflict_client::notification_entry::sign_notification;
    let loaded = deconflict_service::datadir::load_agreement(&w.agreement)
        .map_err(|e| Failure::usage("--agreement", e))?;
    let party = loaded.terms.party(&w.connect.party).ok_or_else(|| {
        Failure::usage(
            "--party",
            format!(
                "{} is not a party to {}",
                w.connect.party,
                w.agreement.display()
            ),
        )
    })?;
    let disclosed = party.disclose_notification.clone();
    let (c, rt) = client(&w.connect)?;
    let now = c.clock().now_ms();
    let n = w.notification(now)?;
    check_id(&w.id)?;
    let entry_revision = revision.map_or(1, |r| r.saturating_add(1));
    let signed = sign_notification(
        &w.connect.party,
        &w.id,
        entry_revision,
        &n,
        &disclosed,
        now,
        c.signing_key(),
    )
    .map_err(|e| Failure::usage("the log entry", e))?;
    // The openings are made durable first: if the request then fails they open nothing (and
    // `log open` says so); if it succeeds they are already kept. The salts are derived from the
    // key, so a retried create (answered from the store) has the openings of the entry recorded.
    if let Some(path) = &w.keep_openings {
        keep_openings(path, &signed.openings).map_err(|e| Failure::usage("--keep-openings", e))?;
    }
    let answer: NotificationAccepted = rt.block_on(async {
        match revision {
            None => {
                let body = NotificationCreate {
                    id: w.id.clone(),
                    notification: n.clone(),
                    entry_time_ms: signed.entry_time_ms,
                    entry_salts: signed.entry_salts.clone(),
                    entry_signature: signed.entry_signature.clone(),
                    agreement_id: Some(loaded.terms.id.clone()),
                };
                c.call("POST", "/v1/notifications", Some(&body)).await
            }
            Some(r) => {
                let body = NotificationUpdate {
                    revision: r,
                    notification: n.clone(),
                    entry_time_ms: signed.entry_time_ms,
                    entry_salts: signed.entry_salts.clone(),
                    entry_signature: signed.entry_signature.clone(),
                    agreement_id: Some(loaded.terms.id.clone()),
                };
                c.call("PUT", &format!("/v1/notifications/{}", w.id), Some(&body))
                    .await
            }
        }
    })?;
    let stored = &answer.notification;
    println!(
        "notification {} revision {} {} ({}), recorded at {}",
        stored.id,
        stored.revision,
        stored.status,
        if revision.is_some() {
            "updated"
        } else {
            "accepted"
        },
        format_time(stored.recorded_unix_ms, UtcOffset::UTC)
    );
    println!(
        "record: signed by {}; {} field(s) committed{}",
        w.connect.party,
        signed.entry_salts.len(),
        match (&w.keep_openings, signed.entry_salts.is_empty()) {
            (Some(p), false) => format!(", openings appended to {}", p.display()),
            _ => String::new(),
        }
    );
    if answer.conflicts.is_empty() {
        println!("strategic check: no overlap with another party's active notification");
    } else {
        for o in &answer.conflicts {
            println!(
                "OVERLAP with {} of {} (revision {}): flagged to both parties",
                o.id, o.party, o.revision
            );
        }
    }
    Ok(())
}

/// Appends openings to `path` (one JSON line each) and makes them durable.
fn keep_openings(path: &Path, openings: &[deconflict_log::Opening]) -> anyhow::Result<()> {
    if openings.is_empty() {
        return Ok(());
    }
    let mut buf = Vec::new();
    for o in openings {
        let c = o.commitment()?;
        let line = serde_json::json!({ "commitment": c.to_hex(), "opening": o });
        buf.extend_from_slice(line.to_string().as_bytes());
        buf.push(b'\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("{}", path.display()))?;
    f.write_all(&buf)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("{}", path.display()))
}

/// The id as the service will check it, before it goes into a path.
fn check_id(id: &str) -> Result<(), Failure> {
    deconflict_client::wire::check_id("ID", id).map_err(|e| Failure::usage("ID", e.message))
}

fn withdraw(connect: &ConnectArgs, id: &str, revision: u64) -> Result<(), Failure> {
    check_id(id)?;
    if revision == 0 {
        return Err(Failure::usage("--revision", "revisions start at 1"));
    }
    let (c, rt) = client(connect)?;
    let answer = rt.block_on(c.notification_withdraw(id, revision))?;
    println!(
        "notification {} revision {} {} (record: withdrawal signed by {})",
        answer.notification.id,
        answer.notification.revision,
        answer.notification.status,
        connect.party
    );
    Ok(())
}

/// `13 km circle at 35.1000,38.2000` or `polygon of 5 vertices`.
fn area_text(a: &AreaIn) -> String {
    match a {
        AreaIn::Circle { centre, radius_m } => format!(
            "{:.1} km circle at {:.4},{:.4}",
            radius_m / 1000.0,
            centre.lat_deg,
            centre.lon_deg
        ),
        AreaIn::Polygon { points } => format!("polygon of {} vertices", points.len()),
    }
}

fn list(connect: &ConnectArgs, json: bool) -> Result<(), Failure> {
    let (c, rt) = client(connect)?;
    let all: Vec<NotificationView> =
        rt.block_on(c.call::<(), _>("GET", "/v1/notifications", None))?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&all).map_err(|e| Failure::Connection(e.to_string()))?
        );
        return Ok(());
    }
    for n in &all {
        let mut parts = vec![format!(
            "{:<16} {:<10} r{:<3} {:<9}",
            n.id, n.party, n.revision, n.status
        )];
        if let (Some(lo), Some(hi)) = (n.alt_min_m, n.alt_max_m) {
            parts.push(format!("{lo:.0}–{hi:.0} m"));
        }
        if let (Some(s), Some(e)) = (n.start_unix_ms, n.end_unix_ms) {
            parts.push(format!(
                "{} – {}",
                format_time(s, UtcOffset::UTC),
                format_time(e, UtcOffset::UTC)
            ));
        }
        if let Some(a) = &n.area {
            parts.push(area_text(a));
        }
        if n.strike_warning {
            parts.push("STRIKE WARNING".into());
        }
        println!("{}", parts.join("  "));
    }
    if all.is_empty() {
        println!("no notifications");
    }
    Ok(())
}

fn show(connect: &ConnectArgs, id: &str) -> Result<(), Failure> {
    check_id(id)?;
    let (c, rt) = client(connect)?;
    let n: NotificationView =
        rt.block_on(c.call::<(), _>("GET", &format!("/v1/notifications/{id}"), None))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&n).map_err(|e| Failure::Connection(e.to_string()))?
    );
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(DOCUMENT_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() > DOCUMENT_BYTES_MAX {
        bail!(
            "{}: larger than {DOCUMENT_BYTES_MAX} bytes (DOCUMENT_BYTES_MAX)",
            path.display()
        );
    }
    Ok(bytes)
}

fn points(n: &Notification) -> impl Iterator<Item = &LonLat> {
    n.volumes().iter().flat_map(|v| match &v.footprint {
        Footprint::Polygon(p) => p.ring().iter().collect::<Vec<_>>(),
        Footprint::Circle(c) => vec![c.centre_ref()],
    })
}

fn check(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let buffers = Buffers::new(a.h_buffer_m, a.v_buffer_m).context("--h-buffer-m/--v-buffer-m")?;
    let limits = Limits::default();
    let existing = parse_notifications(
        &read(&a.existing)?,
        &a.existing.display().to_string(),
        &limits,
    )?;
    let new = parse_notifications(&read(&a.new)?, &a.new.display().to_string(), &limits)?;
    let frame = match (a.frame_lat_deg, a.frame_lon_deg) {
        (Some(lat), Some(lon)) => {
            Frame::new(LonLat::new(lon, lat).context("--frame-lat-deg/--frame-lon-deg")?)
        }
        _ => match Frame::around(existing.iter().chain(&new).flat_map(points)) {
            Some(f) => f,
            None => return Ok(ExitCode::SUCCESS),
        },
    };
    let mut index = StrategicIndex::new(frame);
    for n in existing {
        index.insert(n).context("adding to the index")?;
    }
    let mut out = BufWriter::new(crate::stdio::stdout());
    for n in &new {
        for existing_id in index.conflicts(n, buffers)? {
            writeln!(out, "{}", conflict_json_line(n.id(), &existing_id))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
