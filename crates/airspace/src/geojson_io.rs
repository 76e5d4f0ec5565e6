//! GeoJSON (RFC 7946) in and out, so that analysts can open notifications, lines and zones in
//! QGIS or geojson.io.
//!
//! A notification volume is a Feature whose geometry is a Polygon (one ring; holes are refused),
//! or a Point with a `radius_m` property for a circle, and whose properties are `id`, `party`,
//! `alt_lower_m`, `alt_upper_m` (metres above mean sea level) and `start`, `end` (RFC 3339; any
//! offset is accepted and converted to UTC; at most millisecond precision). Features that share
//! an `id` are the volumes of one notification, in document order, and must share the `party`.
//!
//! Geography: a Feature with `kind` `"dividing_line"` (LineString, `closed_to`: party list) or
//! `"zone"` (Polygon, or Point + `radius_m`; `alt_lower_m`, `alt_upper_m`, `closed_to`,
//! `notification_required`), each with an `id`.
//!
//! These functions take bytes and a name for the source (used in messages); they never open
//! files.

use std::collections::BTreeSet;

use geojson::{Feature, GeoJson, JsonObject, JsonValue};
use time::OffsetDateTime;

use crate::instant::{Round, parse_rfc3339_ms};
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Rule};
use crate::geography::{DividingLine, Geography, Zone};
use crate::volume::{
    AltitudeBand, Circle, Footprint, Limits, LonLat, Notification, NotificationId, PartyId,
    Polygon, TimeWindow, Volume,
};

/// Largest document accepted, bytes.
pub const DOCUMENT_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Most features in one document.
pub const FEATURES_MAX: usize = 1_000_000;

fn format_err(place: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Format {
        place: place.into(),
        message: message.into(),
    }
}

