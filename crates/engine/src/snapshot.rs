//! The snapshot CSV: tracks all at one instant, as read by `deconflict probe`.
//!
//! ```text
//! id,party,lat_deg,lon_deg,alt_ft,trk_deg,gs_kt,vs_fpm
//! 17,blue,35.10,36.20,31000,90,450,0
//! ```
//!
//! - The first line is the header. The eight columns above are required, in any order; a column
//!   named twice is an error; other columns are ignored. Names are matched exactly (after trimming
//!   spaces).
//! - Fields are separated by commas and trimmed of spaces and tabs; quoting is not supported (no
//!   field can need it: identifiers exclude commas and quotes). Lines end in LF or CRLF. Blank lines
//!   are skipped. A UTF-8 byte-order mark before the header is skipped.
//! - Units are the file's (feet, knots, feet per minute) and are converted to SI here, once.
//! - Every error names the line (1-based, the header is line 1), and where it applies the column
//!   and the row's id. Parsing stops at the first error: a snapshot is all or nothing, since a
//!   probe over part of the sky would silently miss conflicts.
//!
//! Limits: [`SNAPSHOT_BYTES_MAX`] bytes in all, [`LINE_BYTES_MAX`] bytes per line, and
//! [`crate::probe::SNAPSHOT_TRACKS_MAX`] rows.

use std::collections::HashMap;

use crate::ids::{PartyId, TrackId};
use crate::kinematics::{AircraftState, Position, Velocity};
use crate::probe::{SNAPSHOT_TRACKS_MAX, Snapshot, Track};
use crate::units::{fpm_to_mps, ft_to_m, kt_to_mps};

/// Largest snapshot accepted, bytes.
pub const SNAPSHOT_BYTES_MAX: usize = 128 * 1024 * 1024;
/// Longest line accepted, bytes (a row is under 120 bytes with 64-byte identifiers).
pub const LINE_BYTES_MAX: usize = 1024;

/// The required columns, in the order they are documented.
pub const COLUMNS: [&str; 8] = [
    "id", "party", "lat_deg", "lon_deg", "alt_ft", "trk_deg", "gs_kt", "vs_fpm",
];

/// What is wrong with a snapshot, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotParseError {
    /// No header line.
    #[error("the snapshot is empty: expected a header line with columns {}", COLUMNS.join(","))]
    Empty,
    /// More than [`SNAPSHOT_BYTES_MAX`] bytes.
    #[error("the snapshot is {len_bytes} bytes, more than the limit of {max_bytes}")]
    TooLarge {
        /// Its size.
        len_bytes: usize,
        /// The limit.
        max_bytes: usize,
    },
    /// A line longer than [`LINE_BYTES_MAX`].
    #[error("line {line}: {len_bytes} bytes long, more than the limit of {max_bytes}")]
    LineTooLong {
        /// The line.
        line: usize,
        /// Its length.
        len_bytes: usize,
        /// The limit.
        max_bytes: usize,
    },
    /// A line that is not UTF-8.
    #[error("line {line}: not valid UTF-8")]
    NotUtf8 {
        /// The line.
        line: usize,
    },
    /// A double quote: quoting is not supported.
    #[error("line {line}: quoted fields are not supported")]
    Quoted {
        /// The line.
        line: usize,
    },
    /// Required columns absent from the header.
    #[error("line 1: header lacks the column(s) {}; required: {}", missing.join(","), COLUMNS.join(","))]
    MissingColumns {
        /// The absent columns.
        missing: Vec<&'static str>,
    },
    /// A column named twice in the header.
    #[error("line 1: column {column:?} appears more than once")]
    DuplicateColumn {
        /// The column.
        column: String,
    },
    /// A row with a different number of fields from the header.
    #[error("line {line}: {found} fields, the header has {expected}")]
    FieldCount {
        /// The line.
        line: usize,
        /// Fields found.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A field that cannot be read or is out of range.
    #[error("line {line}, column {column}{}: {value:?}: {reason}", id.as_ref().map(|i| format!(" (id {i})")).unwrap_or_default())]
    Field {
        /// The line.
        line: usize,
        /// The column.
        column: &'static str,
        /// The row's id, when it was read.
        id: Option<String>,
        /// The field's text.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// An id already used on an earlier line.
    #[error("line {line}: duplicate id {id} (first on line {first_line})")]
    DuplicateId {
        /// The line.
        line: usize,
        /// The id.
        id: String,
        /// Where it first appeared.
        first_line: usize,
    },
    /// More than [`SNAPSHOT_TRACKS_MAX`] rows.
    #[error("line {line}: more than {max} tracks")]
    TooManyTracks {
        /// The first line over the limit.
        line: usize,
        /// The limit.
        max: usize,
    },
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Reads a snapshot from the bytes of a CSV file (see the module documentation).
pub fn parse(input: &[u8]) -> Result<Snapshot, SnapshotParseError> {
    if input.len() > SNAPSHOT_BYTES_MAX {
        return Err(SnapshotParseError::TooLarge {
            len_bytes: input.len(),
            max_bytes: SNAPSHOT_BYTES_MAX,
        });
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut lines = input
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)));

    // The header: the first non-blank line.
    let (header_line, header) = loop {
        let Some((n, raw)) = lines.next() else {
            return Err(SnapshotParseError::Empty);
        };
        let text = line_text(n, raw)?;
        if !trim(text).is_empty() {
            break (n, text);
        }
    };
    let names: Vec<&str> = header.split(',').map(trim).collect();
    let mut col = [usize::MAX; 8];
    for (i, name) in names.iter().enumerate() {
        if let Some(k) = COLUMNS.iter().position(|c| c == name) {
            if col[k] != usize::MAX {
                return Err(SnapshotParseError::DuplicateColumn {
                    column: (*name).to_owned(),
                });
            }
            col[k] = i;
        }
    }
    let missing: Vec<&'static str> = COLUMNS
        .iter()
        .zip(col)
        .filter(|(_, i)| *i == usize::MAX)
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(SnapshotParseError::MissingColumns { missing });
    }
    let _ = header_line;

    let mut tracks = Vec::new();
    let mut first_line: HashMap<TrackId, usize> = HashMap::new();
    let mut fields: Vec<&str> = Vec::with_capacity(names.len());
    for (n, raw) in lines {
        let text = line_text(n, raw)?;
        if trim(text).is_empty() {
            continue;
        }
        if tracks.len() == SNAPSHOT_TRACKS_MAX {
            return Err(SnapshotParseError::TooManyTracks {
                line: n,
                max: SNAPSHOT_TRACKS_MAX,
            });
        }
        fields.clear();
        fields.extend(text.split(',').map(trim));
        if fields.len() != names.len() {
            return Err(SnapshotParseError::FieldCount {
                line: n,
                found: fields.len(),
                expected: names.len(),
            });
        }
        let track = row(n, &fields, &col)?;
        if let Some(&first) = first_line.get(track.id()) {
            return Err(SnapshotParseError::DuplicateId {
                line: n,
                id: track.id().to_string(),
                first_line: first,
            });
        }
        first_line.insert(track.id().clone(), n);
        tracks.push(track);
    }
    // Uniqueness and size were checked above with line numbers; this cannot fail.
    Snapshot::new(tracks).map_err(|e| SnapshotParseError::Field {
        line: 0,
        column: "id",
        id: None,
        value: String::new(),
        reason: e.to_string(),
    })
}

