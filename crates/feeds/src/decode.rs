//! Mode S / ADS-B decoding, done by `rs1090`; this module only picks the fields a track needs
//! and converts them to SI once.
//!
//! What is decoded here and what rs1090 does for it:
//! - the frame (all downlink formats, altitude codes, identity codes, BDS registers):
//!   `rs1090::decode::Message`;
//! - positions, with CPR global (even/odd pair) and local (reference) decoding and rs1090's own
//!   plausibility checks: `rs1090::decode::cpr::decode_position`, fed one frame at a time with a
//!   per-aircraft state map that this module owns and bounds (`cpr_states_max`);
//! - the CRC: rs1090 computes it; this module only decides what a remainder means
//!   (DF17/18 must be 0, DF11 may carry an interrogator code in its low 7 bits, Annex 10
//!   Vol IV §3.1.2.3.3.2; for DF0/4/5/16/20/21 the remainder *is* the address).

use std::collections::{BTreeMap, HashMap};

use rs1090::decode::adsb::ME;
use rs1090::decode::bds::bds09::AirborneVelocitySubType;
use rs1090::decode::cpr::{self, AircraftState, Position};
use rs1090::decode::{DF, ICAO, Message};

use crate::frame::{FRAME_SHORT_BYTES, ModeSFrame};
use crate::framing::sbs::SbsMessage;
use crate::report::{
    Callsign, IcaoAddress, Integrity, LatLon, M_PER_FT, MPS_PER_FPM, MPS_PER_KT, Report, SourceId,
    in_range,
};

/// Aircraft whose CPR state (last even and odd position frames) is kept at once.
pub const CPR_STATES_MAX: usize = 20_000;

/// CPR state older than this is dropped: rs1090 uses a reference position for local decoding
/// for at most 180 s, so older state is never used again.
pub const CPR_STATE_TTL_S: f64 = 180.0;

/// How often (in decoder time) stale CPR state is swept.
const CPR_SWEEP_INTERVAL_S: f64 = 30.0;

/// Altitudes outside this band are not believed (Gillham code reaches 126 700 ft).
const ALT_FT_MIN: f64 = -1_500.0;
const ALT_FT_MAX: f64 = 130_000.0;

#[derive(Clone, Copy, Debug)]
pub struct DecoderConfig {
    /// A position near the receiver: needed to decode surface positions (CPR surface
    /// encoding is ambiguous to 90°, ICAO Doc 9871 §A.2.6.10), optional otherwise.
    pub reference: Option<LatLon>,
    pub cpr_states_max: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            reference: None,
            cpr_states_max: CPR_STATES_MAX,
        }
    }
}

/// Why a frame gave no report. Each frame is counted under one reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeReject {
    /// DF17/18 parity not zero, or DF11 parity beyond an interrogator code.
    BadCrc,
    /// A downlink format that Annex 10 does not assign.
    UnknownDf,
    /// A short frame with a long-frame DF.
    LengthMismatch,
    /// rs1090 could not decode the fields.
    Malformed,
    /// The CPR state table is full of live aircraft.
    CprStatesFull,
}

/// Decoder counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeCounters {
    pub frames: u64,
    pub decoded: u64,
    pub bad_crc: u64,
    pub unknown_df: u64,
    pub length_mismatch: u64,
    pub malformed: u64,
    pub cpr_states_full: u64,
    /// Decoded frames with nothing a track uses (DF19, DF24, BDS 6,1/6,2/6,5, …).
    pub no_track_data: u64,
    /// Positions resolved (CPR global or local).
    pub positions: u64,
    /// CPR states dropped because they were older than [`CPR_STATE_TTL_S`].
    pub cpr_states_expired: u64,
}

/// Decodes Mode S frames into reports. Holds the CPR state, so frames of one aircraft must come
/// in time order (rs1090 ignores a position frame older than the last one of the other parity).
pub struct Decoder {
    cfg: DecoderConfig,
    aircraft: BTreeMap<ICAO, AircraftState>,
    last_seen_s: HashMap<u32, f64>,
    reference: Option<Position>,
    next_sweep_s: f64,
    counters: DecodeCounters,
}

fn ft_to_m(ft: f64) -> Option<f64> {
    in_range(ft, ALT_FT_MIN, ALT_FT_MAX).map(|ft| ft * M_PER_FT)
}

