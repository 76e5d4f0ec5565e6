//! AVR raw text (the port 30002 format of dump1090 and the Beast's ASCII modes).
//!
//! One record per line, ending with `;`:
//! - `*<hex>;`: a frame without a timestamp;
//! - `@<12 hex timestamp><hex>;` and `%<12 hex timestamp><hex>;`: a 48-bit 12 MHz counter first;
//! - `<<12 hex timestamp><2 hex signal><hex>;`: counter, then the signal level byte.
//!
//! The frame is 4 hex digits (Mode A/C), 14 (short Mode S) or 28 (long Mode S).

use super::hex_decode;
use super::lines::{LineFormat, LineFramer, LineRecord};
use crate::frame::{ModeSFrame, RawFrame, Record, RecordTime};

const TIMESTAMP_HEX: usize = 12;

/// AVR text lines (`*HEX;`, `@TIMESTAMP HEX;`, `%TIMESTAMP HEX;`, `<TIMESTAMP SIGNAL HEX;`).
#[derive(Debug)]
pub struct Avr;

/// The framer of Avr: the shared line framer reading lines as [`Avr`].
pub type AvrFramer = LineFramer<Avr>;

fn parse_timestamp(hex: &[u8]) -> Option<u64> {
    let mut out = [0u8; 6];
    let b = hex_decode(hex, &mut out)?;
    Some(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}

/// One AVR line to a record; `Err(())` when malformed, `Ok(None)` for a blank line.
fn parse_line(line: &[u8]) -> Result<Option<Record>, ()> {
    let line = line.trim_ascii();
    let Some((&first, rest)) = line.split_first() else {
        return Ok(None);
    };
    let Some(body) = rest.strip_suffix(b";") else {
        return Err(());
    };
    let (time, signal, hex) = match first {
        b'*' => (RecordTime::None, None, body),
        b'@' | b'%' => {
            if body.len() < TIMESTAMP_HEX {
                return Err(());
            }
            let (ts, hex) = body.split_at(TIMESTAMP_HEX);
            (
                RecordTime::Counter12MHz(parse_timestamp(ts).ok_or(())?),
                None,
                hex,
            )
        }
        b'<' => {
            if body.len() < TIMESTAMP_HEX + 2 {
                return Err(());
            }
            let (ts, rest) = body.split_at(TIMESTAMP_HEX);
            let (sig, hex) = rest.split_at(2);
            let mut s = [0u8; 1];
            hex_decode(sig, &mut s).ok_or(())?;
            (
                RecordTime::Counter12MHz(parse_timestamp(ts).ok_or(())?),
                Some(s[0]),
                hex,
            )
        }
        _ => return Err(()),
    };
    let mut buf = [0u8; 14];
    let bytes = hex_decode(hex, &mut buf).ok_or(())?;
    if let [a, b] = *bytes {
        return Ok(Some(Record::ModeAC { code: [a, b], time }));
    }
    let frame = ModeSFrame::new(bytes).ok_or(())?;
    Ok(Some(Record::ModeS(RawFrame {
        frame,
        time,
        signal,
    })))
}

impl LineFormat for Avr {
    fn parse(line: &[u8]) -> LineRecord {
        match parse_line(line) {
            Ok(Some(r)) => LineRecord::Record(r),
            Ok(None) => LineRecord::Nothing,
            Err(()) => LineRecord::Malformed("not an AVR record: want *HEX;, @TIMESTAMP HEX;, %TIMESTAMP HEX; or <TIMESTAMP SIGNAL HEX; with 4, 14 or 28 hex digits of frame".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::feed_all;
    use crate::framing::{Framer, FramingCounters};

    fn records(input: &[u8]) -> (Vec<Record>, FramingCounters) {
        let mut f = AvrFramer::new();
        let mut out = Vec::new();
        feed_all(&mut f, input, |r| out.push(r));
        f.finish();
        while let Some(r) = f.next_record() {
            out.push(r);
        }
        (out, *f.counters())
    }

    #[test]
    fn all_four_variants_and_mode_ac() {
        let input = b"*8d4840d6202cc371c32ce0576098;\n\
            @0000E5AC2C6A8d4840d6202cc371c32ce0576098;\r\n\
            %0000E5AC2C6A5d4840d6202cc3;\n\
            <0000E5AC2C6Aff8d4840d6202cc371c32ce0576098;\n\
            *2000;\n\n";
        let (r, c) = records(input);
        assert_eq!(r.len(), 5);
        assert_eq!(c.records, 5);
        assert_eq!(c.rejected(), 0);
        let Record::ModeS(f) = &r[1] else {
            panic!("{:?}", r[1])
        };
        assert_eq!(f.time, RecordTime::Counter12MHz(0xE5AC2C6A));
        let Record::ModeS(f) = &r[3] else { panic!() };
        assert_eq!(f.signal, Some(0xff));
        assert_eq!(format!("{:?}", f.frame), "8d4840d6202cc371c32ce0576098");
        assert!(matches!(
            r[4],
            Record::ModeAC {
                code: [0x20, 0x00],
                ..
            }
        ));
    }

    #[test]
    fn malformed_lines_are_counted_and_skipped() {
        let input = b"garbage\n*8d4840d6202cc371c32ce0576098\n*8d484;\n*zz4840d6202cc371c32ce05760;\n*5d4840d6202cc3;\n";
        let (r, c) = records(input);
        assert_eq!(r.len(), 1);
        assert_eq!(c.malformed, 4);
    }

    #[test]
    fn last_line_without_newline_is_kept() {
        let (r, _) = records(b"*5d4840d6202cc3;");
        assert_eq!(r.len(), 1);
    }
}
