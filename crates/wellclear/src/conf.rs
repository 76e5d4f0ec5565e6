//! DAIDALUS v2.0.4 configuration files (`.conf`): `key = value [unit]` lines.
//!
//! The parser is pure (text in, [`Config`] out). It reads what alerting needs — lookahead,
//! hysteresis, persistence, M-of-N, alerting logic, corrective region, the alerters with their
//! levels and detectors — and accepts, without using, the keys that only configure maneuver
//! guidance (bands). Any other key, an unknown unit, a unit of the wrong dimension, or a value
//! out of range is an error naming the line and column. Sensor-uncertainty-mitigation (SUM)
//! detectors are rejected with an error naming the key that selects them.
//!
//! `lookahead_time` and `alerters` are required. Absent keys take these values: `hysteresis_time`
//! and `persistence_time` 0 s, `alerting_m`/`alerting_n` 0 (M-of-N off), `ownship_centric_alerting`
//! true, `corrective_region` MID, a level's `early_alerting_time` its `alerting_time`. A number
//! without a unit is taken in SI, as DAIDALUS does.

use std::collections::{BTreeMap, HashSet};

use crate::detect::{Cylinder, WcvTaumod};
use crate::error::{ErrorKind, ParseError};
use crate::tcas::{TCAS_LEVELS, TcasTable};
use crate::units::{self, Dimension};

mod bands;
use bands::build_bands;
pub use bands::{BAND_STEPS_MAX, BandsConfig};

/// Largest configuration file accepted, bytes.
pub const CONF_BYTES_MAX: usize = 1 << 20;
/// Longest line accepted, bytes.
pub const CONF_LINE_BYTES_MAX: usize = 4096;
/// Most `key = value` entries accepted in one file.
pub const CONF_KEYS_MAX: usize = 10_000;
/// Most alerters in one configuration.
pub const ALERTERS_MAX: usize = 16;
/// Most alert levels in one alerter.
pub const LEVELS_MAX: usize = 8;
/// Largest N of the M-of-N filter.
pub const MOFN_N_MAX: u32 = 64;

/// Bands region an alert level corresponds to (DO-365 guidance colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// No guidance (e.g. the DO-365 preventive level).
    None,
    /// Far region.
    Far,
    /// Mid region (DO-365 corrective).
    Mid,
    /// Near region (DO-365 warning).
    Near,
}

/// The detector (well-clear volume) of one alert level.
#[derive(Debug, Clone, PartialEq)]
pub enum Detector {
    /// DO-365 `WCV_TAUMOD` thresholds.
    WcvTaumod(WcvTaumod),
    /// The CD3D cylinder.
    Cylinder(Cylinder),
    /// Idealised TCAS II.
    Tcas3d(Box<TcasTable>),
}

/// One alert level of an alerter (DO-365 alerting thresholds: preventive, corrective, warning).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertLevel {
    region: Region,
    alerting_time_s: f64,
    early_alerting_time_s: f64,
    detector: Detector,
}

impl AlertLevel {
    /// Guidance region of this level.
    pub fn region(&self) -> Region {
        self.region
    }
    /// A loss of the level's volume predicted within this time raises the level.
    pub fn alerting_time_s(&self) -> f64 {
        self.alerting_time_s
    }
    /// Alerting time used while the level is already raised (hysteresis on entry).
    pub fn early_alerting_time_s(&self) -> f64 {
        self.early_alerting_time_s
    }
    /// The level's volume.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }
}

/// An alerter: alert levels ordered from least (1) to most severe.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerter {
    name: String,
    levels: Vec<AlertLevel>,
}

impl Alerter {
    /// The alerter's name in the configuration.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Levels, index 0 = alert level 1.
    pub fn levels(&self) -> &[AlertLevel] {
        &self.levels
    }
    /// First level whose region is `region`, 1-based.
    pub fn level_for_region(&self, region: Region) -> Option<usize> {
        self.levels
            .iter()
            .position(|l| l.region == region)
            .map(|i| i + 1)
    }
}

/// M-of-N filter parameters: an alert level is output when M of the last N raw levels reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MofN {
    m: u32,
    n: u32,
}

impl MofN {
    /// `Some` when 0 < m ≤ n ≤ [`MOFN_N_MAX`]; DAIDALUS switches the filter off otherwise.
    pub fn new(m: u32, n: u32) -> Option<Self> {
        (m > 0 && m <= n && n <= MOFN_N_MAX).then_some(Self { m, n })
    }
    /// M.
    pub fn m(&self) -> u32 {
        self.m
    }
    /// N.
    pub fn n(&self) -> u32 {
        self.n
    }
}