fn line_text(n: usize, raw: &[u8]) -> Result<&str, SnapshotParseError> {
    if raw.len() > LINE_BYTES_MAX {
        return Err(SnapshotParseError::LineTooLong {
            line: n,
            len_bytes: raw.len(),
            max_bytes: LINE_BYTES_MAX,
        });
    }
    let text = std::str::from_utf8(raw).map_err(|_| SnapshotParseError::NotUtf8 { line: n })?;
    if text.contains('"') {
        return Err(SnapshotParseError::Quoted { line: n });
    }
    Ok(text)
}

fn row(n: usize, fields: &[&str], col: &[usize; 8]) -> Result<Track, SnapshotParseError> {
    let get = |k: usize| fields.get(col[k]).copied().unwrap_or("");
    let field_err = |k: usize, id: Option<&str>, reason: String| SnapshotParseError::Field {
        line: n,
        column: COLUMNS[k],
        id: id.map(str::to_owned),
        value: get(k).to_owned(),
        reason,
    };
    let id = TrackId::new(get(0)).map_err(|e| field_err(0, None, e.to_string()))?;
    let id_text = Some(id.as_str());
    let party = PartyId::new(get(1)).map_err(|e| field_err(1, id_text, e.to_string()))?;
    let mut v = [0.0; 6];
    for (slot, k) in v.iter_mut().zip(2..8) {
        let text = get(k);
        let x: f64 = text
            .parse()
            .map_err(|_| field_err(k, id_text, "not a number".to_owned()))?;
        if !x.is_finite() {
            return Err(field_err(k, id_text, "not a finite number".to_owned()));
        }
        *slot = x;
    }
    let [lat_deg, lon_deg, alt_ft, trk_deg, gs_kt, vs_fpm] = v;
    if gs_kt < 0.0 {
        return Err(field_err(
            6,
            id_text,
            "ground speed must not be negative".to_owned(),
        ));
    }
    // Each SI range error is reported against the file's column.
    let position = Position::new(lat_deg, lon_deg, ft_to_m(alt_ft)).map_err(|e| {
        let k = match e {
            crate::StateError::NotFinite { field, .. }
            | crate::StateError::OutOfRange { field, .. } => column_of(field),
        };
        field_err(k, id_text, e.to_string())
    })?;
    let velocity = Velocity::new(trk_deg, kt_to_mps(gs_kt), fpm_to_mps(vs_fpm)).map_err(|e| {
        let k = match e {
            crate::StateError::NotFinite { field, .. }
            | crate::StateError::OutOfRange { field, .. } => column_of(field),
        };
        field_err(k, id_text, e.to_string())
    })?;
    Ok(Track::new(
        id,
        party,
        AircraftState::new(position, velocity),
    ))
}