/// Parses the document into features, naming line and column on a JSON syntax error.
fn features(bytes: &[u8], source: &str) -> Result<Vec<Feature>, Error> {
    if bytes.len() > DOCUMENT_BYTES_MAX {
        return Err(format_err(
            source,
            format!(
                "document is {} bytes; at most {DOCUMENT_BYTES_MAX} (DOCUMENT_BYTES_MAX) are read",
                bytes.len()
            ),
        ));
    }
    let value: JsonValue = serde_json::from_slice(bytes).map_err(|e| {
        format_err(
            format!("{source}:{}:{}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })?;
    let gj = GeoJson::from_json_value(value)
        .map_err(|e| format_err(source, format!("not GeoJSON: {e}")))?;
    let features = match gj {
        GeoJson::FeatureCollection(fc) => fc.features,
        GeoJson::Feature(f) => vec![f],
        GeoJson::Geometry(_) => {
            return Err(format_err(
                source,
                "a bare Geometry has no properties; expected a Feature or FeatureCollection",
            ));
        }
    };
    if features.len() > FEATURES_MAX {
        return Err(format_err(
            source,
            format!(
                "{} features; at most {FEATURES_MAX} (FEATURES_MAX) are read",
                features.len()
            ),
        ));
    }
    Ok(features)
}

struct Props<'a> {
    place: String,
    map: Option<&'a JsonObject>,
}

impl<'a> Props<'a> {
    fn get(&self, key: &str) -> Result<&'a JsonValue, Error> {
        self.map
            .and_then(|m| m.get(key))
            .ok_or_else(|| format_err(&self.place, format!("property {key:?} is missing")))
    }
    fn string(&self, key: &str) -> Result<String, Error> {
        match self.get(key)? {
            JsonValue::String(s) => Ok(s.clone()),
            JsonValue::Number(n) if key == "id" => Ok(n.to_string()),
            other => Err(format_err(
                &self.place,
                format!("property {key:?} must be a string, found {other}"),
            )),
        }
    }
    fn number(&self, key: &str) -> Result<f64, Error> {
        self.get(key)?
            .as_f64()
            .ok_or_else(|| format_err(&self.place, format!("property {key:?} must be a number")))
    }
    fn instant_ms(&self, key: &str, round: Round) -> Result<i64, Error> {
        let s = self.string(key)?;
        parse_rfc3339_ms(&s, round)
            .map_err(|e| format_err(&self.place, format!("property {key:?}: {e}")))
    }
    fn parties(&self, key: &str) -> Result<BTreeSet<PartyId>, Error> {
        let Some(v) = self.map.and_then(|m| m.get(key)) else {
            return Ok(BTreeSet::new());
        };
        let JsonValue::Array(items) = v else {
            return Err(format_err(
                &self.place,
                format!("property {key:?} must be an array of party ids"),
            ));
        };
        items
            .iter()
            .map(|i| {
                i.as_str()
                    .ok_or_else(|| {
                        format_err(
                            &self.place,
                            format!("property {key:?}: a party id is not a string"),
                        )
                    })
                    .and_then(|s| {
                        PartyId::new(s).map_err(|r| format_err(&self.place, format!("{key}: {r}")))
                    })
            })
            .collect()
    }
}

fn position(place: &str, p: &[f64]) -> Result<LonLat, Error> {
    if p.len() < 2 || p.len() > 3 {
        return Err(format_err(
            place,
            format!("a position has {} numbers; expected 2 or 3", p.len()),
        ));
    }
    LonLat::new(p[0], p[1]).map_err(|r| format_err(place, r.to_string()))
}

/// The footprint of a feature: Polygon, or Point with `radius_m`.
fn footprint(
    f: &Feature,
    props: &Props,
    limits: &Limits,
    volume: &str,
) -> Result<Footprint, Error> {
    let rule = |rule: Rule| Error::InvalidVolume {
        volume: volume.to_owned(),
        rule,
    };
    let Some(g) = &f.geometry else {
        return Err(format_err(&props.place, "geometry is missing"));
    };
    match &g.value {
        geojson::Value::Polygon(rings) => {
            if rings.len() > 1 {
                return Err(rule(Rule::HolesNotSupported));
            }
            let Some(ring) = rings.first() else {
                return Err(rule(Rule::TooFewVertices { count: 0 }));
            };
            if ring.len() > limits.vertices_max + 1 {
                return Err(rule(Rule::TooManyVertices {
                    count: ring.len(),
                    max: limits.vertices_max,
                }));
            }
            if ring.first() != ring.last() {
                return Err(format_err(
                    volume,
                    "polygon ring is not closed (RFC 7946 §3.1.6: first and last positions must be equal)",
                ));
            }
            let ring = ring
                .iter()
                .map(|p| position(volume, p))
                .collect::<Result<Vec<_>, _>>()?;
            Polygon::new(ring, limits)
                .map(Footprint::Polygon)
                .map_err(rule)
        }
        geojson::Value::Point(p) => {
            let centre = position(volume, p)?;
            let radius_m = props.number("radius_m")?;
            Circle::new(centre, radius_m, limits)
                .map(Footprint::Circle)
                .map_err(rule)
        }
        other => Err(format_err(
            &props.place,
            format!(
                "geometry is a {}; expected Polygon, or Point with radius_m",
                other.type_name()
            ),
        )),
    }
}

/// Reads notifications from a GeoJSON document. All or nothing: the first invalid feature
/// fails the whole document, with a message naming it.
pub fn parse_notifications(
    bytes: &[u8],
    source: &str,
    limits: &Limits,
) -> Result<Vec<Notification>, Error> {
    let features = features(bytes, source)?;
    // Group by id, keeping first-appearance order.
    let mut order: Vec<(NotificationId, PartyId, Vec<Volume>)> = Vec::new();
    let mut at: std::collections::HashMap<NotificationId, usize> = Default::default();
    for (i, f) in features.iter().enumerate() {
        let mut props = Props {
            place: format!("{source}: feature {}", i + 1),
            map: f.properties.as_ref(),
        };
        let id_s = props.string("id")?;
        props.place = format!("{source}: feature {} (id {id_s:?})", i + 1);
        let id = NotificationId::new(id_s.clone())
            .map_err(|r| format_err(&props.place, format!("id: {r}")))?;
        let party = PartyId::new(props.string("party")?)
            .map_err(|r| format_err(&props.place, format!("party: {r}")))?;
        let k = match at.get(&id) {
            Some(&k) => {
                if order[k].1 != party {
                    return Err(format_err(
                        &props.place,
                        format!(
                            "party {:?} differs from party {:?} of the notification's earlier volumes",
                            party.as_str(),
                            order[k].1.as_str()
                        ),
                    ));
                }
                k
            }
            None => {
                at.insert(id.clone(), order.len());
                order.push((id.clone(), party, Vec::new()));
                order.len() - 1
            }
        };
        let volume = format!(
            "{source}: feature {} (notification {id_s:?} volume {})",
            i + 1,
            order[k].2.len() + 1
        );
        let rule = |rule: Rule| Error::InvalidVolume {
            volume: volume.clone(),
            rule,
        };
        let fp = footprint(f, &props, limits, &volume)?;
        let band = AltitudeBand::new(
            props.number("alt_lower_m")?,
            props.number("alt_upper_m")?,
            limits,
        )
        .map_err(rule)?;
        let window = TimeWindow::new(
            props.instant_ms("start", Round::Down)?,
            props.instant_ms("end", Round::Up)?,
            limits,
        )
        .map_err(rule)?;
        order[k].2.push(Volume {
            footprint: fp,
            band,
            window,
        });
    }
    order
        .into_iter()
        .map(|(id, party, volumes)| {
            let place = format!("{source}: notification {:?}", id.as_str());
            Notification::new(id, party, volumes).map_err(|r| format_err(place, r.to_string()))
        })
        .collect()
}

fn rfc3339(t_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| t_ms.to_string())
}

fn geometry_of(fp: &Footprint, props: &mut JsonObject) -> geojson::Geometry {
    match fp {
        Footprint::Polygon(p) => {
            let mut ring: Vec<Vec<f64>> = p
                .ring()
                .iter()
                .map(|v| vec![v.lon_deg(), v.lat_deg()])
                .collect();
            if let Some(first) = ring.first().cloned() {
                ring.push(first);
            }
            geojson::Geometry::new(geojson::Value::Polygon(vec![ring]))
        }
        Footprint::Circle(c) => {
            props.insert("radius_m".into(), c.radius_m().into());
            geojson::Geometry::new(geojson::Value::Point(vec![
                c.centre().lon_deg(),
                c.centre().lat_deg(),
            ]))
        }
    }
}

fn feature(geometry: geojson::Geometry, properties: JsonObject) -> Feature {
    Feature {
        bbox: None,
        geometry: Some(geometry),
        id: None,
        properties: Some(properties),
        foreign_members: None,
    }
}

/// Writes notifications as a FeatureCollection, one Feature per volume.
pub fn notifications_to_geojson<'a>(
    notifications: impl IntoIterator<Item = &'a Notification>,
) -> String {
    let mut out = Vec::new();
    for n in notifications {
        for v in n.volumes() {
            let mut props = JsonObject::new();
            props.insert("id".into(), n.id().as_str().into());
            props.insert("party".into(), n.party().as_str().into());
            props.insert("alt_lower_m".into(), v.band.lower_m().into());
            props.insert("alt_upper_m".into(), v.band.upper_m().into());
            props.insert("start".into(), rfc3339(v.window.start_ms()).into());
            props.insert("end".into(), rfc3339(v.window.end_ms()).into());
            let g = geometry_of(&v.footprint, &mut props);
            out.push(feature(g, props));
        }
    }
    GeoJson::FeatureCollection(geojson::FeatureCollection {
        bbox: None,
        features: out,
        foreign_members: None,
    })
    .to_string()
}

