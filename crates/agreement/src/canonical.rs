//! The canonical encoding: RFC 8785 JSON Canonicalization Scheme (JCS) over a JSON value made of
//! objects, arrays, strings and integers only — never floating point (positions are 1e-7 degree
//! integers, distances whole metres, times whole seconds). With integers only, JCS reduces to
//! sorted keys (by UTF-16 code units, RFC 8785 §3.2.3), no whitespace, and minimal string escapes
//! (§3.2.2.2), so any party can re-derive the bytes with any JCS implementation.
//!
//! Shape of the agreement's canonical JSON (keys sorted on output; optional members are omitted,
//! never `null`; sets — disclosure fields, excluded parties — are sorted; lists — parties,
//! contacts, frequencies, lines, zones, positions — keep the file's order):
//!
//! ```text
//! { "format": "deconflict.agreement.v1", "title": s, "revision": n, ["supersedes": "sha256:…"],
//!   "separation": {"horizontal_m": n, "vertical_m": n, "lookahead_s": n, ["alerter": s], ["alerter_conf": s]},
//!   "link_test": {"interval_s": n, "offset_s": n, "reply_deadline_s": n},
//!   "ack_deadline_s": {kind: n, …},
//!   "parties": [{"id", "name", ["names": {lang: s, …}], "language", "public_key": "ed25519:…",
//!                "disclose_track": [s…], "disclose_notification": [s…],
//!                "contacts": [{"name", "role", "shift_utc": "HH:MM-HH:MM", ["channel"]}],
//!                ["members": [{"id", "name", "public_key": "ed25519:…"}]]}],
//!   "frequencies": [{"name", "hz": n, ["purpose"]}],
//!   "dividing_lines": [{"id", "name", ["left_party"], ["right_party"],
//!                       "geometry": {"type": "LineString", "coordinates_e7": [[lon, lat]…]}}],
//!   "zones": [{"id", "name", "excluded_parties": [s…], ["floor_m"], ["ceiling_m"],
//!              "geometry": {"type": "Polygon", "coordinates_e7": [[[lon, lat]…]…]}
//!                        | {"type": "Point", "coordinates_e7": [lon, lat], "radius_m": n}}] }
//! ```
//!
//! The `format` member also separates domains: a statement (`crate::lifecycle`) carries a
//! different `format`, so no byte string is both a valid agreement and a valid statement.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::ids::AgreementId;
use crate::model::*;

/// RFC 8785 bytes of a JSON value. Values built in this crate hold no floats, so the only
/// failure serde_json could report (a non-finite float) cannot happen; a failure is a bug.
pub fn jcs(value: &Value) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(value).expect("JCS of an integer-and-string JSON value")
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Fills in the canonical bytes and the id of a freshly validated agreement.
pub(crate) fn seal(mut a: Agreement) -> Agreement {
    a.canonical = jcs(&to_value(&a));
    a.id = AgreementId::from_bytes(sha256(&a.canonical));
    a
}

fn e7(p: &Position) -> Value {
    json!([p.lon_e7, p.lat_e7])
}

fn put_opt(m: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), v);
    }
}

/// The agreement as the JSON value that [`jcs`] encodes.
pub fn to_value(a: &Agreement) -> Value {
    let mut top = Map::new();
    top.insert("format".into(), json!(FORMAT));
    top.insert("title".into(), json!(a.title));
    top.insert("revision".into(), json!(a.revision));
    put_opt(
        &mut top,
        "supersedes",
        a.supersedes.map(|s| json!(s.to_text())),
    );

    let mut sep = Map::new();
    sep.insert("horizontal_m".into(), json!(a.separation.horizontal_m));
    sep.insert("vertical_m".into(), json!(a.separation.vertical_m));
    sep.insert("lookahead_s".into(), json!(a.separation.lookahead_s));
    put_opt(
        &mut sep,
        "alerter",
        a.separation.alerter.as_ref().map(|s| json!(s)),
    );
    put_opt(
        &mut sep,
        "alerter_conf",
        a.separation.alerter_conf.as_ref().map(|s| json!(s)),
    );
    top.insert("separation".into(), Value::Object(sep));

    top.insert(
        "link_test".into(),
        json!({
            "interval_s": a.link_test.interval_s,
            "offset_s": a.link_test.offset_s,
            "reply_deadline_s": a.link_test.reply_deadline_s,
        }),
    );
    top.insert("ack_deadline_s".into(), json!(a.ack_deadlines_s));

    let parties: Vec<Value> = a.parties.iter().map(party_value).collect();
    top.insert("parties".into(), Value::Array(parties));

    let freqs: Vec<Value> = a
        .frequencies
        .iter()
        .map(|f| {
            let mut m = Map::new();
            m.insert("name".into(), json!(f.name));
            m.insert("hz".into(), json!(f.hz));
            put_opt(&mut m, "purpose", f.purpose.as_ref().map(|s| json!(s)));
            Value::Object(m)
        })
        .collect();
    top.insert("frequencies".into(), Value::Array(freqs));

    let lines: Vec<Value> = a.dividing_lines.iter().map(dividing_line_value).collect();
    top.insert("dividing_lines".into(), Value::Array(lines));

    let zones: Vec<Value> = a.zones.iter().map(zone_value).collect();
    top.insert("zones".into(), Value::Array(zones));
    Value::Object(top)
}