/// A unit used to print a CSV column: its name and the factor from SI.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputUnit {
    /// Name as written between brackets.
    pub name: String,
    /// Value in SI times `1 / to_si` gives the value in this unit.
    pub to_si: f64,
}

/// Units DaidalusAlerting prints its columns in: those of `min_horizontal_recovery`,
/// `min_vertical_recovery`, `step_hs` and `step_vs`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputUnits {
    /// Horizontal distances.
    pub horizontal: OutputUnit,
    /// Vertical distances.
    pub vertical: OutputUnit,
    /// Horizontal speeds.
    pub horizontal_speed: OutputUnit,
    /// Vertical speeds.
    pub vertical_speed: OutputUnit,
}

/// A validated alerting configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    lookahead_s: f64,
    hysteresis_s: f64,
    persistence_s: f64,
    mofn: Option<MofN>,
    ownship_centric: bool,
    corrective_region: Region,
    alerters: Vec<Alerter>,
    output_units: OutputUnits,
    bands: BandsConfig,
}

impl Config {
    /// Lookahead time, s.
    pub fn lookahead_s(&self) -> f64 {
        self.lookahead_s
    }
    /// Hysteresis time, s: alert history older than this is forgotten.
    pub fn hysteresis_s(&self) -> f64 {
        self.hysteresis_s
    }
    /// Persistence time, s: a raised level is held at least this long.
    pub fn persistence_s(&self) -> f64 {
        self.persistence_s
    }
    /// M-of-N filter, if enabled.
    pub fn mofn(&self) -> Option<MofN> {
        self.mofn
    }
    /// True when the ownship's alerter is used for every intruder; false: each intruder's own.
    pub fn ownship_centric(&self) -> bool {
        self.ownship_centric
    }
    /// Region of the corrective alert.
    pub fn corrective_region(&self) -> Region {
        self.corrective_region
    }
    /// Alerters; index 0 = alerter 1.
    pub fn alerters(&self) -> &[Alerter] {
        &self.alerters
    }
    /// Units of the CSV columns.
    pub fn output_units(&self) -> &OutputUnits {
        &self.output_units
    }
    /// Guidance bands parameters.
    pub fn bands(&self) -> &BandsConfig {
        &self.bands
    }
    /// The same configuration with instantaneous bands (no turn rate, bank angle or
    /// accelerations), as DaidalusBatch's `--instantaneous` sets it.
    pub fn with_instantaneous_bands(mut self) -> Self {
        self.bands.turn_rate_rps = 0.0;
        self.bands.bank_angle_rad = 0.0;
        self.bands.horizontal_accel_mps2 = 0.0;
        self.bands.vertical_accel_mps2 = 0.0;
        self
    }
    /// Largest number of levels over all alerters.
    pub fn max_alert_level(&self) -> usize {
        self.alerters
            .iter()
            .map(|a| a.levels.len())
            .max()
            .unwrap_or(0)
    }
}

/// Global keys of DAIDALUS v2.0.4 that neither alerting nor guidance bands use here: sensor
/// uncertainty parameters (SUM detectors are refused), the horizontal contour threshold (contours
/// are not computed), the terminal-area (DTA) geometry (DTA logic is refused unless 0), and the
/// minimum airspeed that only matters with `hdir_bands_below_min_as` (refused unless 0). They are
/// read for syntax and units.
const UNUSED_KEYS: &[&str] = &[
    "min_airspeed",
    "h_pos_z_score",
    "h_vel_z_score_min",
    "h_vel_z_score_max",
    "h_vel_z_distance",
    "v_pos_z_score",
    "v_vel_z_score",
    "contour_thr",
    "dta_latitude",
    "dta_longitude",
    "dta_radius",
    "dta_height",
    "dta_alerter",
];

struct Entry {
    value: String,
    unit: Option<(String, units::Unit)>,
    line: usize,
    key_col: usize,
    value_col: usize,
    unit_col: usize,
}

struct Entries<'a> {
    file: &'a str,
    map: BTreeMap<String, Entry>,
    used: HashSet<String>,
    last_line: usize,
}

