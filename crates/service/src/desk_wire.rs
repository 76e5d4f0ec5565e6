//! Between the service and the desk core ([`deconflict_desk`]): the core's setup from the
//! agreement, and the service's wire types in and out of the core's own.

use std::collections::BTreeSet;

use deconflict_airspace as airspace;
use deconflict_desk as desk;

use crate::terms::Terms;
use deconflict_client::wire::{REPORT_FUTURE_S_MAX, TrackReportIn};

/// The alerter the agreement names (a DAIDALUS configuration), the one it writes out as
/// `.conf` text, or one level from its minima.
pub fn alerter(terms: &Terms) -> Result<desk::Alerter, String> {
    let s = terms.agreement.separation();
    match (s.alerter(), s.alerter_conf()) {
        (Some(name), _) => {
            desk::Alerter::named(name).map_err(|e| format!("separation.alerter: {e}"))
        }
        (None, Some(text)) => desk::Alerter::from_conf(ALERTER_CONF_NAME, text)
            .map_err(|e| format!("separation.alerter_conf: {e}")),
        (None, None) => desk::Alerter::from_minima(terms.h_sep_m, terms.v_sep_m, terms.lookahead_s)
            .map_err(|e| format!("separation: {e}")),
    }
}

/// The name an alerter written into the agreement goes by (in views and errors).
pub const ALERTER_CONF_NAME: &str = "agreement alerter_conf";

/// The core's setup from the agreement: its parties, minima, alerter, lines and zones.
pub fn setup(terms: &Terms, alerter: desk::Alerter) -> Result<desk::Setup, String> {
    let a = &terms.agreement;
    let lonlat = |p: &deconflict_agreement::model::Position| {
        airspace::LonLat::new(p.lon_deg(), p.lat_deg()).map_err(|e| e.to_string())
    };
    let mut lines = Vec::new();
    for l in a.dividing_lines() {
        lines.push(desk::LineSpec {
            id: l.id().to_string(),
            points: l
                .points()
                .iter()
                .map(lonlat)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("dividing line {}: {e}", l.id()))?,
            left: l.left_party().map(|p| p.as_str().to_string()),
            right: l.right_party().map(|p| p.as_str().to_string()),
        });
    }
    let limits = airspace::Limits::default();
    let mut zones = Vec::new();
    for z in a.zones() {
        let bad = |e: airspace::Rule| format!("zone {}: {e}", z.id());
        let footprint = match z.area() {
            deconflict_agreement::model::Area::Circle { center, radius_m } => {
                airspace::Footprint::Circle(
                    airspace::Circle::new(
                        lonlat(center).map_err(|e| format!("zone {}: {e}", z.id()))?,
                        f64::from(*radius_m),
                        &limits,
                    )
                    .map_err(bad)?,
                )
            }
            // The exterior ring: a zone with holes is treated as closed over them too.
            deconflict_agreement::model::Area::Polygon { rings } => {
                let ring = rings
                    .first()
                    .ok_or_else(|| format!("zone {}: no ring", z.id()))?
                    .iter()
                    .map(lonlat)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("zone {}: {e}", z.id()))?;
                airspace::Footprint::Polygon(airspace::Polygon::new(ring, &limits).map_err(bad)?)
            }
        };
        let band = airspace::AltitudeBand::new(
            z.floor_m().map_or(limits.altitude_m_min, f64::from),
            z.ceiling_m().map_or(limits.altitude_m_max, f64::from),
            &limits,
        )
        .map_err(bad)?;
        let closed: BTreeSet<airspace::PartyId> = z
            .excluded_parties()
            .iter()
            .map(|p| airspace::PartyId::new(p.as_str()))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        zones.push(airspace::Zone::new(
            z.id(),
            footprint,
            band,
            closed,
            BTreeSet::new(),
        ));
    }
    Ok(desk::Setup {
        parties: terms.parties.iter().map(|p| p.id.clone()).collect(),
        h_sep_m: terms.h_sep_m,
        v_sep_m: terms.v_sep_m,
        alerter,
        lines,
        zones,
        report_future_s_max: REPORT_FUTURE_S_MAX as f64,
        exact: false,
    })
}

/// A pushed report as the core takes it.
pub fn report(r: &TrackReportIn) -> desk::Report {
    desk::Report {
        track_id: r.track_id.clone(),
        time_ms: r.time_unix_ms,
        lat_deg: r.lat_deg,
        lon_deg: r.lon_deg,
        alt_m: r.alt_m,
        track_deg: r.track_deg,
        ground_speed_mps: r.ground_speed_mps,
        vertical_rate_mps: r.vertical_rate_mps,
        callsign: r.callsign.clone(),
        aircraft_type: r.aircraft_type.clone(),
        icao24: r.icao24.clone(),
        squawk: r.squawk.clone(),
    }
}

/// The core's report in the service's wire form.
pub fn report_in(r: &desk::Report) -> TrackReportIn {
    TrackReportIn {
        track_id: r.track_id.clone(),
        time_unix_ms: r.time_ms,
        lat_deg: r.lat_deg,
        lon_deg: r.lon_deg,
        alt_m: r.alt_m,
        track_deg: r.track_deg,
        ground_speed_mps: r.ground_speed_mps,
        vertical_rate_mps: r.vertical_rate_mps,
        callsign: r.callsign.clone(),
        aircraft_type: r.aircraft_type.clone(),
        icao24: r.icao24.clone(),
        squawk: r.squawk.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(edit: impl Fn(&str) -> String) -> Terms {
        let text = edit(deconflict_agreement::TEMPLATE_TOML);
        let agreement = deconflict_agreement::parse_toml(&text).unwrap();
        Terms::from_agreement(&agreement).unwrap()
    }

    #[test]
    fn the_desk_runs_the_alerter_the_agreement_names_or_writes_out() {
        let named = alerter(&terms(str::to_string)).unwrap();
        assert_eq!(named.name(), "DO_365B_no_SUM");
        assert_eq!(named.config().alerters().len(), 3);

        // Written out: one warning level on a 4 km / 200 m cylinder, 60 s ahead.
        let conf = "lookahead_time = 60 [s]\nalerters = mine\nmine_alert_1_region = NEAR\n\
                    mine_alert_1_alerting_time = 60 [s]\nmine_alert_1_detector = det_1\n\
                    mine_det_1_D = 4000 [m]\nmine_det_1_H = 200 [m]\n\
                    mine_load_core_detection_det_1 = gov.nasa.larcfm.ACCoRD.CDCylinder\n";
        let written = alerter(&terms(|t| {
            t.replacen(
                "alerter = \"DO_365B_no_SUM\"",
                &format!("alerter_conf = \"\"\"\n{conf}\"\"\""),
                1,
            )
        }))
        .unwrap();
        assert_eq!(written.name(), ALERTER_CONF_NAME);
        assert_eq!(written.config().alerters().len(), 1);
        assert_eq!(
            desk::Level::of(written.config(), 1, 1),
            desk::Level::Warning
        );
        let (lookahead_s, h_m, v_m) = written.reach().unwrap();
        assert_eq!(lookahead_s, 60.0);
        assert_eq!(h_m, 4000.0 + desk::alerter::BROAD_MARGIN_H_M);
        assert_eq!(v_m, 200.0 + desk::alerter::BROAD_MARGIN_V_M);

        // Neither: one level from the minima.
        let minima = alerter(&terms(|t| {
            t.replacen("alerter = \"DO_365B_no_SUM\"", "", 1)
        }))
        .unwrap();
        assert_eq!(minima.name(), "agreement minima");
    }
}
