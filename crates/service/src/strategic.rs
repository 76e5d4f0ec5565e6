//! The strategic check: a new notification against every other party's active ones, by the
//! airspace crate's exact volume test, with the agreement's minima as buffers.

use deconflict_airspace as airspace;

use crate::wire::{AreaIn, NotificationIn, NotificationStored};

fn volume(n: &NotificationIn) -> Result<airspace::Volume, (String, String)> {
    let limits = airspace::Limits::default();
    let bad = |field: &str, e: airspace::Rule| (field.to_string(), e.to_string());
    let footprint = match &n.area {
        AreaIn::Polygon { points } => {
            let ring = points
                .iter()
                .map(|p| airspace::LonLat::new(p.lon_deg, p.lat_deg))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad("notification.area.points", e))?;
            airspace::Footprint::Polygon(
                airspace::Polygon::new(ring, &limits).map_err(|e| bad("notification.area", e))?,
            )
        }
        AreaIn::Circle { centre, radius_m } => {
            let c = airspace::LonLat::new(centre.lon_deg, centre.lat_deg)
                .map_err(|e| bad("notification.area.centre", e))?;
            airspace::Footprint::Circle(
                airspace::Circle::new(c, *radius_m, &limits)
                    .map_err(|e| bad("notification.area.radius_m", e))?,
            )
        }
    };
    let band = airspace::AltitudeBand::new(n.alt_min_m, n.alt_max_m, &limits)
        .map_err(|e| bad("notification.alt_max_m", e))?;
    let window = airspace::TimeWindow::new(n.start_unix_ms, n.end_unix_ms, &limits)
        .map_err(|e| bad("notification.end_unix_ms", e))?;
    Ok(airspace::Volume {
        footprint,
        band,
        window,
    })
}

fn notification(n: &NotificationStored) -> Result<airspace::Notification, (String, String)> {
    let bad = |e: airspace::Rule| ("id".to_string(), e.to_string());
    airspace::Notification::new(
        airspace::NotificationId::new(n.id.clone()).map_err(bad)?,
        airspace::PartyId::new(n.party.clone()).map_err(bad)?,
        vec![volume(&n.notification)?],
    )
    .map_err(bad)
}

fn points(n: &NotificationIn) -> Vec<airspace::LonLat> {
    match &n.area {
        AreaIn::Polygon { points } => points
            .iter()
            .filter_map(|p| airspace::LonLat::new(p.lon_deg, p.lat_deg).ok())
            .collect(),
        AreaIn::Circle { centre, .. } => airspace::LonLat::new(centre.lon_deg, centre.lat_deg)
            .ok()
            .into_iter()
            .collect(),
    }
}

/// The notifications in `others` that overlap `new` within the buffers. An error names the
/// field of `new` that the airspace crate refused.
pub fn overlapping(
    new: &NotificationStored,
    others: &[NotificationStored],
    h_sep_m: f64,
    v_sep_m: f64,
) -> Result<Vec<NotificationStored>, (String, String)> {
    let n = notification(new)?;
    let buffers = airspace::Buffers::new(h_sep_m, v_sep_m)
        .map_err(|e| ("agreement.separation".to_string(), e.to_string()))?;
    let mut found = Vec::new();
    for o in others {
        // Stored notifications were validated when accepted; one that no longer converts is
        // skipped rather than blocking every new notification.
        let Ok(other) = notification(o) else { continue };
        let mut pts = points(&new.notification);
        pts.extend(points(&o.notification));
        // One frame per pair, centred between the two, keeps the planar error small.
        let Some(frame) = airspace::Frame::around(pts.iter()) else {
            continue;
        };
        match airspace::brute_force(&frame, std::slice::from_ref(&other), &n, buffers) {
            Ok(ids) if !ids.is_empty() => found.push(o.clone()),
            // Too far apart for one frame: they cannot overlap.
            _ => {}
        }
    }
    Ok(found)
}
