//! The JSON documents of the API, and their validation into types that cannot be invalid.
//!
//! Unknown-fields policy: **refused**. Every request document is `deny_unknown_fields`; a
//! misspelt optional field would otherwise be dropped silently and the party would believe it
//! had sent something it had not. Responses may gain fields in later versions; clients should
//! ignore what they do not know.
//!
//! Units: SI inside and on the wire (metres, seconds, m/s, degrees named in the field name);
//! times are UNIX milliseconds (`*_unix_ms`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod console;
pub mod frame;
pub mod line;
pub mod log;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ErrorBody {
    /// Stable machine-readable code (`invalid_field`, `signature_invalid`, `rate_limited`, …).
    pub code: String,
    /// What was wrong, for a person.
    pub message: String,
    /// The field, header or parameter at fault (`reports[3].lat_deg`, `signature-input`),
    /// when there is one.
    pub field: Option<String>,
}

/// A document field that failed validation; the service answers it with 422 `invalid_field`
/// naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// The field at fault (`reports[3].lat_deg`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Longest id (track, notification) accepted, in bytes.
pub const ID_BYTES_MAX: usize = 64;
/// Longest track id: the engine names a track `<party>/<track id>` in 64 bytes, and a party
/// id has at most 32.
pub const TRACK_ID_BYTES_MAX: usize = 31;
/// Longest callsign, aircraft type, ICAO 24-bit address or squawk text, in bytes.
pub const LABEL_BYTES_MAX: usize = 16;
/// Longest free text (remarks, reasons, conditions), in bytes.
pub const TEXT_BYTES_MAX: usize = 1024;
/// Most reports in one batch.
pub const REPORTS_PER_BATCH_MAX: usize = 10_000;
/// Oldest report accepted, seconds before the service's now.
pub const REPORT_AGE_S_MAX: i64 = 30;
/// Furthest report time ahead of the service's now, seconds (clock skew).
pub const REPORT_FUTURE_S_MAX: i64 = 2;
/// Altitude bounds for reports and notifications, metres above mean sea level.
pub const ALT_M_MIN: f64 = -500.0;
pub const ALT_M_MAX: f64 = 30_000.0;
/// Fastest ground speed accepted, m/s (Mach 3 at altitude, a sanity bound).
pub const GROUND_SPEED_MPS_MAX: f64 = 1_000.0;
/// Largest vertical rate accepted, m/s.
pub const VERTICAL_RATE_MPS_MAX: f64 = 300.0;
/// Most vertices in a notification polygon.
pub const POLYGON_POINTS_MAX: usize = 1_000;
/// Largest notification circle, metres.
pub const RADIUS_M_MAX: f64 = 500_000.0;
/// Longest notification time window, seconds (seven days).
pub const WINDOW_S_MAX: i64 = 7 * 86_400;
/// Most callsigns in one notification.
pub const CALLSIGNS_MAX: usize = 64;
/// Latest instant a notification's window may name: 9999-12-31T23:59:59.999Z, UNIX ms (the
/// earliest is the epoch). Bounding both ends keeps every difference of two of them in range.
pub const WINDOW_UNIX_MS_MAX: i64 = 253_402_300_799_999;

