//! What the desk takes in about aircraft: a party's pushed reports and its receivers' records.

/// One observation of an aircraft by a party: the body of `POST /v1/tracks`, in SI units.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub track_id: String,
    pub time_ms: i64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
    pub track_deg: f64,
    pub ground_speed_mps: f64,
    pub vertical_rate_mps: f64,
    pub callsign: Option<String>,
    pub aircraft_type: Option<String>,
    pub icao24: Option<String>,
    pub squawk: Option<String>,
}

/// One aircraft's state decoded from a party's receiver (ADS-B, Mode S), keyed by its ICAO
/// 24-bit address.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverReport {
    /// Six hexadecimal digits.
    pub icao24: String,
    pub time_ms: i64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
    pub track_deg: f64,
    pub ground_speed_mps: f64,
    pub vertical_rate_mps: f64,
    pub callsign: Option<String>,
    pub squawk: Option<String>,
}
