//! The agreed geography: dividing lines and zones, and the GeoJSON geometries they are drawn
//! with.

use std::collections::BTreeSet;

use toml::Spanned;

use super::{
    ALT_M_MAX, ALT_M_MIN, Checker, DIVIDING_LINES_MAX, POSITIONS_MAX, R, RADIUS_M_MAX,
    RawDividingLine, RawZone, ZONES_MAX,
};
use crate::ids::PartyId;
use crate::model::*;

impl Checker<'_> {
    /// The dividing lines: unique ids, LineStrings, two different parties of the agreement.
    pub(super) fn dividing_lines(
        &self,
        raw: &[RawDividingLine],
        known: &BTreeSet<PartyId>,
    ) -> R<Vec<DividingLine>> {
        if raw.len() > DIVIDING_LINES_MAX {
            return self.err(
                "dividing_line",
                raw[DIVIDING_LINES_MAX].id.span(),
                format!("more than {DIVIDING_LINES_MAX} dividing lines"),
            );
        }
        let mut dividing_lines: Vec<DividingLine> = Vec::new();
        for (i, d) in raw.iter().enumerate() {
            let field = |n: &str| format!("dividing_line[{i}].{n}");
            let id = self.ident(&field("id"), &d.id)?;
            if dividing_lines.iter().any(|x| x.id == id) {
                return self.err(&field("id"), d.id.span(), format!("{id:?} is used twice"));
            }
            let left_party = match &d.left_party {
                None => None,
                Some(p) => Some(self.party_ref(&field("left_party"), p, known)?),
            };
            let right_party = match &d.right_party {
                None => None,
                Some(p) => Some(self.party_ref(&field("right_party"), p, known)?),
            };
            if let (Some(l), Some(r), Some(span)) = (&left_party, &right_party, &d.right_party)
                && l == r
            {
                return self.err(
                    &field("right_party"),
                    span.span(),
                    "must differ from left_party",
                );
            }
            let geometry = self.geojson(&field("geometry"), &d.geometry)?;
            let points = match geometry {
                GeoJson::LineString(points) => points,
                other => {
                    return self.err(
                        &field("geometry"),
                        d.geometry.span(),
                        format!("must be a GeoJSON LineString, got {}", other.kind()),
                    );
                }
            };
            dividing_lines.push(DividingLine {
                id,
                name: self.text(&field("name"), &d.name)?,
                points,
                left_party,
                right_party,
            });
        }
        Ok(dividing_lines)
    }

    /// The zones: unique ids, a polygon or a circle, a floor below the ceiling, parties of the
    /// agreement excluded once each.
    pub(super) fn zones(&self, raw: &[RawZone], known: &BTreeSet<PartyId>) -> R<Vec<Zone>> {
        if raw.len() > ZONES_MAX {
            return self.err(
                "zone",
                raw[ZONES_MAX].id.span(),
                format!("more than {ZONES_MAX} zones"),
            );
        }
        let mut zones: Vec<Zone> = Vec::new();
        for (i, z) in raw.iter().enumerate() {
            let field = |n: &str| format!("zone[{i}].{n}");
            let id = self.ident(&field("id"), &z.id)?;
            if zones.iter().any(|x| x.id == id) {
                return self.err(&field("id"), z.id.span(), format!("{id:?} is used twice"));
            }
            let area = match (self.geojson(&field("geometry"), &z.geometry)?, &z.radius_m) {
                (GeoJson::Point(center), Some(r)) => Area::Circle {
                    center,
                    radius_m: self.u32(&field("radius_m"), r, 1, RADIUS_M_MAX, "m")?,
                },
                (GeoJson::Point(_), None) => {
                    return self.err(
                        &field("radius_m"),
                        z.geometry.span(),
                        "a Point zone is a circle and needs radius_m",
                    );
                }
                (GeoJson::Polygon(rings), None) => Area::Polygon { rings },
                (GeoJson::Polygon(_), Some(r)) => {
                    return self.err(
                        &field("radius_m"),
                        r.span(),
                        "only a Point zone has a radius",
                    );
                }
                (other, _) => {
                    return self.err(
                        &field("geometry"),
                        z.geometry.span(),
                        format!("must be a GeoJSON Polygon or Point, got {}", other.kind()),
                    );
                }
            };
            let floor_m = match &z.floor_m {
                None => None,
                Some(v) => Some(self.int(&field("floor_m"), v, ALT_M_MIN, ALT_M_MAX, "m")? as i32),
            };
            let ceiling_m = match &z.ceiling_m {
                None => None,
                Some(v) => {
                    Some(self.int(&field("ceiling_m"), v, ALT_M_MIN, ALT_M_MAX, "m")? as i32)
                }
            };
            if let (Some(f), Some(c), Some(span)) = (floor_m, ceiling_m, &z.ceiling_m)
                && c <= f
            {
                return self.err(
                    &field("ceiling_m"),
                    span.span(),
                    format!("must be above floor_m ({f} m), got {c} m"),
                );
            }
            let mut excluded_parties = BTreeSet::new();
            for (j, p) in z.excluded_parties.iter().enumerate() {
                let f = format!("zone[{i}].excluded_parties[{j}]");
                if !excluded_parties.insert(self.party_ref(&f, p, known)?) {
                    return self.err(&f, p.span(), "listed twice");
                }
            }
            zones.push(Zone {
                id,
                name: self.text(&field("name"), &z.name)?,
                area,
                floor_m,
                ceiling_m,
                excluded_parties,
            });
        }
        Ok(zones)
    }

    fn geojson(&self, field: &str, v: &Spanned<String>) -> R<GeoJson> {
        parse_geojson(v.get_ref()).or_else(|reason| self.err(field, v.span(), reason))
    }
}