/// A party: keys, disclosures, contacts; names and members only when there are any.
fn party_value(p: &Party) -> Value {
    let contacts: Vec<Value> = p
        .contacts
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert("name".into(), json!(c.name));
            m.insert("role".into(), json!(c.role));
            m.insert("shift_utc".into(), json!(c.shift.to_text()));
            put_opt(&mut m, "channel", c.channel.as_ref().map(|s| json!(s)));
            Value::Object(m)
        })
        .collect();
    let track: Vec<&str> = p.disclose_track.iter().map(|f| f.as_str()).collect();
    let notif: Vec<&str> = p.disclose_notification.iter().map(|f| f.as_str()).collect();
    let mut party = json!({
        "id": p.id.as_str(),
        "name": p.name,
        "language": p.language,
        "public_key": p.public_key.to_text(),
        "disclose_track": track,
        "disclose_notification": notif,
        "contacts": contacts,
    });
    // Omitted when empty, so that an agreement without names in other languages keeps
    // its id.
    if !p.names.is_empty()
        && let Some(obj) = party.as_object_mut()
    {
        obj.insert("names".into(), json!(p.names));
    }
    // Omitted when empty, so that an agreement without members keeps its id.
    if !p.members.is_empty()
        && let Some(obj) = party.as_object_mut()
    {
        let members: Vec<Value> = p
            .members
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "name": m.name,
                    "public_key": m.public_key.to_text(),
                })
            })
            .collect();
        obj.insert("members".into(), Value::Array(members));
    }
    party
}

/// A dividing line, its parties when given, its points in 1e-7 degrees.
fn dividing_line_value(d: &DividingLine) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(d.id));
    m.insert("name".into(), json!(d.name));
    put_opt(
        &mut m,
        "left_party",
        d.left_party.as_ref().map(|p| json!(p.as_str())),
    );
    put_opt(
        &mut m,
        "right_party",
        d.right_party.as_ref().map(|p| json!(p.as_str())),
    );
    let coords: Vec<Value> = d.points.iter().map(e7).collect();
    m.insert(
        "geometry".into(),
        json!({"type": "LineString", "coordinates_e7": coords}),
    );
    Value::Object(m)
}

/// A zone: its footprint (a polygon or a circle), its altitudes when given, who is excluded.
fn zone_value(z: &Zone) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(z.id));
    m.insert("name".into(), json!(z.name));
    let excluded: Vec<&str> = z.excluded_parties.iter().map(|p| p.as_str()).collect();
    m.insert("excluded_parties".into(), json!(excluded));
    put_opt(&mut m, "floor_m", z.floor_m.map(|v| json!(v)));
    put_opt(&mut m, "ceiling_m", z.ceiling_m.map(|v| json!(v)));
    let geometry = match &z.area {
        Area::Polygon { rings } => {
            let rings: Vec<Vec<Value>> = rings.iter().map(|r| r.iter().map(e7).collect()).collect();
            json!({"type": "Polygon", "coordinates_e7": rings})
        }
        Area::Circle { center, radius_m } => {
            json!({"type": "Point", "coordinates_e7": e7(center), "radius_m": radius_m})
        }
    };
    m.insert("geometry".into(), geometry);
    Value::Object(m)
}

/// Why canonical bytes were not accepted as an agreement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    #[error("agreement JSON is {bytes} bytes, more than the {bytes_max} accepted")]
    TooLarge { bytes: usize, bytes_max: usize },
    #[error("not JSON: {0}")]
    Json(String),
    #[error("{field}: {reason}")]
    Shape { field: String, reason: String },
    /// The content breaks a rule of the agreement (same rules as the file).
    #[error(transparent)]
    Invalid(#[from] crate::parse::ParseError),
    /// Valid content, but not in canonical form (key order, whitespace, escapes, extra members):
    /// refused, so that one agreement has exactly one byte string and one id.
    #[error("not in canonical form (RFC 8785): re-encoding gives different bytes")]
    NotCanonical,
}