/// Checks an id (track, notification): 1 to [`ID_BYTES_MAX`] bytes of ASCII letters, digits and
/// `- _ . :`; the error names `field`.
pub fn check_id(field: &str, s: &str) -> Result<(), Invalid> {
    if s.is_empty() || s.len() > ID_BYTES_MAX {
        return Err(Invalid::new(
            field,
            format!("must be 1 to {ID_BYTES_MAX} bytes"),
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(Invalid::new(
            field,
            "may contain only ASCII letters, digits and - _ . :",
        ));
    }
    Ok(())
}

fn check_label(field: &str, s: &Option<String>) -> Result<(), Invalid> {
    if let Some(s) = s
        && (s.is_empty()
            || s.len() > LABEL_BYTES_MAX
            || !s.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
    {
        return Err(Invalid::new(
            field,
            format!("must be 1 to {LABEL_BYTES_MAX} printable ASCII characters"),
        ));
    }
    Ok(())
}

fn check_text(field: &str, s: &str) -> Result<(), Invalid> {
    if s.len() > TEXT_BYTES_MAX || s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Invalid::new(
            field,
            format!("must be at most {TEXT_BYTES_MAX} bytes without control characters"),
        ));
    }
    Ok(())
}

fn check_range(field: &str, v: f64, min: f64, max: f64, unit: &str) -> Result<(), Invalid> {
    if !v.is_finite() || v < min || v > max {
        return Err(Invalid::new(
            field,
            format!("{v} is outside [{min}, {max}] {unit}"),
        ));
    }
    Ok(())
}

/// A point on the WGS 84 ellipsoid.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LatLon {
    pub lat_deg: f64,
    pub lon_deg: f64,
}

impl LatLon {
    fn check(&self, field: &str) -> Result<(), Invalid> {
        check_range(
            &format!("{field}.lat_deg"),
            self.lat_deg,
            -90.0,
            90.0,
            "degrees",
        )?;
        check_range(
            &format!("{field}.lon_deg"),
            self.lon_deg,
            -180.0,
            180.0,
            "degrees",
        )
    }
}

/// One report of one of the party's own aircraft.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrackReportIn {
    /// The party's own id for the aircraft (stable across reports), at most
    /// [`TRACK_ID_BYTES_MAX`] bytes.
    pub track_id: String,
    /// Time of the observation, UNIX milliseconds.
    pub time_unix_ms: i64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// Altitude above mean sea level, metres.
    pub alt_m: f64,
    /// Track over ground, degrees clockwise from true north, [0, 360).
    pub track_deg: f64,
    pub ground_speed_mps: f64,
    /// Positive up.
    #[serde(default)]
    pub vertical_rate_mps: f64,
    #[serde(default)]
    pub callsign: Option<String>,
    #[serde(default)]
    pub aircraft_type: Option<String>,
    #[serde(default)]
    pub icao24: Option<String>,
    #[serde(default)]
    pub squawk: Option<String>,
}

impl TrackReportIn {
    /// Validates the report at the boundary; `field` prefixes the names in errors.
    pub fn validate(&self, field: &str, now_ms: i64) -> Result<(), Invalid> {
        // The names are built only for an error: a feed validates 100,000 reports a second.
        self.check(now_ms).map_err(|mut e| {
            if !field.is_empty() {
                e.field = format!("{field}.{}", e.field);
            }
            e
        })
    }

    fn check(&self, now_ms: i64) -> Result<(), Invalid> {
        check_id("track_id", &self.track_id)?;
        if self.track_id.len() > TRACK_ID_BYTES_MAX {
            return Err(Invalid::new(
                "track_id",
                format!("at most {TRACK_ID_BYTES_MAX} bytes"),
            ));
        }
        let oldest = now_ms - REPORT_AGE_S_MAX * 1000;
        let newest = now_ms + REPORT_FUTURE_S_MAX * 1000;
        if self.time_unix_ms < oldest || self.time_unix_ms > newest {
            return Err(Invalid::new(
                "time_unix_ms",
                format!(
                    "{} is outside the accepted window [{oldest}, {newest}] (at most {REPORT_AGE_S_MAX} s old)",
                    self.time_unix_ms
                ),
            ));
        }
        check_range("lat_deg", self.lat_deg, -90.0, 90.0, "degrees")?;
        check_range("lon_deg", self.lon_deg, -180.0, 180.0, "degrees")?;
        check_range("alt_m", self.alt_m, ALT_M_MIN, ALT_M_MAX, "m")?;
        if !(self.track_deg.is_finite() && (0.0..360.0).contains(&self.track_deg)) {
            return Err(Invalid::new(
                "track_deg",
                format!("{} is outside [0, 360) degrees", self.track_deg),
            ));
        }
        check_range(
            "ground_speed_mps",
            self.ground_speed_mps,
            0.0,
            GROUND_SPEED_MPS_MAX,
            "m/s",
        )?;
        check_range(
            "vertical_rate_mps",
            self.vertical_rate_mps,
            -VERTICAL_RATE_MPS_MAX,
            VERTICAL_RATE_MPS_MAX,
            "m/s",
        )?;
        check_label("callsign", &self.callsign)?;
        check_label("aircraft_type", &self.aircraft_type)?;
        check_label("icao24", &self.icao24)?;
        check_label("squawk", &self.squawk)?;
        Ok(())
    }
}

