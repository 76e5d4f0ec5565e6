//! Reports: one observation of one aircraft at one instant, from one source, in SI units.
//! Every value here was validated when the report was built.

/// Feet to metres (exact, international foot).
pub const M_PER_FT: f64 = 0.3048;
/// Knots to metres per second (exact: 1852 m per nautical mile).
pub const MPS_PER_KT: f64 = 1852.0 / 3600.0;
/// Feet per minute to metres per second.
pub const MPS_PER_FPM: f64 = M_PER_FT / 60.0;

/// A 24-bit ICAO aircraft address (Annex 10 Vol III, Part I, Chapter 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IcaoAddress(u32);

impl IcaoAddress {
    /// `None` when the value does not fit in 24 bits.
    pub fn new(raw: u32) -> Option<Self> {
        (raw <= 0x00ff_ffff).then_some(Self(raw))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for IcaoAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:06x}", self.0)
    }
}

/// A WGS 84 position in degrees, latitude in [-90, 90], longitude in [-180, 180].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatLon {
    lat_deg: f64,
    lon_deg: f64,
}

impl LatLon {
    /// `None` for NaN, infinities, or values out of range.
    pub fn new(lat_deg: f64, lon_deg: f64) -> Option<Self> {
        ((-90.0..=90.0).contains(&lat_deg) && (-180.0..=180.0).contains(&lon_deg))
            .then_some(Self { lat_deg, lon_deg })
    }

    pub fn lat_deg(self) -> f64 {
        self.lat_deg
    }

    pub fn lon_deg(self) -> f64 {
        self.lon_deg
    }

    /// Great-circle distance on a sphere of the mean Earth radius (haversine). Good to 0.5 %,
    /// which is all a plausibility check needs.
    pub fn distance_m(self, other: LatLon) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat_deg.to_radians(), other.lat_deg.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon_deg - self.lon_deg).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

/// A flight identification: 1 to 8 characters of the Annex 10 6-bit set (A–Z, 0–9, space),
/// trailing spaces removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callsign(String);

impl Callsign {
    pub fn new(text: &str) -> Option<Self> {
        let t = text.trim_end_matches([' ', '#', '_']);
        (!t.is_empty()
            && t.len() <= 8
            && t.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' '))
        .then(|| Self(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which feed a report came from: an index the caller assigns (one per receiver or connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SourceId(pub u16);

/// How much a report may be trusted to start a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// Parity checked against the whole frame (DF17/18 CRC) or decoded by a receiver (SBS).
    Checked,
    /// Address recovered from address/parity (DF0/4/5/16/20/21): believable only for an
    /// aircraft already tracked, since any corrupted frame yields some address.
    AddressParity,
}

/// One observation of one aircraft, SI units inside.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub icao: IcaoAddress,
    pub source: SourceId,
    pub integrity: Integrity,
    /// The record's unix time, when the feed carried one (or the receipt time of a live feed).
    pub time_unix_s: Option<f64>,
    pub position: Option<LatLon>,
    pub on_ground: Option<bool>,
    /// Barometric altitude (pressure altitude referenced to 1013.25 hPa).
    pub alt_baro_m: Option<f64>,
    pub gs_mps: Option<f64>,
    /// Track angle over ground, degrees clockwise from true north, in [0, 360).
    pub trk_deg: Option<f64>,
    /// Vertical rate, positive up.
    pub vs_mps: Option<f64>,
    pub callsign: Option<Callsign>,
    /// Mode A code as four octal digits packed in hex nibbles (0x7700 is 7700).
    pub squawk: Option<u16>,
}

impl Report {
    /// A report with nothing but who and where from.
    pub fn new(icao: IcaoAddress, source: SourceId, integrity: Integrity) -> Self {
        Self {
            icao,
            source,
            integrity,
            time_unix_s: None,
            position: None,
            on_ground: None,
            alt_baro_m: None,
            gs_mps: None,
            trk_deg: None,
            vs_mps: None,
            callsign: None,
            squawk: None,
        }
    }

    /// True when the report carries at least one value for a track.
    pub fn has_data(&self) -> bool {
        self.position.is_some()
            || self.alt_baro_m.is_some()
            || self.gs_mps.is_some()
            || self.trk_deg.is_some()
            || self.vs_mps.is_some()
            || self.callsign.is_some()
            || self.squawk.is_some()
    }
}

/// Keeps a finite value inside a range, else `None` (out-of-range values are not believed).
pub(crate) fn in_range(v: f64, lo: f64, hi: f64) -> Option<f64> {
    (v.is_finite() && v >= lo && v <= hi).then_some(v)
}
