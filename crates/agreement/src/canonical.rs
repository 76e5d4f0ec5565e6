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