fn known_df(df: u8) -> bool {
    matches!(df, 0 | 4 | 5 | 11 | 16..=21 | 24..=31)
}

impl Decoder {
    pub fn new(cfg: DecoderConfig) -> Self {
        Self {
            reference: cfg.reference.map(|p| Position {
                latitude: p.lat_deg(),
                longitude: p.lon_deg(),
            }),
            cfg,
            aircraft: BTreeMap::new(),
            last_seen_s: HashMap::new(),
            next_sweep_s: f64::NEG_INFINITY,
            counters: DecodeCounters::default(),
        }
    }

    pub fn counters(&self) -> &DecodeCounters {
        &self.counters
    }

    /// Aircraft with CPR state held now.
    pub fn cpr_states(&self) -> usize {
        self.aircraft.len()
    }

    /// Decodes one frame received at `t_s` (seconds on the feed's clock, non-decreasing per
    /// aircraft). `Ok(None)`: a valid frame with nothing for a track.
    pub fn decode(
        &mut self,
        frame: &ModeSFrame,
        t_s: f64,
        source: SourceId,
    ) -> Result<Option<Report>, DecodeReject> {
        self.counters.frames += 1;
        let r = self.decode_inner(frame, t_s, source);
        match &r {
            Ok(rep) => {
                self.counters.decoded += 1;
                match rep {
                    Some(rep) if rep.position.is_some() => self.counters.positions += 1,
                    Some(_) => {}
                    None => self.counters.no_track_data += 1,
                }
            }
            Err(DecodeReject::BadCrc) => self.counters.bad_crc += 1,
            Err(DecodeReject::UnknownDf) => self.counters.unknown_df += 1,
            Err(DecodeReject::LengthMismatch) => self.counters.length_mismatch += 1,
            Err(DecodeReject::Malformed) => self.counters.malformed += 1,
            Err(DecodeReject::CprStatesFull) => self.counters.cpr_states_full += 1,
        }
        r
    }

    fn decode_inner(
        &mut self,
        frame: &ModeSFrame,
        t_s: f64,
        source: SourceId,
    ) -> Result<Option<Report>, DecodeReject> {
        let df = frame.df();
        if !known_df(df) {
            return Err(DecodeReject::UnknownDf);
        }
        let mut bytes = frame.as_bytes();
        if !frame.len_matches_df() {
            if df >= 16 {
                return Err(DecodeReject::LengthMismatch);
            }
            // Some receivers report a short reply in a 112-bit record; the reply is the first
            // 56 bits (its parity covers those only).
            bytes = &bytes[..FRAME_SHORT_BYTES];
        }
        let mut msg = match Message::try_from(bytes) {
            Ok(m) => m,
            Err(_) if df == 17 => {
                // rs1090 refuses a DF17 whose parity is not zero; say so precisely.
                return Err(
                    match rs1090::decode::crc::modes_checksum(bytes, bytes.len() * 8) {
                        Ok(0) => DecodeReject::Malformed,
                        _ => DecodeReject::BadCrc,
                    },
                );
            }
            Err(_) => return Err(DecodeReject::Malformed),
        };
        let address = |raw: u32| IcaoAddress::new(raw).ok_or(DecodeReject::Malformed);
        let report = match &mut msg.df {
            DF::ShortAirAirSurveillance { ac, .. }
            | DF::SurveillanceAltitudeReply { ac, .. }
            | DF::LongAirAirSurveillance { ac, .. } => {
                let mut r = Report::new(address(msg.crc)?, source, Integrity::AddressParity);
                r.alt_baro_m = ac.0.and_then(|ft| ft_to_m(f64::from(ft)));
                r
            }
            DF::CommBAltitudeReply { ac, bds, .. } => {
                let mut r = Report::new(address(msg.crc)?, source, Integrity::AddressParity);
                r.alt_baro_m = ac.0.and_then(|ft| ft_to_m(f64::from(ft)));
                // Of the Comm-B registers only BDS 2,0 is taken: its first byte (0x20) makes it
                // unambiguous. The others (4,0, 5,0, 6,0, …) are told apart by inference, which
                // is not good enough to move a track.
                r.callsign = bds.bds20.as_ref().and_then(|b| Callsign::new(&b.callsign));
                r
            }
            DF::SurveillanceIdentityReply { id, .. } => {
                let mut r = Report::new(address(msg.crc)?, source, Integrity::AddressParity);
                r.squawk = Some(id.0);
                r
            }
            DF::CommBIdentityReply { id, bds, .. } => {
                let mut r = Report::new(address(msg.crc)?, source, Integrity::AddressParity);
                r.squawk = Some(id.0);
                r.callsign = bds.bds20.as_ref().and_then(|b| Callsign::new(&b.callsign));
                r
            }
            DF::AllCallReply { icao, .. } => {
                if msg.crc > 0x7f {
                    return Err(DecodeReject::BadCrc);
                }
                // An all-call reply says only "this address exists"; no track data.
                let _ = address(icao.0)?;
                return Ok(None);
            }
            DF::ExtendedSquitterADSB(adsb) => {
                let icao = adsb.icao24;
                self.squitter(&mut adsb.message, icao, t_s, source)?
            }
            DF::ExtendedSquitterTisB { cf, .. } => {
                if msg.crc != 0 {
                    return Err(DecodeReject::BadCrc);
                }
                let icao = cf.aa;
                self.squitter(&mut cf.me, icao, t_s, source)?
            }
            DF::ExtendedSquitterMilitary { .. } | DF::CommDExtended { .. } => return Ok(None),
        };
        Ok(report.has_data().then_some(report))
    }

