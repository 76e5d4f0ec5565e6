//! `deconflict notifications …`: strategic checks of notified operations.
//!
//! `check` reads two GeoJSON documents (the format is documented in
//! `deconflict_airspace::geojson_io`), indexes the existing notifications and prints one line
//! `{"new":ID,"existing":ID}` per new notification and other-party existing notification whose
//! volumes conflict, new notifications in document order, existing ids sorted. Invalid input
//! fails the whole command with the file, feature and rule in the message.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use deconflict_airspace::geojson_io::{DOCUMENT_BYTES_MAX, conflict_json_line};
use deconflict_airspace::{
    Buffers, Footprint, Frame, Limits, LonLat, Notification, StrategicIndex, parse_notifications,
};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print every conflict between NEW notifications and EXISTING notifications of other
    /// parties, one JSON line each: {"new":ID,"existing":ID}.
    Check(CheckArgs),
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
    match command {
        Command::Check(a) => check(a),
    }
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
    let mut out = BufWriter::new(std::io::stdout().lock());
    for n in &new {
        for existing_id in index.conflicts(n, buffers)? {
            writeln!(out, "{}", conflict_json_line(n.id(), &existing_id))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