/// Reads an agreement back from its canonical bytes (e.g. from a log entry or a store), with
/// the same validation as the file, and refuses bytes that are not exactly canonical.
pub fn from_canonical_json(bytes: &[u8]) -> Result<Agreement, CanonicalError> {
    if bytes.len() > crate::parse::AGREEMENT_BYTES_MAX {
        return Err(CanonicalError::TooLarge {
            bytes: bytes.len(),
            bytes_max: crate::parse::AGREEMENT_BYTES_MAX,
        });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CanonicalError::Json(e.to_string()))?;
    let file = to_file_value(value)?;
    let text = toml::to_string(&file).map_err(|e| CanonicalError::Shape {
        field: "(document)".into(),
        reason: e.to_string(),
    })?;
    let agreement = crate::parse::parse_toml(&text)?;
    if agreement.canonical_bytes() != bytes {
        return Err(CanonicalError::NotCanonical);
    }
    Ok(agreement)
}

fn shape(field: &str, reason: &str) -> CanonicalError {
    CanonicalError::Shape {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Renames the canonical members to the file's and turns integer geometry back into GeoJSON
/// text; anything unexpected is left for the file parser to refuse, or for the final byte
/// comparison to catch.
fn to_file_value(value: Value) -> Result<Value, CanonicalError> {
    let Value::Object(mut top) = value else {
        return Err(shape("(document)", "must be a JSON object"));
    };
    for (from, to) in [
        ("parties", "party"),
        ("frequencies", "frequency"),
        ("dividing_lines", "dividing_line"),
        ("zones", "zone"),
    ] {
        if let Some(v) = top.remove(from) {
            top.insert(to.to_owned(), v);
        }
    }
    if let Some(Value::Array(parties)) = top.get_mut("party") {
        for p in parties.iter_mut() {
            if let Some(obj) = p.as_object_mut() {
                if let Some(c) = obj.remove("contacts") {
                    obj.insert("contact".into(), c);
                }
                if let Some(m) = obj.remove("members") {
                    obj.insert("member".into(), m);
                }
            }
        }
    }
    for list in ["dividing_line", "zone"] {
        if let Some(Value::Array(items)) = top.get_mut(list) {
            for (i, item) in items.iter_mut().enumerate() {
                let field = format!("{list}[{i}].geometry");
                let Some(obj) = item.as_object_mut() else {
                    continue;
                };
                let Some(Value::Object(g)) = obj.remove("geometry") else {
                    return Err(shape(&field, "must be an object"));
                };
                let (text, radius) = geometry_text(&g, &field)?;
                obj.insert("geometry".into(), Value::String(text));
                if let Some(r) = radius {
                    obj.insert("radius_m".into(), r);
                }
            }
        }
    }
    Ok(Value::Object(top))
}

fn geometry_text(
    g: &Map<String, Value>,
    field: &str,
) -> Result<(String, Option<Value>), CanonicalError> {
    let kind = g
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| shape(field, "\"type\" must be a string"))?;
    let coords = g
        .get("coordinates_e7")
        .ok_or_else(|| shape(field, "\"coordinates_e7\" is missing"))?;
    if let Some(k) = g
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "coordinates_e7" | "radius_m"))
    {
        return Err(shape(field, &format!("unknown member {k:?}")));
    }
    let text = format!(
        "{{\"type\":{},\"coordinates\":{}}}",
        Value::String(kind.to_owned()),
        degrees(coords, field, 0)?
    );
    Ok((text, g.get("radius_m").cloned()))
}

/// Nested arrays of 1e-7 degree integers as GeoJSON degree numbers, exactly (decimal text).
fn degrees(v: &Value, field: &str, depth: usize) -> Result<String, CanonicalError> {
    match v {
        Value::Array(items) if depth < 4 => {
            let parts: Result<Vec<String>, _> =
                items.iter().map(|x| degrees(x, field, depth + 1)).collect();
            Ok(format!("[{}]", parts?.join(",")))
        }
        Value::Number(n) => {
            let e7 = n
                .as_i64()
                .filter(|x| x.unsigned_abs() <= 1_800_000_000)
                .ok_or_else(|| shape(field, "coordinates must be 1e-7 degree integers"))?;
            let sign = if e7 < 0 { "-" } else { "" };
            let a = e7.unsigned_abs();
            Ok(format!("{sign}{}.{:07}", a / 10_000_000, a % 10_000_000))
        }
        _ => Err(shape(
            field,
            "coordinates must be nested arrays of integers",
        )),
    }
}
