//! A notification as the airspace crate holds it: the desk core's strategic index checks it
//! against every other party's active notification, with the agreement's minima as buffers.

use deconflict_airspace as airspace;

use deconflict_client::wire::{AreaIn, NotificationIn, NotificationStored};

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

/// The airspace crate's notification for a stored one; an error names the refused field.
pub fn notification(n: &NotificationStored) -> Result<airspace::Notification, (String, String)> {
    let bad = |e: airspace::Rule| ("id".to_string(), e.to_string());
    airspace::Notification::new(
        airspace::NotificationId::new(n.id.clone()).map_err(bad)?,
        airspace::PartyId::new(n.party.clone()).map_err(bad)?,
        vec![volume(&n.notification)?],
    )
    .map_err(bad)
}