    /// An extended squitter (DF17, DF18): position through rs1090's stateful CPR decoding.
    fn squitter(
        &mut self,
        me: &mut ME,
        icao: ICAO,
        t_s: f64,
        source: SourceId,
    ) -> Result<Report, DecodeReject> {
        let mut r = Report::new(
            IcaoAddress::new(icao.0).ok_or(DecodeReject::Malformed)?,
            source,
            Integrity::Checked,
        );
        match me {
            ME::BDS05 { .. } | ME::BDS06 { .. } => {
                self.cpr_admit(icao.0, t_s)?;
                cpr::decode_position(
                    me,
                    t_s,
                    &icao,
                    &mut self.aircraft,
                    &mut self.reference,
                    &None,
                );
            }
            _ => {}
        }
        match me {
            ME::BDS05 { tc, inner } => {
                if (9..=18).contains(tc) {
                    r.alt_baro_m = inner.alt.and_then(|ft| ft_to_m(f64::from(ft)));
                }
                r.on_ground = Some(false);
                r.position = inner
                    .latitude
                    .zip(inner.longitude)
                    .and_then(|(la, lo)| LatLon::new(la, lo));
            }
            ME::BDS06 { inner, .. } => {
                r.on_ground = Some(true);
                r.position = inner
                    .latitude
                    .zip(inner.longitude)
                    .and_then(|(la, lo)| LatLon::new(la, lo));
                r.gs_mps = inner
                    .groundspeed
                    .and_then(|kt| in_range(kt, 0.0, 250.0))
                    .map(|kt| kt * MPS_PER_KT);
                r.trk_deg = inner.track.and_then(|t| in_range(t, 0.0, 360.0));
            }
            ME::BDS08 { inner, .. } => r.callsign = Callsign::new(&inner.callsign),
            ME::BDS09(v) => {
                if let AirborneVelocitySubType::GroundSpeedDecoding(g) = &v.velocity {
                    r.gs_mps = in_range(g.groundspeed, 0.0, 4_000.0).map(|kt| kt * MPS_PER_KT);
                    r.trk_deg = in_range(g.track, 0.0, 360.0);
                }
                r.vs_mps = v.vertical_rate.map(|fpm| f64::from(fpm) * MPS_PER_FPM);
            }
            _ => {}
        }
        Ok(r)
    }

    /// Makes room for one more aircraft's CPR state, sweeping stale states first.
    fn cpr_admit(&mut self, icao: u32, t_s: f64) -> Result<(), DecodeReject> {
        if t_s >= self.next_sweep_s || self.aircraft.len() >= self.cfg.cpr_states_max {
            self.sweep(t_s);
        }
        if !self.last_seen_s.contains_key(&icao) && self.aircraft.len() >= self.cfg.cpr_states_max {
            return Err(DecodeReject::CprStatesFull);
        }
        let seen = self.last_seen_s.entry(icao).or_insert(t_s);
        *seen = seen.max(t_s);
        Ok(())
    }