impl Entries<'_> {
    fn err_at(&self, line: usize, column: usize, kind: ErrorKind) -> ParseError {
        ParseError::at(self.file, line, column, kind)
    }

    fn missing(&self, key: &str) -> ParseError {
        self.err_at(
            self.last_line + 1,
            1,
            ErrorKind::Missing(format!("key '{key}'")),
        )
    }

    fn get(&mut self, key: &str) -> Option<&Entry> {
        let e = self.map.get(key)?;
        self.used.insert(key.to_string());
        Some(e)
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, ParseError> {
        let Some(e) = self.get(key) else {
            return Ok(None);
        };
        if e.unit.is_some() {
            let (line, col) = (e.line, e.unit_col);
            let unit = e.unit.as_ref().map(|u| u.0.clone()).unwrap_or_default();
            return Err(self.err_at(
                line,
                col,
                ErrorKind::WrongUnit {
                    unit,
                    expected: "nothing (a name)",
                    field: key.into(),
                },
            ));
        }
        Ok(Some(e.value.clone()))
    }

    /// A number in SI. Without a unit the value is taken as SI, as DAIDALUS does.
    fn number(&mut self, key: &str, dim: Dimension) -> Result<Option<f64>, ParseError> {
        let Some(e) = self.get(key) else {
            return Ok(None);
        };
        let (line, vcol, ucol) = (e.line, e.value_col, e.unit_col);
        let value: f64 = match e.value.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                let kind = ErrorKind::NotANumber {
                    field: key.into(),
                    value: e.value.clone(),
                };
                return Err(self.err_at(line, vcol, kind));
            }
        };
        match &e.unit {
            None => Ok(Some(value)),
            Some((name, unit)) if unit.dimension == dim => Ok(Some(value * unit.to_si)),
            Some((name, _)) => {
                let kind = ErrorKind::WrongUnit {
                    unit: name.clone(),
                    expected: dimension_name(dim),
                    field: key.into(),
                };
                Err(self.err_at(line, ucol, kind))
            }
        }
    }

    fn non_negative(&mut self, key: &str, dim: Dimension) -> Result<Option<f64>, ParseError> {
        match self.number(key, dim)? {
            Some(v) if v < 0.0 => Err(self.out_of_range(key, v, "must be ≥ 0")),
            other => Ok(other),
        }
    }

    fn out_of_range(&self, key: &str, v: f64, range: &'static str) -> ParseError {
        let (line, col) = self.map.get(key).map_or((0, 1), |e| (e.line, e.value_col));
        self.err_at(
            line,
            col,
            ErrorKind::OutOfRange {
                field: key.into(),
                value: v.to_string(),
                range,
            },
        )
    }

    fn integer(&mut self, key: &str) -> Result<Option<u32>, ParseError> {
        let Some(v) = self.number(key, Dimension::None)? else {
            return Ok(None);
        };
        if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
            return Err(self.out_of_range(key, v, "a non-negative integer"));
        }
        Ok(Some(v as u32))
    }

    fn integer_signed(&mut self, key: &str) -> Result<Option<i64>, ParseError> {
        let Some(v) = self.number(key, Dimension::None)? else {
            return Ok(None);
        };
        if v.fract() != 0.0 || v.abs() > 1e9 {
            return Err(self.out_of_range(key, v, "an integer"));
        }
        Ok(Some(v as i64))
    }

    fn boolean(&mut self, key: &str) -> Result<Option<bool>, ParseError> {
        let Some(s) = self.string(key)? else {
            return Ok(None);
        };
        match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => {
                let (line, col) = self.map.get(key).map_or((0, 1), |e| (e.line, e.value_col));
                Err(self.err_at(
                    line,
                    col,
                    ErrorKind::Syntax(format!("{key}: expected true or false, found '{s}'")),
                ))
            }
        }
    }

    fn region(&mut self, key: &str) -> Result<Option<Region>, ParseError> {
        let Some(s) = self.string(key)? else {
            return Ok(None);
        };
        let r = match s.to_ascii_uppercase().as_str() {
            "NONE" => Region::None,
            "FAR" => Region::Far,
            "MID" => Region::Mid,
            "NEAR" => Region::Near,
            _ => {
                let (line, col) = self.map.get(key).map_or((0, 1), |e| (e.line, e.value_col));
                return Err(self.err_at(
                    line,
                    col,
                    ErrorKind::Syntax(format!(
                        "{key}: expected NONE, FAR, MID or NEAR, found '{s}'"
                    )),
                ));
            }
        };
        Ok(Some(r))
    }

    fn output_unit(&self, key: &str, default: &str) -> OutputUnit {
        let (name, to_si) = match self.map.get(key).and_then(|e| e.unit.as_ref()) {
            Some((n, u)) => (n.clone(), u.to_si),
            None => (
                default.to_string(),
                units::lookup(default).map_or(1.0, |u| u.to_si),
            ),
        };
        OutputUnit { name, to_si }
    }
}