/// Reads one version of the agreed geography.
pub fn parse_geography(bytes: &[u8], source: &str, limits: &Limits) -> Result<Geography, Error> {
    let mut lines = Vec::new();
    let mut zones = Vec::new();
    for (i, f) in features(bytes, source)?.iter().enumerate() {
        let mut props = Props {
            place: format!("{source}: feature {}", i + 1),
            map: f.properties.as_ref(),
        };
        let id = props.string("id")?;
        props.place = format!("{source}: feature {} (id {id:?})", i + 1);
        let kind = props.string("kind")?;
        match kind.as_str() {
            "dividing_line" => {
                let Some(geojson::Value::LineString(pts)) = f.geometry.as_ref().map(|g| &g.value)
                else {
                    return Err(format_err(
                        &props.place,
                        "a dividing_line needs a LineString geometry",
                    ));
                };
                let pts = pts
                    .iter()
                    .map(|p| position(&props.place, p))
                    .collect::<Result<Vec<_>, _>>()?;
                let line = DividingLine::new(id, pts, props.parties("closed_to")?)
                    .map_err(|r| format_err(&props.place, r.to_string()))?;
                lines.push(line);
            }
            "zone" => {
                let volume = props.place.clone();
                let fp = footprint(f, &props, limits, &volume)?;
                let band = AltitudeBand::new(
                    props.number("alt_lower_m")?,
                    props.number("alt_upper_m")?,
                    limits,
                )
                .map_err(|r| format_err(&props.place, r.to_string()))?;
                zones.push(Zone::new(
                    id,
                    fp,
                    band,
                    props.parties("closed_to")?,
                    props.parties("notification_required")?,
                ));
            }
            other => {
                return Err(format_err(
                    &props.place,
                    format!("kind {other:?} is neither \"dividing_line\" nor \"zone\""),
                ));
            }
        }
    }
    Geography::new(lines, zones).map_err(|r| format_err(source, r.to_string()))
}

