//! Hex-per-line recordings: `<unix time in seconds>,<hex>` (the rs1090 `long_flight.csv` form).
//!
//! The hex is one Beast record without its `0x1a` escaping: `1a`, `32` or `33`, six timestamp
//! bytes, one signal byte, then the 7- or 14-byte Mode S frame. A bare Mode S frame (14 or 28 hex
//! digits) is accepted too. The unix time on the line is the record's time.

use super::hex_decode;
use super::lines::{LineFormat, LineFramer, LineRecord};
use crate::frame::{ModeSFrame, RawFrame, Record, RecordTime};

/// Beast header: escape, type, 6 timestamp bytes, signal byte.
const BEAST_HEADER_BYTES: usize = 9;

/// Hex recording lines: `<unix time>,<hex Beast record or Mode S frame>`.
#[derive(Debug)]
pub struct HexCsv;

/// The framer of HexCsv: the shared line framer reading lines as [`HexCsv`].
pub type HexCsvFramer = LineFramer<HexCsv>;

fn parse_line(line: &[u8]) -> Result<Option<Record>, ()> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Ok(None);
    }
    let comma = line.iter().position(|&b| b == b',').ok_or(())?;
    let (t, hex) = (&line[..comma], &line[comma + 1..]);
    let t: f64 = std::str::from_utf8(t)
        .map_err(|_| ())?
        .parse()
        .map_err(|_| ())?;
    if !t.is_finite() || t < 0.0 {
        return Err(());
    }
    let mut buf = [0u8; BEAST_HEADER_BYTES + 14];
    let bytes = hex_decode(hex.trim_ascii(), &mut buf).ok_or(())?;
    let (frame, signal) = match bytes {
        [
            0x1a,
            kind @ (0x32 | 0x33),
            _,
            _,
            _,
            _,
            _,
            _,
            signal,
            frame @ ..,
        ] => {
            let want = if *kind == 0x32 { 7 } else { 14 };
            if frame.len() != want {
                return Err(());
            }
            (frame, Some(*signal))
        }
        frame => (frame, None),
    };
    let frame = ModeSFrame::new(frame).ok_or(())?;
    Ok(Some(Record::ModeS(RawFrame {
        frame,
        time: RecordTime::Unix(t),
        signal,
    })))
}

impl LineFormat for HexCsv {
    fn parse(line: &[u8]) -> LineRecord {
        match parse_line(line) {
            Ok(Some(r)) => LineRecord::Record(r),
            Ok(None) => LineRecord::Nothing,
            Err(()) => LineRecord::Malformed(
                "not a hex recording line: want <unix time>,<hex Beast record or Mode S frame>"
                    .to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::Framer;
    use crate::framing::feed_all;

    #[test]
    fn beast_hex_and_bare_frames() {
        let input = b"1698150564.4516,1a33000000000000008d4ca7b3990c3b0f0804a85c6f1a\n\
            1698150564.5,1a32000000000000005d4840d6202cc3\n\
            1698150565,8d4840d6202cc371c32ce0576098\n\
            bad,8d4840d6202cc371c32ce0576098\n\
            1698150565,1a33000000000000005d4840d6202cc3\n";
        let mut f = HexCsvFramer::new();
        let mut out = Vec::new();
        feed_all(&mut f, input, |r| out.push(r));
        assert_eq!(out.len(), 3);
        assert_eq!(f.counters().malformed, 2);
        let Record::ModeS(r) = out[0] else { panic!() };
        assert_eq!(r.time, RecordTime::Unix(1698150564.4516));
        assert_eq!(format!("{:?}", r.frame), "8d4ca7b3990c3b0f0804a85c6f1a");
    }
}