fn dimension_name(d: Dimension) -> &'static str {
    match d {
        Dimension::Length => "length",
        Dimension::Time => "time",
        Dimension::Speed => "speed",
        Dimension::Angle => "angle",
        Dimension::Acceleration => "acceleration",
        Dimension::AngularRate => "angular rate",
        Dimension::None => "nothing (a plain number)",
    }
}

/// 1-based character column at which `sub`, a slice of `line`, starts.
pub(crate) fn column_of(line: &str, sub: &str) -> usize {
    let offset = (sub.as_ptr() as usize)
        .saturating_sub(line.as_ptr() as usize)
        .min(line.len());
    line.get(..offset).map_or(offset, |p| p.chars().count()) + 1
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Parses a DAIDALUS `.conf` text. `file` names the input in error messages.
pub fn parse_conf(file: &str, text: &str) -> Result<Config, ParseError> {
    let err = |line, column, kind| ParseError::at(file, line, column, kind);
    ParseError::check_size(file, text, CONF_BYTES_MAX)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Entries {
        file,
        map: BTreeMap::new(),
        used: HashSet::new(),
        last_line: 0,
    };
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        entries.last_line = line;
        ParseError::check_line(file, line, raw, CONF_LINE_BYTES_MAX)?;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let col_of = |sub: &str| column_of(raw, sub);
        let Some(eq) = raw.find('=') else {
            return Err(err(
                line,
                col_of(raw.trim_start()),
                ErrorKind::Syntax("expected 'key = value [unit]'".into()),
            ));
        };
        let key = raw[..eq].trim();
        let key_col = col_of(raw[..eq].trim_start());
        if key.is_empty() || !key.chars().all(is_key_char) {
            return Err(err(
                line,
                key_col,
                ErrorKind::Syntax(format!("'{key}' is not a key (letters, digits, '_')")),
            ));
        }
        let rest = &raw[eq + 1..];
        let mut value = rest.trim();
        let value_col = col_of(rest.trim_start());
        let mut unit = None;
        let mut unit_col = value_col;
        if value.ends_with(']') {
            let Some(open) = value.rfind('[') else {
                return Err(err(
                    line,
                    value_col,
                    ErrorKind::Syntax("']' without '['".into()),
                ));
            };
            let name = value[open + 1..value.len() - 1].trim();
            unit_col = col_of(&rest.trim_start()[open..]);
            let Some(u) = units::lookup(name) else {
                return Err(err(line, unit_col, ErrorKind::UnknownUnit(name.into())));
            };
            unit = Some((name.to_string(), u));
            value = value[..open].trim();
        }
        if entries.map.len() >= CONF_KEYS_MAX {
            return Err(err(
                line,
                key_col,
                ErrorKind::TooMany {
                    what: "keys",
                    limit: CONF_KEYS_MAX,
                },
            ));
        }
        if let Some(prev) = entries.map.get(key) {
            return Err(err(
                line,
                key_col,
                ErrorKind::Duplicate(format!("key '{key}' (first on line {})", prev.line)),
            ));
        }
        entries.map.insert(
            key.to_string(),
            Entry {
                value: value.to_string(),
                unit,
                line,
                key_col,
                value_col,
                unit_col,
            },
        );
    }
    build(&mut entries)
}