/// The file column behind an SI field of [`crate::kinematics`].
fn column_of(field: &str) -> usize {
    match field {
        "lat_deg" => 2,
        "lon_deg" => 3,
        "alt_m" => 4,
        "trk_deg" => 5,
        "gs_mps" => 6,
        _ => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "id,party,lat_deg,lon_deg,alt_ft,trk_deg,gs_kt,vs_fpm\n";

    fn err(body: &str) -> SnapshotParseError {
        parse(format!("{HEADER}{body}").as_bytes()).unwrap_err()
    }

    #[test]
    fn reads_rows_and_converts_units_once() {
        let s = parse(b"\xEF\xBB\xBFparty, id ,lat_deg,lon_deg,alt_ft,trk_deg,gs_kt,vs_fpm,note\r\nred,2,1,2,1000,90,360,6000,x\r\n\r\nblue,1,-1,-2,0,0,0,0,y\n").unwrap();
        assert_eq!(s.len(), 2);
        let t = &s.tracks()[1];
        assert_eq!(t.id().as_str(), "2");
        assert_eq!(t.party().as_str(), "red");
        assert!((t.state().position().alt_m() - 304.8).abs() < 1e-9);
        assert!((t.state().velocity().gs_mps() - 185.2).abs() < 1e-9);
        assert!((t.state().velocity().vs_mps() - 30.48).abs() < 1e-9);
    }

    #[test]
    fn header_only_is_an_empty_snapshot() {
        assert!(parse(HEADER.as_bytes()).unwrap().is_empty());
    }

    #[test]
    fn errors_name_line_column_and_id() {
        assert_eq!(parse(b""), Err(SnapshotParseError::Empty));
        assert_eq!(parse(b"\n \n"), Err(SnapshotParseError::Empty));
        assert_eq!(
            parse(b"id,party,lat_deg,lon_deg,alt_ft,trk_deg\n"),
            Err(SnapshotParseError::MissingColumns {
                missing: vec!["gs_kt", "vs_fpm"]
            })
        );
        let e = err("a,red,200,0,0,0,0,0\n");
        assert_eq!(
            e.to_string(),
            "line 2, column lat_deg (id a): \"200\": lat_deg = 200 is outside [-90, 90]"
        );
        let e = err("a,red,0,0,0,0,NaN,0\n");
        assert!(
            matches!(
                e,
                SnapshotParseError::Field {
                    line: 2,
                    column: "gs_kt",
                    ..
                }
            ),
            "{e}"
        );
        let e = err("a,red,0,0,0,0,-5,0\n");
        assert!(e.to_string().contains("must not be negative"), "{e}");
        let e = err("a,red,0,0,0,0,5,0\nb,red,0,0,0,0,5,0\na,blue,0,0,0,0,5,0\n");
        assert_eq!(
            e,
            SnapshotParseError::DuplicateId {
                line: 4,
                id: "a".into(),
                first_line: 2
            }
        );
        assert!(matches!(
            err("a,red,0,0\n"),
            SnapshotParseError::FieldCount {
                line: 2,
                found: 4,
                expected: 8
            }
        ));
        assert!(matches!(
            err("a,red,0,0,1e9,0,0,0\n"),
            SnapshotParseError::Field {
                column: "alt_ft",
                ..
            }
        ));
        assert!(matches!(
            err("a,red,0,0,0,0,0,1e9\n"),
            SnapshotParseError::Field {
                column: "vs_fpm",
                ..
            }
        ));
        assert!(matches!(
            err("\"a\",red,0,0,0,0,0,0\n"),
            SnapshotParseError::Quoted { line: 2 }
        ));
        assert!(matches!(
            err(",red,0,0,0,0,0,0\n"),
            SnapshotParseError::Field { column: "id", .. }
        ));
        assert!(matches!(
            err("a,,0,0,0,0,0,0\n"),
            SnapshotParseError::Field {
                column: "party",
                ..
            }
        ));
        assert!(matches!(
            err("a,r,0,0,0,0,0,inf\n"),
            SnapshotParseError::Field {
                column: "vs_fpm",
                ..
            }
        ));
        assert!(matches!(
            err(&format!("a,r,0,0,0,0,0,{}\n", "0".repeat(2000))),
            SnapshotParseError::LineTooLong { line: 2, .. }
        ));
        assert!(matches!(
            parse(b"id,id,party,lat_deg,lon_deg,alt_ft,trk_deg,gs_kt,vs_fpm\n"),
            Err(SnapshotParseError::DuplicateColumn { .. })
        ));
        assert!(matches!(
            parse(b"id,party,lat_deg\xff\n"),
            Err(SnapshotParseError::NotUtf8 { line: 1 })
        ));
    }
}