/// A batch of reports, accepted or refused as a whole.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackBatchIn {
    pub reports: Vec<TrackReportIn>,
}

/// What was accepted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TracksAccepted {
    pub accepted: usize,
}

/// The footprint of a notification.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AreaIn {
    /// A simple polygon; the ring is closed implicitly.
    Polygon {
        points: Vec<LatLon>,
    },
    Circle {
        centre: LatLon,
        radius_m: f64,
    },
}

/// A notification of where and when the party will operate (never targets).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotificationIn {
    pub area: AreaIn,
    pub alt_min_m: f64,
    pub alt_max_m: f64,
    pub start_unix_ms: i64,
    pub end_unix_ms: i64,
    #[serde(default)]
    pub callsigns: Vec<String>,
    #[serde(default)]
    pub aircraft_count: Option<u32>,
    #[serde(default)]
    pub aircraft_type: Option<String>,
    #[serde(default)]
    pub remarks: Option<String>,
    /// A strike warning: the other parties must acknowledge it.
    #[serde(default)]
    pub strike_warning: bool,
}

impl NotificationIn {
    pub fn validate(&self) -> Result<(), Invalid> {
        match &self.area {
            AreaIn::Polygon { points } => {
                if points.len() < 3 || points.len() > POLYGON_POINTS_MAX {
                    return Err(Invalid::new(
                        "area.points",
                        format!("a polygon has 3 to {POLYGON_POINTS_MAX} points"),
                    ));
                }
                for (i, p) in points.iter().enumerate() {
                    p.check(&format!("area.points[{i}]"))?;
                }
            }
            AreaIn::Circle { centre, radius_m } => {
                centre.check("area.centre")?;
                if !(radius_m.is_finite() && *radius_m > 0.0 && *radius_m <= RADIUS_M_MAX) {
                    return Err(Invalid::new(
                        "area.radius_m",
                        format!("{radius_m} is outside (0, {RADIUS_M_MAX}] m"),
                    ));
                }
            }
        }
        check_range("alt_min_m", self.alt_min_m, ALT_M_MIN, ALT_M_MAX, "m")?;
        check_range("alt_max_m", self.alt_max_m, ALT_M_MIN, ALT_M_MAX, "m")?;
        if self.alt_max_m <= self.alt_min_m {
            return Err(Invalid::new("alt_max_m", "must be above alt_min_m"));
        }
        for (name, t) in [
            ("start_unix_ms", self.start_unix_ms),
            ("end_unix_ms", self.end_unix_ms),
        ] {
            if !(0..=WINDOW_UNIX_MS_MAX).contains(&t) {
                return Err(Invalid::new(
                    name,
                    format!("{t} is outside [0, {WINDOW_UNIX_MS_MAX}] ms since 1970"),
                ));
            }
        }
        if self.end_unix_ms <= self.start_unix_ms {
            return Err(Invalid::new("end_unix_ms", "must be after start_unix_ms"));
        }
        // Checked: the values come from outside (a wrapped difference would pass any limit).
        let length_ms = self.end_unix_ms.checked_sub(self.start_unix_ms);
        if length_ms.is_none_or(|ms| ms > WINDOW_S_MAX * 1000) {
            return Err(Invalid::new(
                "end_unix_ms",
                format!("a window is at most {WINDOW_S_MAX} s long"),
            ));
        }
        if self.callsigns.len() > CALLSIGNS_MAX {
            return Err(Invalid::new(
                "callsigns",
                format!("at most {CALLSIGNS_MAX}"),
            ));
        }
        for (i, c) in self.callsigns.iter().enumerate() {
            check_label(&format!("callsigns[{i}]"), &Some(c.clone()))?;
        }
        check_label("aircraft_type", &self.aircraft_type)?;
        if let Some(r) = &self.remarks {
            check_text("remarks", r)?;
        }
        Ok(())
    }
}