fn build(e: &mut Entries<'_>) -> Result<Config, ParseError> {
    let lookahead_s = e
        .number("lookahead_time", Dimension::Time)?
        .ok_or_else(|| e.missing("lookahead_time"))?;
    if lookahead_s <= 0.0 {
        return Err(e.out_of_range("lookahead_time", lookahead_s, "must be > 0"));
    }
    let hysteresis_s = e
        .non_negative("hysteresis_time", Dimension::Time)?
        .unwrap_or(0.0);
    let persistence_s = e
        .non_negative("persistence_time", Dimension::Time)?
        .unwrap_or(0.0);
    let m = e.integer("alerting_m")?.unwrap_or(0);
    let n = e.integer("alerting_n")?.unwrap_or(0);
    if n > MOFN_N_MAX {
        return Err(e.out_of_range("alerting_n", f64::from(n), "at most MOFN_N_MAX = 64"));
    }
    let mofn = MofN::new(m, n);
    let ownship_centric = e.boolean("ownship_centric_alerting")?.unwrap_or(true);
    let corrective_region = e.region("corrective_region")?.unwrap_or(Region::Mid);
    if let Some(dta) = e.integer_signed("dta_logic")?
        && dta != 0
    {
        let (line, col) = e
            .map
            .get("dta_logic")
            .map_or((0, 1), |x| (x.line, x.value_col));
        return Err(e.err_at(
            line,
            col,
            ErrorKind::Unsupported {
                key: "dta_logic".into(),
                value: dta.to_string(),
                why: "DAA terminal-area (DTA) logic is not supported yet; set dta_logic = 0",
            },
        ));
    }
    for key in UNUSED_KEYS {
        let _ = e.get(key);
    }
    let bands = build_bands(e)?;
    let output_units = OutputUnits {
        horizontal: e.output_unit("min_horizontal_recovery", "nmi"),
        vertical: e.output_unit("min_vertical_recovery", "ft"),
        horizontal_speed: e.output_unit("step_hs", "knot"),
        vertical_speed: e.output_unit("step_vs", "fpm"),
    };
    let names = e.string("alerters")?.ok_or_else(|| e.missing("alerters"))?;
    let names: Vec<String> = names
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Err(e.missing("alerter names in 'alerters'"));
    }
    if names.len() > ALERTERS_MAX {
        let (line, col) = e
            .map
            .get("alerters")
            .map_or((0, 1), |x| (x.line, x.value_col));
        return Err(e.err_at(
            line,
            col,
            ErrorKind::TooMany {
                what: "alerters",
                limit: ALERTERS_MAX,
            },
        ));
    }
    let mut alerters = Vec::with_capacity(names.len());
    for name in names {
        alerters.push(build_alerter(e, &name)?);
    }
    // Everything else is unknown: a typo must not silently fall back to a default.
    let unused = e
        .map
        .iter()
        .filter(|(k, _)| !e.used.contains(*k))
        .min_by_key(|(_, x)| x.line);
    if let Some((key, x)) = unused {
        return Err(e.err_at(x.line, x.key_col, ErrorKind::UnknownKey(key.clone())));
    }
    Ok(Config {
        lookahead_s,
        hysteresis_s,
        persistence_s,
        mofn,
        ownship_centric,
        corrective_region,
        alerters,
        output_units,
        bands,
    })
}

fn build_alerter(e: &mut Entries<'_>, name: &str) -> Result<Alerter, ParseError> {
    let mut levels = Vec::new();
    for k in 1.. {
        let p = format!("{name}_alert_{k}_");
        let Some(region) = e.region(&format!("{p}region"))? else {
            break;
        };
        if k > LEVELS_MAX {
            let (line, col) = e
                .map
                .get(&format!("{p}region"))
                .map_or((0, 1), |x| (x.line, x.key_col));
            return Err(e.err_at(
                line,
                col,
                ErrorKind::TooMany {
                    what: "alert levels",
                    limit: LEVELS_MAX,
                },
            ));
        }
        let alerting_time_s = e
            .non_negative(&format!("{p}alerting_time"), Dimension::Time)?
            .ok_or_else(|| e.missing(&format!("{p}alerting_time")))?;
        let early_alerting_time_s = e
            .non_negative(&format!("{p}early_alerting_time"), Dimension::Time)?
            .unwrap_or(alerting_time_s);
        for (spread, dim) in [
            ("spread_hdir", Dimension::Angle),
            ("spread_hs", Dimension::Speed),
            ("spread_vs", Dimension::Speed),
            ("spread_alt", Dimension::Length),
        ] {
            let key = format!("{p}{spread}");
            if let Some(v) = e.number(&key, dim)?
                && v != 0.0
            {
                let (line, col) = e.map.get(&key).map_or((0, 1), |x| (x.line, x.value_col));
                return Err(e.err_at(
                        line,
                        col,
                        ErrorKind::Unsupported {
                            key,
                            value: v.to_string(),
                            why: "alerting on maneuver spreads (kinematic alerting) is not supported; set it to 0",
                        },
                    ));
            }
        }
        let det_key = format!("{p}detector");
        let det_id = e.string(&det_key)?.ok_or_else(|| e.missing(&det_key))?;
        let detector = build_detector(e, name, &det_id)?;
        levels.push(AlertLevel {
            region,
            alerting_time_s,
            early_alerting_time_s,
            detector,
        });
    }
    if levels.is_empty() {
        return Err(e.missing(&format!(
            "{name}_alert_1_region (alerter '{name}' has no levels)"
        )));
    }
    Ok(Alerter {
        name: name.to_string(),
        levels,
    })
}