    fn sweep(&mut self, t_s: f64) {
        self.next_sweep_s = t_s + CPR_SWEEP_INTERVAL_S;
        let before = self.last_seen_s.len();
        self.last_seen_s
            .retain(|_, seen| t_s - *seen <= CPR_STATE_TTL_S);
        if self.last_seen_s.len() != before {
            let live = &self.last_seen_s;
            self.aircraft.retain(|icao, _| live.contains_key(&icao.0));
            self.counters.cpr_states_expired += (before - self.last_seen_s.len()) as u64;
        }
    }
}

/// An SBS line, decoded by the receiver already, as a report in SI units.
pub fn report_from_sbs(m: &SbsMessage, source: SourceId) -> Option<Report> {
    let mut r = Report::new(IcaoAddress::new(m.icao)?, source, Integrity::Checked);
    r.time_unix_s = m.time.unix_s();
    r.position = m
        .lat_deg
        .zip(m.lon_deg)
        .and_then(|(la, lo)| LatLon::new(la, lo));
    r.alt_baro_m = m.alt_ft.and_then(ft_to_m);
    r.gs_mps = m.gs_kt.map(|kt| kt * MPS_PER_KT);
    r.trk_deg = m.trk_deg;
    r.vs_mps = m.vs_fpm.map(|fpm| fpm * MPS_PER_FPM);
    r.callsign = m.callsign.as_deref().and_then(Callsign::new);
    r.squawk = m.squawk;
    r.on_ground = m.on_ground;
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(hex: &str) -> ModeSFrame {
        let b: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        ModeSFrame::new(&b).unwrap()
    }

    /// Regression: a DF4 reply sent in a 112-bit record (seen in the traffic ground truth) was
    /// rejected as a length mismatch; its first 56 bits are the reply.
    #[test]
    fn regression_short_reply_in_a_long_record_decodes_its_first_56_bits() {
        let mut d = Decoder::new(DecoderConfig::default());
        let r = d
            .decode(&frame("212800bf40f1ef7e5817e9cc428d"), 0.0, SourceId(0))
            .unwrap()
            .unwrap();
        assert_eq!(r.icao.to_string(), "393322");
        assert_eq!(r.alt_baro_m, Some(575.0 * M_PER_FT));
        assert_eq!(r.integrity, Integrity::AddressParity);
    }

    #[test]
    fn long_df_in_a_short_record_is_a_length_mismatch() {
        let mut d = Decoder::new(DecoderConfig::default());
        assert_eq!(
            d.decode(&frame("8d4ca7b3990c3b"), 0.0, SourceId(0)),
            Err(DecodeReject::LengthMismatch)
        );
        assert_eq!(d.counters().length_mismatch, 1);
    }

    #[test]
    fn df17_with_a_flipped_bit_is_a_bad_crc() {
        let mut d = Decoder::new(DecoderConfig::default());
        assert!(
            d.decode(&frame("8d40058b58c901375147efd09357"), 0.0, SourceId(0))
                .is_ok()
        );
        assert_eq!(
            d.decode(&frame("8d40058b58c901375147efd09356"), 0.0, SourceId(0)),
            Err(DecodeReject::BadCrc)
        );
        assert_eq!(
            d.decode(&frame("0d4ca7b3990c3b"), 0.0, SourceId(0)),
            Err(DecodeReject::UnknownDf)
        );
        let c = d.counters();
        assert_eq!((c.frames, c.decoded, c.bad_crc, c.unknown_df), (3, 1, 1, 1));
    }

    #[test]
    fn cpr_states_are_bounded_and_expire() {
        let mut d = Decoder::new(DecoderConfig {
            reference: None,
            cpr_states_max: 1,
        });
        // Two aircraft's airborne position frames (from rs1090's own examples and the recordings).
        assert!(
            d.decode(&frame("8d40058b58c901375147efd09357"), 0.0, SourceId(0))
                .is_ok()
        );
        assert_eq!(
            d.decode(&frame("8d4d224f58bf07c2d41a9a353d70"), 1.0, SourceId(0)),
            Err(DecodeReject::CprStatesFull)
        );
        assert_eq!(d.cpr_states(), 1);
        // Once the first is older than the time to live, the second gets its place.
        assert!(
            d.decode(
                &frame("8d4d224f58bf07c2d41a9a353d70"),
                CPR_STATE_TTL_S + 1.0,
                SourceId(0)
            )
            .is_ok()
        );
        assert_eq!(d.counters().cpr_states_expired, 1);
        assert_eq!(d.cpr_states(), 1);
    }
}