/// Creates a notification. The id is chosen by the party, which makes a retried create
/// idempotent: the same id with the same content answers with the stored notification.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationCreate {
    pub id: String,
    pub notification: NotificationIn,
    /// The log entry's time (the caller's clock), UNIX ms; within 5 minutes of the service's.
    pub entry_time_ms: i64,
    /// A salt (64 lower-case hex digits, each used once) for every field of the log entry
    /// the agreement does not let the caller disclose, by the field's name in the record
    /// (`deconflict_client::notification_entry::PRIVATE_FIELDS`); none for the others.
    #[serde(default)]
    pub entry_salts: BTreeMap<String, String>,
    /// Standard base64 of the caller's Ed25519 signature of the log entry that
    /// `deconflict_client::notification_entry::notification_entry(party, id, 1, notification,
    /// entry_salts, entry_time_ms)` builds.
    pub entry_signature: String,
    /// The id (`sha256:<hex>`) of the agreement the caller built the entry under (its own copy):
    /// when given and not the agreement this service holds, the request is refused (422
    /// `wrong_agreement`, both ids in the message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
}

impl NotificationCreate {
    pub fn validate(&self) -> Result<(), Invalid> {
        check_id("id", &self.id)?;
        self.notification.validate()
    }
}

/// Replaces a notification; `revision` is the revision being replaced (optimistic
/// concurrency: a stale update is refused with 409).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationUpdate {
    pub revision: u64,
    pub notification: NotificationIn,
    /// As in [`NotificationCreate`]; the entry is revision `revision + 1`'s.
    pub entry_time_ms: i64,
    #[serde(default)]
    pub entry_salts: BTreeMap<String, String>,
    pub entry_signature: String,
    /// As in [`NotificationCreate`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
}

/// Withdraws a notification at `revision`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationWithdraw {
    pub revision: u64,
    /// The log entry's time (the caller's clock), UNIX ms; within 5 minutes of the service's.
    pub entry_time_ms: i64,
    /// Standard base64 of the caller's Ed25519 signature of the log entry that
    /// `deconflict_client::notification_entry::withdrawal_entry(party, id, entry_time_ms)`
    /// builds.
    pub entry_signature: String,
}

/// A notification as stored (the owner sees every field).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct NotificationStored {
    pub id: String,
    pub party: String,
    pub revision: u64,
    pub status: String,
    pub recorded_unix_ms: i64,
    pub notification: NotificationIn,
}

/// A notification as another party sees it: only the disclosed fields are present.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct NotificationView {
    pub id: String,
    pub party: String,
    pub revision: u64,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<AreaIn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_min_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_max_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_unix_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_unix_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callsigns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aircraft_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aircraft_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    pub strike_warning: bool,
}

/// The answer to a notification write: the notification and the strategic check, at once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationAccepted {
    pub notification: NotificationStored,
    /// Other parties' active notifications that overlap this one (area within the horizontal
    /// minimum, altitude band within the vertical minimum, overlapping time windows). Each
    /// is flagged to both parties on their streams.
    pub conflicts: Vec<NotificationView>,
}

