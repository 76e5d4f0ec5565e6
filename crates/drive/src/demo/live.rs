//! The demo's live desk: one party's receiver feed replayed into its desk tracks, and the checks
//! that the record and the streams hold what the desk produced.

use super::*;

/// The recording one party's receiver feed replays: 4,184 SBS messages heard around Los
/// Angeles (`crates/feeds/testdata`, a test fixture read from the repository, never built into
/// the binary). Its lines carry no times: they are spread over the flight, each slice arriving
/// at the demo's clock as a live feed's bytes would.
pub(super) const RECEIVER_RECORDING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../feeds/testdata/sbs1_msgs_lax.sbs"
);

/// One party's receiver feed, replayed through the path `serve --feed` takes
/// ([`deconflict_service::feed::event_into_desk`]).
pub(super) struct ReceiverReplay {
    ingest: deconflict_service::feed::Ingest,
    bytes: Vec<u8>,
    sent: usize,
    duration_s: u32,
    taken: u64,
    /// Desk tracks the feed fed, and those of them the party also pushed.
    tracks: std::collections::BTreeSet<String>,
    fused: std::collections::BTreeSet<String>,
}

impl ReceiverReplay {
    /// The first party's feed; `None` when the recording is not beside the sources.
    pub(super) fn open(
        terms: &deconflict_service::terms::Terms,
        duration_s: u32,
    ) -> Option<ReceiverReplay> {
        let party = terms.parties.first()?.id.clone();
        let bytes = std::fs::read(RECEIVER_RECORDING).ok()?;
        let name = "sbs:sbs1_msgs_lax.sbs";
        let stats = Arc::new(deconflict_service::metrics::FeedStats::default());
        let mut ingest = deconflict_service::feed::Ingest::live(
            &party,
            name,
            deconflict_service::feed::FeedFormat::Sbs,
            stats,
        );
        let mut none = Vec::new();
        ingest.event(
            &deconflict_feeds::io::FeedEvent::Connected {
                source: deconflict_feeds::report::SourceId(0),
                peer: "recording".into(),
            },
            0,
            &mut none,
        );
        Some(ReceiverReplay {
            ingest,
            bytes,
            sent: 0,
            duration_s: duration_s.max(1),
            taken: 0,
            tracks: Default::default(),
            fused: Default::default(),
        })
    }

    /// The bytes due by second `t`, as one read of a live connection.
    pub(super) fn step(&mut self, state: &State, t: u32) {
        let due = (self.bytes.len() as u64 * u64::from(t.min(self.duration_s))
            / u64::from(self.duration_s)) as usize;
        if due <= self.sent {
            return;
        }
        let ev = deconflict_feeds::io::FeedEvent::Data {
            source: deconflict_feeds::report::SourceId(0),
            bytes: self.bytes[self.sent..due].to_vec(),
            received_unix_s: state.clock.now_s() as f64,
        };
        self.sent = due;
        self.taken += deconflict_service::feed::event_into_desk(state, &mut self.ingest, &ev);
        let source = format!("receiver:{}", self.ingest.name());
        for tr in state.tracks_for(self.ingest.party()) {
            if tr.party == self.ingest.party() && tr.sources.contains(&source) {
                if tr
                    .sources
                    .iter()
                    .any(|s| s == deconflict_desk::desk::SOURCE_PUSH)
                {
                    self.fused.insert(tr.track_id.clone());
                }
                self.tracks.insert(tr.track_id);
            }
        }
    }

