//! Raw records as they come off a receiver feed, before any Mode S decoding.

/// Length in bytes of a short Mode S frame (56 bits, ICAO Annex 10 Vol IV §3.1.2.2).
pub const FRAME_SHORT_BYTES: usize = 7;
/// Length in bytes of a long Mode S frame (112 bits).
pub const FRAME_LONG_BYTES: usize = 14;

/// One Mode S frame of 7 or 14 bytes. The constructor checks the length, so a frame in hand is
/// always a whole frame; whether its bits make sense is for the decoder to say.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ModeSFrame {
    bytes: [u8; FRAME_LONG_BYTES],
    len: u8,
}

impl ModeSFrame {
    /// A frame from its bytes; `None` unless there are exactly 7 or 14 of them.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != FRAME_SHORT_BYTES && bytes.len() != FRAME_LONG_BYTES {
            return None;
        }
        let mut out = [0u8; FRAME_LONG_BYTES];
        out[..bytes.len()].copy_from_slice(bytes);
        Some(Self {
            bytes: out,
            len: bytes.len() as u8,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Downlink format: the first five bits (Annex 10 Vol IV §3.1.2.3.2.1.2).
    pub fn df(&self) -> u8 {
        self.bytes[0] >> 3
    }

    /// The length the downlink format calls for: DF 16 and above are long frames.
    pub fn len_matches_df(&self) -> bool {
        let long = self.df() >= 16;
        (usize::from(self.len) == FRAME_LONG_BYTES) == long
    }
}

/// Lowercase hex of the frame's bytes, as receivers print frames.
impl std::fmt::Debug for ModeSFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.as_bytes()))
    }
}

/// The receiver's timestamp on a record, in the form the feed carried it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecordTime {
    /// The feed carried no timestamp.
    None,
    /// A free-running 12 MHz sample counter (48 bits): relative time only.
    Counter12MHz(u64),
    /// GPS time of day: seconds since UTC midnight and nanoseconds (Radarcape/Beast GPS form).
    GpsTimeOfDay { seconds: u32, nanos: u32 },
    /// Unix time in seconds (recordings that carry a wall clock, SBS date and time fields).
    Unix(f64),
}

impl RecordTime {
    /// Seconds on the record's own clock (relative for counters and time of day).
    pub fn seconds(&self) -> Option<f64> {
        match *self {
            RecordTime::None => None,
            RecordTime::Counter12MHz(ticks) => Some(ticks as f64 / 12.0e6),
            RecordTime::GpsTimeOfDay { seconds, nanos } => {
                Some(f64::from(seconds) + f64::from(nanos) * 1e-9)
            }
            RecordTime::Unix(t) => Some(t),
        }
    }

    /// Unix seconds, when the record carried a wall clock.
    pub fn unix_s(&self) -> Option<f64> {
        match *self {
            RecordTime::Unix(t) => Some(t),
            _ => None,
        }
    }
}

/// A Mode S frame with what the receiver said about it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawFrame {
    pub frame: ModeSFrame,
    pub time: RecordTime,
    /// Signal level byte as the receiver sent it (Beast, AVR `<`), unscaled.
    pub signal: Option<u8>,
}

/// What a framing parser hands out.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A Mode S frame to be decoded.
    ModeS(RawFrame),
    /// A Mode A/C reply (2 bytes): no address, so it never builds a track; counted.
    ModeAC { code: [u8; 2], time: RecordTime },
    /// A receiver status record (Beast type `4`): counted, not used.
    Status,
    /// A BaseStation line, already decoded by the receiver.
    Sbs(SbsMessage),
}

/// One `MSG` line, with the receiver's units as sent (feet, knots, ft/min): the decoder converts
/// them to SI once.
#[derive(Clone, Debug, PartialEq)]
pub struct SbsMessage {
    pub transmission_type: u8,
    pub icao: u32,
    pub time: RecordTime,
    pub callsign: Option<String>,
    pub alt_ft: Option<f64>,
    pub gs_kt: Option<f64>,
    pub trk_deg: Option<f64>,
    pub lat_deg: Option<f64>,
    pub lon_deg: Option<f64>,
    pub vs_fpm: Option<f64>,
    pub squawk: Option<u16>,
    pub on_ground: Option<bool>,
}