/// A track as a party sees it: its own in full, another party's with the disclosed fields only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TrackView {
    pub party: String,
    pub track_id: String,
    pub time_unix_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat_deg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon_deg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_deg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ground_speed_mps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vertical_rate_mps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callsign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aircraft_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icao24: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub squawk: Option<String>,
    /// Where the owner's picture of the aircraft comes from: `push`, and `receiver:<feed>` for
    /// each receiver feed that saw it (fused by `icao24`). Shown to the owner only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// An alert as delivered to one party.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AlertView {
    pub alert_id: String,
    /// Stable across the conflict's level changes and its end.
    pub conflict_id: String,
    /// `new`, `level` (the level changed), `ended`, or `strategic` (notifications overlap).
    pub kind: String,
    /// For tactical conflicts the recipient's level as DO-365 names it (`preventive`,
    /// `corrective`, `warning`; `none` once ended), its aircraft being the ownship; `strategic`
    /// for overlapping notifications.
    pub level: String,
    /// DaidalusAlerting's number of the tactical level for the configured alerter (0 none;
    /// DO-365: 1 preventive, 2 corrective, 3 warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_level: Option<u8>,
    pub created_unix_ms: i64,
    pub parties: Vec<String>,
    /// Seconds from `created_unix_ms` to the predicted violation of the alerted level's volume
    /// (0 if violated now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_los_s: Option<f64>,
    /// Seconds from `created_unix_ms` to the end of the predicted loss of separation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_los_end_s: Option<f64>,
    /// Predicted horizontal distance at the closest approach, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closest_h_m: Option<f64>,
    /// Seconds from `created_unix_ms` to the predicted closest approach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closest_in_s: Option<f64>,
    /// Predicted vertical distance at the closest approach, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closest_v_m: Option<f64>,
    /// The recipient's own aircraft, in full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own: Option<TrackView>,
    /// The other party's aircraft, disclosed fields only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<TrackView>,
    /// For `strategic`: the recipient's own notification, and the other's (disclosed fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_notification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_notification: Option<NotificationView>,
    /// Coordinated advice, on a new conflict or a level change at corrective level or above
    /// (either side's level): the recipient's manoeuvre with its bands, and the other
    /// aircraft's senses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<AdviceView>,
}

/// Coordinated advice on a tactical alert: complementary senses for the two aircraft (one
/// climbs, the other descends; neither turns towards the other, both right when head-on),
/// computed from the two reports the record's track summaries hold, flown to the alert's time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AdviceView {
    /// The recipient's aircraft, with its guidance bands against the other.
    pub own: ManoeuvreView,
    /// The other party's aircraft: its senses; the values to reach only where that party
    /// discloses the field (`altitude` for `altitude_m`, `velocity` for `direction_deg`); no bands.
    pub other: ManoeuvreView,
}

/// A suggested manoeuvre for one aircraft.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ManoeuvreView {
    pub party: String,
    pub track_id: String,
    /// `climb` or `descend`.
    pub vertical: String,
    /// Climb to this altitude or above (descend to it or below), metres: the bands' altitude
    /// resolution that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude_m: Option<f64>,
    /// `right` or `left`.
    pub turn: String,
    /// Turn right to this direction or more (left to it or less), degrees from true north: the
    /// bands' direction resolution that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction_deg: Option<f64>,
    /// This aircraft's guidance bands against the other (the recipient's own aircraft only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands: Option<BandsView>,
}

/// Guidance bands of one aircraft, per kind, each an ordered list of intervals with their
/// region (`NONE`, `FAR`, `MID`, `NEAR`, `RECOVERY`: DAIDALUS's names; NONE and RECOVERY are the
/// values to fly).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BandsView {
    /// Directions, degrees from true north.
    pub direction_deg: Vec<BandView>,
    pub horizontal_speed_mps: Vec<BandView>,
    pub vertical_speed_mps: Vec<BandView>,
    pub altitude_m: Vec<BandView>,
}

/// One band.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BandView {
    pub low: f64,
    pub up: f64,
    pub region: String,
}