/// The GeoJSON geometries an agreement accepts.
enum GeoJson {
    Point(Position),
    LineString(Vec<Position>),
    Polygon(Vec<Vec<Position>>),
    Other(String),
}

impl GeoJson {
    fn kind(&self) -> String {
        match self {
            GeoJson::Point(_) => "Point".into(),
            GeoJson::LineString(_) => "LineString".into(),
            GeoJson::Polygon(_) => "Polygon".into(),
            GeoJson::Other(k) => k.clone(),
        }
    }
}

/// Basic shape checks of an RFC 7946 geometry object; the geometry itself (self-intersection,
/// orientation) is the airspace crate's business.
fn parse_geojson(text: &str) -> Result<GeoJson, String> {
    use serde_json::Value;
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not GeoJSON text: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("must be a GeoJSON geometry object".into());
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "coordinates"))
    {
        return Err(format!(
            "unknown GeoJSON member {k:?} (only \"type\" and \"coordinates\")"
        ));
    }
    let kind = match obj.get("type") {
        Some(Value::String(k)) => k.clone(),
        _ => return Err("GeoJSON member \"type\" must be a string".into()),
    };
    let coords = obj
        .get("coordinates")
        .ok_or("GeoJSON member \"coordinates\" is missing")?;
    let mut count = 0usize;
    match kind.as_str() {
        "Point" => Ok(GeoJson::Point(position(coords, "coordinates", &mut count)?)),
        "LineString" => {
            let points = positions(coords, "coordinates", &mut count)?;
            if points.len() < 2 {
                return Err("a LineString needs at least two positions".into());
            }
            if let Some(i) = points.windows(2).position(|w| w[0] == w[1]) {
                return Err(format!(
                    "coordinates[{}] repeats the position before it",
                    i + 1
                ));
            }
            Ok(GeoJson::LineString(points))
        }
        "Polygon" => {
            let Value::Array(rings) = coords else {
                return Err("Polygon coordinates must be an array of rings".into());
            };
            if rings.is_empty() {
                return Err("a Polygon needs an exterior ring".into());
            }
            let mut out = Vec::new();
            for (i, r) in rings.iter().enumerate() {
                let path = format!("coordinates[{i}]");
                let ring = positions(r, &path, &mut count)?;
                if ring.len() < 4 {
                    return Err(format!("{path}: a ring needs at least four positions"));
                }
                if ring.first() != ring.last() {
                    return Err(format!(
                        "{path}: a ring must be closed (last position equal to the first)"
                    ));
                }
                out.push(ring);
            }
            Ok(GeoJson::Polygon(out))
        }
        other => Ok(GeoJson::Other(other.to_owned())),
    }
}

fn positions(
    v: &serde_json::Value,
    path: &str,
    count: &mut usize,
) -> Result<Vec<Position>, String> {
    let serde_json::Value::Array(items) = v else {
        return Err(format!("{path} must be an array of positions"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, p)| position(p, &format!("{path}[{i}]"), count))
        .collect()
}

fn position(v: &serde_json::Value, path: &str, count: &mut usize) -> Result<Position, String> {
    *count += 1;
    if *count > POSITIONS_MAX {
        return Err(format!("more than {POSITIONS_MAX} positions"));
    }
    let bad = || format!("{path} must be a position [longitude, latitude] in degrees");
    let serde_json::Value::Array(xy) = v else {
        return Err(bad());
    };
    if xy.len() != 2 {
        return Err(format!(
            "{path} has {} numbers; a position is [longitude, latitude] (altitude is not accepted)",
            xy.len()
        ));
    }
    let lon = xy[0].as_f64().ok_or_else(bad)?;
    let lat = xy[1].as_f64().ok_or_else(bad)?;
    let lon_e7 = to_e7(lon, 180.0).ok_or_else(|| {
        format!("{path}: longitude {lon} must be within [-180, 180] with at most 7 decimals")
    })?;
    let lat_e7 = to_e7(lat, 90.0).ok_or_else(|| {
        format!("{path}: latitude {lat} must be within [-90, 90] with at most 7 decimals")
    })?;
    Position::from_e7(lat_e7, lon_e7).ok_or_else(bad)
}

/// Degrees to 1e-7 degree units, refusing values beyond `limit` or finer than 1e-7 (about 1 cm),
/// which the fixed-point canonical form could not carry exactly.
fn to_e7(deg: f64, limit: f64) -> Option<i32> {
    if !deg.is_finite() || deg.abs() > limit {
        return None;
    }
    let scaled = deg * 1e7;
    let rounded = scaled.round();
    // Decimal text with ≤ 7 decimals lands within a few ulps of an integer after scaling.
    if (scaled - rounded).abs() > 1e-4 {
        return None;
    }
    Some(rounded as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e7() {
        assert_eq!(to_e7(38.66, 180.0), Some(386_600_000));
        assert_eq!(to_e7(-35.1234567, 180.0), Some(-351_234_567));
        assert_eq!(to_e7(35.12345678, 180.0), None);
        assert_eq!(to_e7(f64::NAN, 180.0), None);
        assert_eq!(to_e7(90.5, 90.0), None);
    }
}