    /// The summary's lines.
    pub(super) fn finish(&mut self, state: &State) -> Result<String, DemoError> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut none = Vec::new();
        self.ingest.event(
            &deconflict_feeds::io::FeedEvent::Closed {
                source: deconflict_feeds::report::SourceId(0),
                reason: "end of recording".into(),
            },
            state.clock.now_ms(),
            &mut none,
        );
        let s = self.ingest.stats();
        if self.taken == 0 || self.tracks.is_empty() {
            return Err(DemoError::Check(
                "the receiver feed's records did not become tracks".into(),
            ));
        }
        Ok(format!(
            "Receiver feed: {}'s {} (a recording, replayed at the demo's clock through the path of serve --feed): {} messages, {} rejected, {} observations decoded, {} aircraft states taken by the desk → {} receiver tracks ({} fused with the party's pushes)",
            self.ingest.party(),
            self.ingest.name(),
            s.messages.load(Relaxed),
            s.rejected.load(Relaxed),
            s.decoded.load(Relaxed),
            self.taken,
            self.tracks.len(),
            self.fused.len(),
        ))
    }
}

/// The live desk's part of the summary, from what the streams carried: each party's DO-365
/// levels (and when the designed encounter first reached each), the geography events with
/// every stream that carried them, the nonconformance events.
pub(super) fn live_desk(
    summary: &mut DemoSummary,
    events: &BTreeMap<String, Vec<(u64, String, String)>>,
    scenario: &Scenario,
    terms: &deconflict_service::terms::Terms,
) -> Result<(), DemoError> {
    summary.alerter = terms
        .agreement
        .separation()
        .alerter()
        .unwrap_or(if terms.agreement.separation().alerter_conf().is_some() {
            deconflict_service::desk_wire::ALERTER_CONF_NAME
        } else {
            "the agreement's minima"
        })
        .to_string();
    let d = &scenario.conflict;
    let designed = [d.aircraft_a.as_str(), d.aircraft_b.as_str()];
    summary.encounter =
        designed.map(
            |id| match scenario.sorties.iter().find(|s| s.aircraft_id == id) {
                Some(s) => format!("{id} ({})", s.callsign),
                None => id.to_string(),
            },
        );
    let mut geography: BTreeMap<String, GeographySeen> = BTreeMap::new();
    for (party, list) in events {
        let mut levels: Vec<LevelSeen> = LEVELS
            .iter()
            .map(|l| LevelSeen {
                level: (*l).to_string(),
                alerts: 0,
                first_s: None,
            })
            .collect();
        for (seq, kind, data) in list {
            match kind.as_str() {
                "alert" => {
                    let Ok(a) = serde_json::from_str::<AlertView>(data) else {
                        continue;
                    };
                    if a.kind != "new" && a.kind != "level" {
                        continue;
                    }
                    let Some(l) = levels.iter_mut().find(|l| l.level == a.level) else {
                        continue;
                    };
                    l.alerts += 1;
                    let mut tracks =
                        [&a.own, &a.other].map(|t| t.as_ref().map_or("", |t| t.track_id.as_str()));
                    tracks.sort_unstable();
                    let mut want = designed;
                    want.sort_unstable();
                    if tracks == want && l.first_s.is_none() {
                        l.first_s = Some((a.created_unix_ms - summary.start_unix_ms) / 1000);
                    }
                }
                "geography" => {
                    let Ok(v) = serde_json::from_str::<GeographyView>(data) else {
                        continue;
                    };
                    let g = geography
                        .entry(v.event_id.clone())
                        .or_insert_with(|| GeographySeen {
                            view: v.clone(),
                            seen_by: Vec::new(),
                        });
                    if v.party == *party {
                        // The owner's copy shows what the others may not see (the callsign).
                        g.view = v;
                    }
                    g.seen_by.push((party.clone(), *seq));
                }
                "nonconformance" => {
                    let Ok(view) = serde_json::from_str::<NonconformanceView>(data) else {
                        continue;
                    };
                    summary
                        .nonconformance
                        .push(NonconformanceSeen { view, seq: *seq });
                }
                _ => {}
            }
        }
        summary.levels.insert(party.clone(), levels);
    }
    let mut geography: Vec<GeographySeen> = geography.into_values().collect();
    geography.sort_by_key(|g| (g.view.time_unix_ms, g.view.event_id.clone()));
    summary.geography = geography;
    summary
        .nonconformance
        .sort_by_key(|n| (n.view.time_unix_ms, n.view.event_id.clone()));
    Ok(())
}