/// One event of a party's stream, as served by `GET /v1/events` (the SSE stream carries
/// the same `data`, with `id` = `seq` and `event` = `kind`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub seq: u64,
    pub kind: String,
    pub created_unix_ms: i64,
    pub data: serde_json::Value,
}

/// The agreement as the service holds it: its declared status (the fold of its signed
/// history) and, separately, whether the parties are reachable.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgreementView {
    pub id: String,
    pub title: String,
    /// `draft`, `in_force`, `suspended`, `terminated`: declared by the parties' signatures and
    /// statements, never inferred from reachability.
    pub status: String,
    /// Stored versions: 1 for the adopted agreement, then one per event of the history.
    pub version: u64,
    /// Events in the history (signatures over the agreement, then statements); the last one's
    /// `seq`.
    pub head_seq: u64,
    /// What a new statement must name as its `basis_seq`: the `seq` of the event that entered
    /// the current status (0 for a draft). Every party signs a reactivation on the same basis.
    pub basis_seq: u64,
    pub parties: Vec<PartyView>,
    /// Parties whose signature over the agreement is in the history.
    pub signed_by: Vec<String>,
    /// The suspension in effect (by whom, why, at which `seq`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspension: Option<LifecycleStepView>,
    /// The reason of the suspension in effect, or of the termination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Conditions attached by the reactivation that brought the agreement back in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// A reactivation being signed while suspended: its conditions, who signed, who has not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactivation: Option<ReactivationView>,
    /// Parties that have signed the pending reactivation (all must); empty when none.
    pub reactivation_signed_by: Vec<String>,
    /// The termination, once terminated (final).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination: Option<LifecycleStepView>,
    /// Every event of the history, oldest first (the latest `HISTORY_VIEW_MAX` when longer).
    pub history: Vec<HistoryItemView>,
    /// Older events not listed in `history`.
    pub history_omitted: u64,
    /// Whether the parties answer: measured, and separate from the declared status.
    pub reachability: ReachabilityView,
}

/// Who suspended or terminated, why, and at which event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LifecycleStepView {
    pub by: String,
    pub reason: String,
    pub seq: u64,
}

/// A reactivation being signed: every party must sign these exact conditions on the same basis.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReactivationView {
    pub conditions: String,
    pub signed_by: Vec<String>,
    /// Parties whose signature is still missing.
    pub waiting_for: Vec<String>,
    /// The `basis_seq` their statements must name.
    pub basis_seq: u64,
}

/// One event of the agreement's history, as signed by its party.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryItemView {
    /// 1 for the first event, consecutive.
    pub seq: u64,
    /// The store version that holds it (`seq + 1`).
    pub version: u64,
    /// When the service accepted it.
    pub at_unix_ms: i64,
    pub party: String,
    /// `sign` (the party's signature over the agreement), `suspend`, `reactivate`, `terminate`.
    pub kind: String,
    /// The statement's basis (absent for `sign`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// `ed25519-sig:<128 hex>`: over the agreement's canonical bytes (`sign`) or the
    /// statement's (RFC 8785), verifiable with the party's key from the agreement.
    pub signature: String,
    /// The status after this event.
    pub status: String,
}

/// Reachability, measured: the same figures as `/health`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReachabilityView {
    /// When the service last heard an authenticated request from each party.
    pub line: Vec<LineReachability>,
    /// How each party answered the line's scheduled link tests.
    pub link_tests: Vec<LinkTestReachability>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartyView {
    pub id: String,
    pub name: String,
    pub language: String,
    pub public_key: String,
}

