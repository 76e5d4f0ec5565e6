//! Reading an agreement back from its canonical bytes ([`crate::canonical`] writes them): the
//! members renamed to the file's, the file's validation ([`crate::parse`]) run again, and bytes
//! that are not exactly canonical refused.

use serde_json::{Map, Value};

use crate::model::Agreement;

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

impl Agreement {
    /// Reads an agreement from its canonical bytes (see [`from_canonical_json`]). Defined here,
    /// beside the reading of the format, so that the model knows nothing of its encodings.
    pub fn from_canonical_json(bytes: &[u8]) -> Result<Self, CanonicalError> {
        from_canonical_json(bytes)
    }
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
