//! What a filing finds in the store: the tracks with reports in the window, the pairs of
//! different parties that came near, and the alerts and line messages of the window.

use super::*;

/// The fields of a report the closest approach takes, from a stored report or from the
/// evidence fields a bundle carries ([`crate::reports::ReportCore`]).
#[derive(serde::Deserialize)]
struct Positioned {
    time_unix_ms: i64,
    lat_deg: f64,
    lon_deg: f64,
    alt_m: f64,
}

pub(crate) fn report_of(body: &str) -> Option<incident::Report> {
    let r: Positioned = serde_json::from_str(body).ok()?;
    Some(incident::Report {
        time_ms: r.time_unix_ms,
        lat_deg: r.lat_deg,
        lon_deg: r.lon_deg,
        alt_m: r.alt_m,
    })
}

pub(crate) type Tracks = BTreeMap<(String, String), Vec<incident::Report>>;

/// The reports of one track as the closest approach takes them: in time order, one per
/// instant (the first accepted of equal times).
pub(crate) fn track_reports<'a>(
    rows: impl Iterator<Item = &'a LoggedReport>,
) -> Vec<incident::Report> {
    let mut rows: Vec<&LoggedReport> = rows.collect();
    rows.sort_by_key(|r| (r.time_ms, r.seq));
    let mut out: Vec<incident::Report> = rows.iter().filter_map(|r| report_of(&r.body)).collect();
    out.dedup_by_key(|r| r.time_ms);
    out
}

/// The tracks with logged reports in the window, per (party, track), and the last report
/// number each party's reports there carry.
pub(crate) fn tracks_in(
    store: &mut dyn deconflict_store::Store,
    f: &FilingIn,
    caller: &str,
) -> Result<(Tracks, BTreeMap<String, u64>), ApiError> {
    let store_err = |e: deconflict_store::StoreError| ApiError::internal(format!("store: {e}"));
    // The tracks with a report in the window (and perhaps a few whose latest is after it).
    let candidates: Vec<(String, String)> = store
        .tracks_between(f.from_unix_ms, f.to_unix_ms)
        .map_err(store_err)?
        .into_iter()
        .filter(|(party, track)| {
            if *party == caller {
                f.own_track.as_ref().is_none_or(|t| t == track)
            } else {
                f.other_party.as_ref().is_none_or(|p| p == party)
            }
        })
        .collect();
    if candidates.len() > TRACKS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_tracks",
            format!(
                "{} tracks reported since the window began, more than {TRACKS_MAX}: name own_track and other_party",
                candidates.len()
            ),
        ));
    }
    let mut through: BTreeMap<String, u64> = BTreeMap::new();
    let mut tracks = Tracks::new();
    // One read for every candidate: the runs overlapping the window are unpacked once.
    let found = store
        .reports_of_tracks_between(
            &candidates,
            f.from_unix_ms,
            f.to_unix_ms,
            FILING_REPORTS_MAX,
        )
        .map_err(store_err)?;
    if found.values().map(Vec::len).sum::<usize>() > FILING_REPORTS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_reports",
            format!("more than {FILING_REPORTS_MAX} reports in the window: shorten it"),
        ));
    }
    for ((party, track), rows) in found {
        if let Some(last) = rows.iter().map(|r| r.seq).max() {
            let t = through.entry(party.clone()).or_default();
            *t = (*t).max(last);
        }
        let reports = track_reports(rows.iter());
        if !reports.is_empty() {
            tracks.insert((party, track), reports);
        }
    }
    Ok((tracks, through))
}

/// The pairs of different parties that came near in the window (see the module's text).
pub(crate) fn pairs_of(
    tracks: &Tracks,
    f: &FilingIn,
    caller: &str,
    h_m: f64,
    v_m: f64,
) -> Vec<PairView> {
    let keys: Vec<&(String, String)> = tracks.keys().collect();
    let mut found: Vec<(f64, PairView)> = Vec::new();
    let mut own_closest: Option<(f64, PairView)> = None;
    for (x, a) in keys.iter().enumerate() {
        for b in &keys[x + 1..] {
            if a.0 == b.0 || (a.0 != caller && b.0 != caller) {
                continue;
            }
            let Ok(Some(c)) =
                incident::closest_approach(&tracks[*a], &tracks[*b], f.from_unix_ms, f.to_unix_ms)
            else {
                continue;
            };
            let pair = PairView {
                a_party: a.0.clone(),
                a_track: a.1.clone(),
                b_party: b.0.clone(),
                b_track: b.1.clone(),
                closest_approach: Some(approach_view(&c)),
            };
            if c.horizontal_m <= NEAR_FACTOR * h_m && c.vertical_m <= NEAR_FACTOR * v_m {
                found.push((c.horizontal_m, pair));
            } else if f.own_track.is_some()
                && own_closest
                    .as_ref()
                    .is_none_or(|(d, _)| c.horizontal_m < *d)
            {
                own_closest = Some((c.horizontal_m, pair));
            }
        }
    }
    if found.is_empty()
        && let Some(p) = own_closest
    {
        found.push(p);
    }
    found.sort_by(|x, y| x.0.total_cmp(&y.0));
    found.truncate(PAIRS_MAX);
    found.into_iter().map(|(_, p)| p).collect()
}