fn party_list(set: &BTreeSet<PartyId>) -> JsonValue {
    JsonValue::Array(set.iter().map(|p| p.as_str().into()).collect())
}

/// Writes one version of the agreed geography as a FeatureCollection.
pub fn geography_to_geojson(g: &Geography) -> String {
    let mut out = Vec::new();
    for l in g.lines() {
        let mut props = JsonObject::new();
        props.insert("id".into(), l.id().into());
        props.insert("kind".into(), "dividing_line".into());
        props.insert("closed_to".into(), party_list(l.closed_to()));
        let coords = l
            .points()
            .iter()
            .map(|p| vec![p.lon_deg(), p.lat_deg()])
            .collect();
        out.push(feature(
            geojson::Geometry::new(geojson::Value::LineString(coords)),
            props,
        ));
    }
    for z in g.zones() {
        let mut props = JsonObject::new();
        props.insert("id".into(), z.id().into());
        props.insert("kind".into(), "zone".into());
        props.insert("alt_lower_m".into(), z.band().lower_m().into());
        props.insert("alt_upper_m".into(), z.band().upper_m().into());
        props.insert("closed_to".into(), party_list(z.closed_to()));
        props.insert(
            "notification_required".into(),
            party_list(z.notification_required()),
        );
        let geom = geometry_of(z.footprint(), &mut props);
        out.push(feature(geom, props));
    }
    GeoJson::FeatureCollection(geojson::FeatureCollection {
        bbox: None,
        features: out,
        foreign_members: None,
    })
    .to_string()
}