/// `POST /v1/agreement/actions`: one party's signed lifecycle statement, and the party's
/// signature of the log entry that records it in the shared log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementActionRequest {
    /// The signed statement as `deconflict agreement statement` writes it:
    /// `{"statement": {"format": "deconflict.agreement-statement.v1", "agreement":
    /// "sha256:…", "party", "basis_seq", "action": "suspend"|"reactivate"|"terminate",
    /// "reason"|"conditions"}, "signature": "ed25519-sig:<128 hex>"}`; the signature is over
    /// the RFC 8785 bytes of `statement`, by the calling party's key.
    #[schema(value_type = Object)]
    pub statement: serde_json::Value,
    /// The log entry's time (the party's clock), UNIX ms; within 5 minutes of the service's.
    pub entry_time_ms: i64,
    /// Standard base64 of the party's Ed25519 signature of the log entry that
    /// `deconflict_client::statement_entry::statement_entry(statement, entry_time_ms)` builds
    /// (signed as every log entry is: `deconflict-ledger/v1/entry\n` ‖ its canonical bytes).
    pub entry_signature: String,
}

/// `/health`, unauthenticated: only what anyone who can reach the port may know — that the
/// service answers, the agreement's declared status, and that the cycle runs. When each party
/// was last heard from and how it answered link tests are the parties' business: they are in
/// [`Health`], shown to parties in `GET /v1/agreement` and `GET /v1/line/reachability`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicHealth {
    /// Always `ok` when the process answers.
    pub service: String,
    pub agreement_status: String,
    pub last_cycle_unix_ms: Option<i64>,
}

impl From<Health> for PublicHealth {
    fn from(h: Health) -> PublicHealth {
        PublicHealth {
            service: h.service,
            agreement_status: h.agreement_status,
            last_cycle_unix_ms: h.last_cycle_unix_ms,
        }
    }
}

/// The agreement's declared status and the line's measured reachability, separately (the
/// parties' view; see [`PublicHealth`] for what `/health` shows anyone).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub service: String,
    pub agreement_status: String,
    /// Per party: whether it answered the latest decided link test, and when the service last
    /// heard an authenticated request from it.
    pub line: Vec<LineReachability>,
    pub last_cycle_unix_ms: Option<i64>,
    /// Per party: how it answered the line's scheduled link tests (reachability measured by
    /// the line, separate from the agreement's legal state).
    pub link_tests: Vec<LinkTestReachability>,
}

/// One party's answers to the scheduled link tests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct LinkTestReachability {
    pub party: String,
    /// Link tests answered before their deadline.
    pub in_time: u32,
    /// Answered after the deadline.
    pub late: u32,
    /// Never answered.
    pub missed: u32,
    /// Still open.
    pub pending: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineReachability {
    pub party: String,
    /// Whether the party answered (in time or late) the latest link test decided in the last
    /// 7 days; false when it missed it or none was decided.
    pub reachable: bool,
    /// How the party answered that link test: `in_time`, `late` or `missed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_link_test: Option<String>,
    /// When the service last heard an authenticated request from the party (not reachability:
    /// only a link test answered shows the line works).
    pub last_heard_unix_ms: Option<i64>,
}

/// A `geography` event: an aircraft crossed a dividing line onto the other party's side, or
/// entered a zone closed to its party. Sent to every party.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct GeographyView {
    /// `g:<party>/<track id>:<time>:<line or zone id>`.
    pub event_id: String,
    /// `line_crossed` or `zone_entered`.
    pub kind: String,
    /// The party whose aircraft it is.
    pub party: String,
    pub track_id: String,
    /// Shown to the other parties only when the owner discloses callsigns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callsign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// For a crossing: the party on whose side the aircraft now is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub into_side_of: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// When and where: the crossing point, or the first position inside the zone.
    pub time_unix_ms: i64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
}

/// A `nonconformance` event: an aircraft whose callsign its party notified flies outside
/// every such notification's volume or time window (once per excursion). Sent to its party.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct NonconformanceView {
    /// `n:<party>/<track id>:<time>`.
    pub event_id: String,
    pub party: String,
    pub track_id: String,
    pub callsign: String,
    /// The party's notifications listing the callsign.
    pub notifications: Vec<String>,
    pub time_unix_ms: i64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
}