fn build_detector(e: &mut Entries<'_>, alerter: &str, id: &str) -> Result<Detector, ParseError> {
    let class_key = format!("{alerter}_load_core_detection_{id}");
    let class = e.string(&class_key)?.ok_or_else(|| e.missing(&class_key))?;
    let short = class.rsplit('.').next().unwrap_or(&class).to_string();
    let p = format!("{alerter}_{id}_");
    let need = |e: &mut Entries<'_>, param: &str, dim: Dimension| -> Result<f64, ParseError> {
        let key = format!("{p}{param}");
        e.non_negative(&key, dim)?.ok_or_else(|| e.missing(&key))
    };
    let at_class = |e: &Entries<'_>, kind: ErrorKind| {
        let (line, col) = e
            .map
            .get(&class_key)
            .map_or((0, 1), |x| (x.line, x.value_col));
        e.err_at(line, col, kind)
    };
    match short.as_str() {
        "WCV_TAUMOD" => {
            let dthr = need(e, "WCV_DTHR", Dimension::Length)?;
            let zthr = need(e, "WCV_ZTHR", Dimension::Length)?;
            let tthr = need(e, "WCV_TTHR", Dimension::Time)?;
            let tcoa = need(e, "WCV_TCOA", Dimension::Time)?;
            WcvTaumod::new(dthr, zthr, tthr, tcoa)
                .map(Detector::WcvTaumod)
                .ok_or_else(|| {
                    at_class(
                        e,
                        ErrorKind::Syntax(format!(
                            "invalid WCV_TAUMOD thresholds for {alerter}_{id}"
                        )),
                    )
                })
        }
        "CDCylinder" => {
            let d = need(e, "D", Dimension::Length)?;
            let h = need(e, "H", Dimension::Length)?;
            Cylinder::new(d, h).map(Detector::Cylinder).ok_or_else(|| {
                at_class(
                    e,
                    ErrorKind::Syntax(format!("{alerter}_{id}: D and H must be > 0")),
                )
            })
        }
        "TCAS3D" => {
            let mut levels_m = [0.0; TCAS_LEVELS - 1];
            for (i, x) in levels_m.iter_mut().enumerate() {
                *x = need(e, &format!("TCAS_level_{}", i + 1), Dimension::Length)?;
            }
            let col =
                |e: &mut Entries<'_>, name: &str, dim| -> Result<[f64; TCAS_LEVELS], ParseError> {
                    let mut out = [0.0; TCAS_LEVELS];
                    for (i, x) in out.iter_mut().enumerate() {
                        *x = need(e, &format!("TCAS_{name}_{}", i + 1), dim)?;
                    }
                    Ok(out)
                };
            let tau_s = col(e, "TAU", Dimension::Time)?;
            let tcoa_s = col(e, "TCOA", Dimension::Time)?;
            let dmod_m = col(e, "DMOD", Dimension::Length)?;
            let zthr_m = col(e, "ZTHR", Dimension::Length)?;
            let hmd_m = col(e, "HMD", Dimension::Length)?;
            let hmd_filter = e.boolean(&format!("{p}TCAS_HMDFilter"))?.unwrap_or(false);
            TcasTable::new(levels_m, tau_s, tcoa_s, dmod_m, zthr_m, hmd_m, hmd_filter)
                .map(|t| Detector::Tcas3d(Box::new(t)))
                .ok_or_else(|| {
                    at_class(
                        e,
                        ErrorKind::Syntax(format!("{alerter}_{id}: TCAS levels must increase")),
                    )
                })
        }
        s if s.ends_with("_SUM") => Err(at_class(
            e,
            ErrorKind::SumNotSupported {
                key: class_key.clone(),
                class: class.clone(),
            },
        )),
        _ => Err(at_class(
            e,
            ErrorKind::Unsupported {
                key: class_key.clone(),
                value: class.clone(),
                why: "detector not supported (supported: WCV_TAUMOD, CDCylinder, TCAS3D)",
            },
        )),
    }
}

#[cfg(test)]
mod tests;