/// Entries of the shared log by kind: `geography`, `nonconformance`, and the level of each
/// tactical alert.
/// The record's entries below `size`, read page by page.
fn all_entries(
    log: &deconflict_service::log_entries::ServiceLog,
    size: u64,
) -> Result<Vec<deconflict_log::SignedEntry>, DemoError> {
    let mut out = Vec::new();
    while (out.len() as u64) < size {
        let page = log
            .log_file()
            .entries(out.len() as u64, size)
            .map_err(|e| DemoError::Check(format!("reading the record: {e}")))?;
        if page.is_empty() {
            break;
        }
        out.extend(page);
    }
    Ok(out)
}

pub(super) fn record_entries(
    log: &deconflict_service::log_entries::ServiceLog,
    size: u64,
) -> Result<BTreeMap<String, u64>, DemoError> {
    let entries = all_entries(log, size)?;
    let mut out = BTreeMap::new();
    for e in &entries {
        if let deconflict_log::EntryBody::Alert { level, .. } = e.entry().body() {
            *out.entry(level.as_str().to_string()).or_default() += 1;
        }
    }
    Ok(out)
}

/// The live desk showed what the demo is for: the designed encounter through every DO-365
/// level on both streams, a geography event on every party's stream and in the record, a nonconformance.
pub(super) fn check_live_desk(summary: &DemoSummary) -> Result<(), DemoError> {
    // The designed encounter is built to pass through every DO-365 level.
    for (party, levels) in &summary.levels {
        if let Some(l) = levels.iter().find(|l| l.first_s.is_none()) {
            return Err(DemoError::Check(format!(
                "the designed encounter never reached {} on {party}'s stream",
                l.level
            )));
        }
    }
    let parties = summary.parties.len();
    if summary.geography.is_empty() || summary.geography.iter().any(|g| g.seen_by.len() != parties)
    {
        return Err(DemoError::Check(
            "no geography event, or one not on every party's stream".into(),
        ));
    }
    if summary.nonconformance.is_empty() {
        return Err(DemoError::Check("no nonconformance event".into()));
    }
    for (kind, n) in [
        ("geography", summary.geography.len()),
        ("nonconformance", summary.nonconformance.len()),
    ] {
        let recorded = summary.record_entries.get(kind).copied().unwrap_or(0);
        if recorded != n as u64 {
            return Err(DemoError::Check(format!(
                "{n} {kind} events on the streams, {recorded} in the record"
            )));
        }
    }
    Ok(())
}

/// Every notification the scenario made is in the record once, as an entry its own party
/// authored and signed (checked with the party's key from the agreement).
pub(super) fn check_authored_notifications(
    log: &deconflict_service::log_entries::ServiceLog,
    terms: &deconflict_service::terms::Terms,
    scenario: &Scenario,
    size: u64,
) -> Result<(), DemoError> {
    let entries = all_entries(log, size)?;
    for n in &scenario.notifications {
        let found: Vec<_> = entries
            .iter()
            .filter(|e| {
                matches!(e.entry().body(), deconflict_log::EntryBody::Notification {
                    notification_id, ..
                } if notification_id.as_str() == n.id)
            })
            .collect();
        let key = terms
            .party(&n.party)
            .map(|p| p.key)
            .ok_or_else(|| DemoError::Check(format!("{} is not a party", n.party)))?;
        match found.as_slice() {
            [e] if e.entry().author().as_str() == n.party && e.verify(&key).is_ok() => {}
            _ => {
                return Err(DemoError::Check(format!(
                    "notification {} is not in the record once, signed by {}",
                    n.id, n.party
                )));
            }
        }
    }
    Ok(())
}