/// One conflict as the JSON line `{"new":ID,"existing":ID}` (ids as JSON strings).
pub fn conflict_json_line(new: &NotificationId, existing: &NotificationId) -> String {
    // Written by hand to keep the key order `new`, `existing`; the ids are escaped by serde_json.
    let quote = |s: &str| JsonValue::from(s).to_string();
    format!(
        "{{\"new\":{},\"existing\":{}}}",
        quote(new.as_str()),
        quote(existing.as_str())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(features: &str) -> String {
        format!(r#"{{"type":"FeatureCollection","features":[{features}]}}"#)
    }

    const SQUARE: &str = r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[8,46],[8.1,46],[8.1,46.1],[8,46.1],[8,46]]]},
        "properties":{"id":"N-1","party":"blue","alt_lower_m":0,"alt_upper_m":3000,"start":"2026-11-25T10:00:00Z","end":"2026-11-25T12:00:00Z"}}"#;

    fn parse(s: &str) -> Result<Vec<Notification>, Error> {
        parse_notifications(s.as_bytes(), "in.geojson", &Limits::default())
    }

    fn err(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn a_polygon_feature_is_read() {
        let n = parse(&doc(SQUARE)).unwrap();
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].id().as_str(), "N-1");
        assert_eq!(n[0].party().as_str(), "blue");
        let v = &n[0].volumes()[0];
        assert_eq!(v.band.lower_m(), 0.0);
        assert_eq!(v.band.upper_m(), 3000.0);
        assert_eq!(v.window.start_ms(), 1_795_600_800_000);
        assert_eq!(v.window.end_ms() - v.window.start_ms(), 7_200_000);
    }

    #[test]
    fn round_trip_is_exact() {
        let circle = r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[8.5,46.5]},
            "properties":{"id":"N-2","party":"red","radius_m":5000,"alt_lower_m":100.5,"alt_upper_m":900,"start":"2026-11-25T10:00:00.125Z","end":"2026-11-25T12:00:00+01:00"}}"#;
        let n = parse(&doc(&format!("{SQUARE},{circle}"))).unwrap();
        let again = parse(&notifications_to_geojson(&n)).unwrap();
        assert_eq!(n, again);
    }

    #[test]
    fn features_sharing_an_id_are_one_notification() {
        let second = SQUARE.replace(
            "[[[8,46],[8.1,46],[8.1,46.1],[8,46.1],[8,46]]]",
            "[[[9,46],[9.1,46],[9.1,46.1],[9,46]]]",
        );
        let n = parse(&doc(&format!("{SQUARE},{second}"))).unwrap();
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].volumes().len(), 2);
        let other_party = second.replace("\"blue\"", "\"red\"");
        let e = err(&doc(&format!("{SQUARE},{other_party}")));
        assert!(e.contains("feature 2") && e.contains("differs"), "{e}");
    }

    #[test]
    fn errors_name_the_feature_and_the_rule() {
        let e = err(&doc(
            &SQUARE.replace("\"alt_upper_m\":3000", "\"alt_upper_m\":0")
        ));
        assert!(
            e.contains("feature 1 (notification \"N-1\" volume 1)"),
            "{e}"
        );
        assert!(
            e.contains("alt_lower_m 0 is not below alt_upper_m 0"),
            "{e}"
        );

        let e = err(&doc(&SQUARE.replace("12:00:00Z", "10:00:00Z")));
        assert!(e.contains("time window is empty"), "{e}");

        let e = err(&doc(&SQUARE.replace("\"party\":\"blue\",", "")));
        assert!(
            e.contains("feature 1 (id \"N-1\")") && e.contains("\"party\" is missing"),
            "{e}"
        );

        let e = err(&doc(&SQUARE.replace(
            "[8,46],[8.1,46],[8.1,46.1],[8,46.1],[8,46]",
            "[8,46],[8.1,46.1],[8.1,46],[8,46.1],[8,46]",
        )));
        assert!(e.contains("self-intersecting"), "{e}");

        let e = err(&doc(&SQUARE.replace("[8.1,46.1]", "[8.1,200]")));
        assert!(e.contains("latitude 200"), "{e}");

        let e = err(&doc(&SQUARE.replace(",[8,46]]]", "]]")));
        assert!(e.contains("not closed"), "{e}");

        let e = err(&doc(
            &SQUARE.replace("2026-11-25T12:00:00Z", "2026-12-25T12:00:00Z")
        ));
        assert!(e.contains("duration_s_max"), "{e}");

        let e = err("{\"type\":\n\"FeatureCollection\",,}");
        assert!(e.starts_with("in.geojson:2:"), "{e}");
    }

    #[test]
    fn holes_are_refused_with_a_clear_error() {
        let holed = SQUARE.replace(
            "[[[8,46],[8.1,46],[8.1,46.1],[8,46.1],[8,46]]]",
            "[[[8,46],[8.1,46],[8.1,46.1],[8,46.1],[8,46]],[[8.02,46.02],[8.04,46.02],[8.04,46.04],[8.02,46.02]]]",
        );
        assert!(err(&doc(&holed)).contains("holes are not supported"));
    }

    #[test]
    fn antimeridian_and_poles_are_refused() {
        let wide = SQUARE.replace(
            "[[[8,46],[8.1,46],[8.1,46.1],[8,46.1],[8,46]]]",
            "[[[-179.9,46],[179.9,46],[179.9,46.1],[-179.9,46]]]",
        );
        assert!(err(&doc(&wide)).contains("antimeridian"));
        let polar = SQUARE.replace("[8.1,46.1],[8,46.1]", "[8.1,86],[8,86]");
        assert!(err(&doc(&polar)).contains("beyond ±85°"));
    }

    #[test]
    fn conflict_lines_keep_the_key_order_and_escape_ids() {
        let a = NotificationId::new("N-1").unwrap();
        let b = NotificationId::new("say \"hi\"").unwrap();
        assert_eq!(
            conflict_json_line(&a, &b),
            r#"{"new":"N-1","existing":"say \"hi\""}"#
        );
    }

    #[test]
    fn geography_round_trip_is_exact() {
        let g = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[[8,45.5],[8,48]]},"properties":{"id":"river","kind":"dividing_line","closed_to":["red"]}},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[9,47]},"properties":{"id":"tanf","kind":"zone","radius_m":55000,"alt_lower_m":0,"alt_upper_m":20000,"closed_to":["red"],"notification_required":["blue"]}}]}"#;
        let parsed = parse_geography(g.as_bytes(), "g.geojson", &Limits::default()).unwrap();
        assert_eq!(parsed.lines().len(), 1);
        assert_eq!(parsed.zones().len(), 1);
        let again = parse_geography(
            geography_to_geojson(&parsed).as_bytes(),
            "g2",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(parsed, again);
    }
}
