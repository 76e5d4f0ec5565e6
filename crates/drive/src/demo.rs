//! The demo: the whole two-party story on embedded defaults, over real HTTP on loopback.
//!
//! Two parties ("Coalition" and "Russian Federation") get keys and sign the default agreement;
//! the service starts on an ephemeral loopback port over a fresh store, on a virtual clock; both
//! parties open their event streams, notify their operations (one overlaps the other's, and is
//! flagged to both at once), and push their sorties' tracks second by second, faster than real
//! time, with a cycle after each second. The designed conflict raises alerts on both streams.
//! The summary says what each party was told, and checks that each stream holds exactly the
//! events the store holds, in order, with no gap.
//!
//! The deconfliction line runs through the same service during the flight, each duty officer
//! working from its party's pending list as an officer would: the scheduled link test is
//! answered in time by the first party and late by the second (its duty officer is away, the
//! test passes to its command); the engine's conflict alert opens a conversation on both sides,
//! continued by the parties (a request to alter, a counter proposal, an acceptance, free text);
//! a strike warning is acknowledged late, after its deadline passed it to the next duty contact,
//! and the sender sees the escalation on its own stream. The conversations are fetched from the
//! service rendered in English and in Russian. Message ids are fixed and the clock is virtual,
//! so the summary is the same on every run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use deconflict_sim::{NotifiedArea, Scenario};
use tokio::sync::mpsc;

use deconflict_service::client::PartyClient;
use deconflict_service::clock::ManualClock;
use deconflict_service::datadir::{self, DataDir};
use deconflict_service::state::{Config, State};
use deconflict_service::wire::*;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    #[error("data directory: {0}")]
    DataDir(#[from] datadir::DataDirError),
    #[error("{0}")]
    Setup(String),
    #[error("request failed: {0}")]
    Client(#[from] deconflict_service::client::ClientError),
    #[error("service: {0}")]
    Start(#[from] deconflict_service::state::StartError),
    #[error("store: {0}")]
    Store(#[from] deconflict_store::StoreError),
    #[error("the demo did not show what it must: {0}")]
    Check(String),
}

/// What the demo saw; `Display` is the printed summary.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub data_dir: String,
    pub agreement_id: String,
    pub agreement_status: String,
    pub parties: Vec<(String, String, String)>,
    pub notifications: Vec<String>,
    pub strategic_flags: Vec<String>,
    pub reports_pushed: usize,
    /// The scenario's start on the virtual clock, UNIX ms.
    pub start_unix_ms: i64,
    pub sim_seconds: u32,
    pub wall_seconds: f64,
    pub cycles: u32,
    /// Per party: the alerts received on its stream, one line each.
    pub alerts: BTreeMap<String, Vec<String>>,
    /// Per party: events received on the stream and events the store holds.
    pub streams: BTreeMap<String, (u64, u64)>,
    pub designed_conflict: String,
    pub disclosure: Vec<String>,
    pub listen: String,
    /// Entries in the shared record, its root hash (hex), and the service's public key (hex).
    pub log_size: u64,
    pub log_root: String,
    pub log_key_hex: String,
    /// The deconfliction line at work: what happened (one line each), then the conversations
    /// rendered by the service in English and in Russian.
    pub line_text: String,
    /// One line per party: how it answered the link test.
    pub link_tests: Vec<String>,
    /// What the strike warning's sender saw on its stream (`line_escalated`, …).
    pub escalations: Vec<String>,
    /// One party's receiver feed, replayed from a recording: what became of it.
    pub receiver: String,
    /// The alerter the desk ran: the agreement's.
    pub alerter: String,
    /// The designed encounter's two aircraft, as `track (callsign)`.
    pub encounter: [String; 2],
    /// Per party: the tactical alerts its stream carried at each DO-365 level, and when the
    /// designed encounter first reached that level.
    pub levels: BTreeMap<String, Vec<LevelSeen>>,
    /// Each geography event, as its aircraft's own party received it, and every stream that
    /// carried it.
    pub geography: Vec<GeographySeen>,
    /// Each nonconformance event, as its party received it.
    pub nonconformance: Vec<NonconformanceSeen>,
    /// Entries in the shared record by kind (`geography`, `nonconformance`, and each DO-365
    /// level of the tactical alerts).
    pub record_entries: BTreeMap<String, u64>,
}

/// One DO-365 level on one party's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelSeen {
    /// `preventive`, `corrective` or `warning`.
    pub level: String,
    /// Tactical alerts (`new` or `level`) at this level on the stream, any encounter.
    pub alerts: u64,
    /// Seconds after the start when the designed encounter first reached it, if it did.
    pub first_s: Option<i64>,
}

/// A geography event and who was told.
#[derive(Debug, Clone, PartialEq)]
pub struct GeographySeen {
    /// The owner's copy (with its callsign).
    pub view: GeographyView,
    /// Each party whose stream carried it, with the event's sequence number there.
    pub seen_by: Vec<(String, u64)>,
}

/// A nonconformance event and where its party received it.
#[derive(Debug, Clone, PartialEq)]
pub struct NonconformanceSeen {
    pub view: NonconformanceView,
    pub seq: u64,
}

/// The DO-365 levels, least urgent first.
const LEVELS: [&str; 3] = ["preventive", "corrective", "warning"];

impl std::fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        let _ = writeln!(s, "deconflict demo — two parties, one sky, one agreement\n");
        let _ = writeln!(
            s,
            "Agreement {} — {}",
            self.agreement_id, self.agreement_status
        );
        for (id, name, lang) in &self.parties {
            let _ = writeln!(s, "  party {id:<10} {name} ({lang}), signed");
        }
        let _ = writeln!(
            s,
            "Service on http://{} (loopback, ephemeral port), data in {}",
            self.listen, self.data_dir
        );
        let _ = writeln!(
            s,
            "\nNotifications (each signed into the record by its party; the strategic check answers at once):"
        );
        for n in &self.notifications {
            let _ = writeln!(s, "  {n}");
        }
        for f in &self.strategic_flags {
            let _ = writeln!(s, "  FLAGGED {f}");
        }
        let _ = writeln!(
            s,
            "\nLive picture: {} track reports pushed (signed batches), {} s of flying in {:.1} s, {} cycles",
            self.reports_pushed, self.sim_seconds, self.wall_seconds, self.cycles
        );
        if !self.receiver.is_empty() {
            let _ = writeln!(s, "{}", self.receiver);
        }
        let _ = writeln!(s, "Designed conflict: {}", self.designed_conflict);
        for (party, lines) in &self.alerts {
            let _ = writeln!(s, "\nAlerts on {party}'s stream:");
            for l in lines {
                let _ = writeln!(s, "  {l}");
            }
        }
        s.push_str(&self.live_desk_text());
        let _ = writeln!(
            s,
            "\nDisclosure (what each party saw of the other's aircraft):"
        );
        for d in &self.disclosure {
            let _ = writeln!(s, "  {d}");
        }
        let _ = writeln!(
            s,
            "\nStreams (received over SSE / held in the store, no gap, no repeat):"
        );
        for (party, (got, held)) in &self.streams {
            let _ = writeln!(s, "  {party:<10} {got} / {held}");
        }
        let _ = writeln!(
            s,
            "\nShared record: {} entries, root {} (service key {})",
            self.log_size, self.log_root, self.log_key_hex
        );
        let _ = writeln!(
            s,
            "  verify it offline: deconflict log export --data-dir DIR --out log.export && deconflict verify log.export --agreement DIR/agreement.toml --log-key {} (or, stopped, deconflict verify --data-dir DIR)",
            self.log_key_hex
        );
        if !self.line_text.is_empty() {
            let _ = writeln!(s, "\n{}", self.line_text);
        }
        f.write_str(&s)
    }
}

impl DemoSummary {
    /// DO-365 levels, geography and nonconformance, as the streams carried them.
    fn live_desk_text(&self) -> String {
        let mut s = String::new();
        let at = |t_ms: i64| {
            format!(
                "t+{} s ({})",
                (t_ms - self.start_unix_ms).div_euclid(1000),
                hms(t_ms)
            )
        };
        let _ = writeln!(
            s,
            "\nDO-365 levels (alerter {}; tactical alerts at each level on each stream, and when {} × {} first reached it):",
            self.alerter, self.encounter[0], self.encounter[1]
        );
        for (party, levels) in &self.levels {
            let cells: Vec<String> = levels
                .iter()
                .map(|l| {
                    let first = l
                        .first_s
                        .map_or("not reached".to_string(), |t| format!("first t+{t} s"));
                    format!("{} {} ({first})", l.level, l.alerts)
                })
                .collect();
            let _ = writeln!(s, "  {party:<10} {}", cells.join(", "));
        }
        let _ = writeln!(
            s,
            "\nGeography (a dividing line crossed or a closed zone entered; sent to every party, signed into the record): {}, {} in the record",
            events(self.geography.len()),
            self.record_entries.get("geography").copied().unwrap_or(0)
        );
        for g in &self.geography {
            let v = &g.view;
            let what = match (v.line.as_deref(), v.zone.as_deref()) {
                (Some(line), _) => format!(
                    "crossed dividing line {line} onto {}'s side",
                    v.into_side_of.as_deref().unwrap_or("?")
                ),
                (None, Some(zone)) => format!("entered zone {zone}, closed to {}", v.party),
                (None, None) => v.kind.clone(),
            };
            let seen: Vec<String> = g
                .seen_by
                .iter()
                .map(|(p, seq)| format!("{p} #{seq}"))
                .collect();
            let _ = writeln!(
                s,
                "  {}'s {}{} {what} at {:.4}° N {:.4}° E, {:.0} m, {}; seen by {}",
                v.party,
                v.track_id,
                v.callsign
                    .as_ref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default(),
                v.lat_deg,
                v.lon_deg,
                v.alt_m,
                at(v.time_unix_ms),
                seen.join(", ")
            );
        }
        let _ = writeln!(
            s,
            "\nNonconformance (a notified callsign outside its notifications' volume or window; to its party, once per excursion): {}, {} in the record",
            events(self.nonconformance.len()),
            self.record_entries
                .get("nonconformance")
                .copied()
                .unwrap_or(0)
        );
        for n in &self.nonconformance {
            let v = &n.view;
            let _ = writeln!(
                s,
                "  {}'s {} ({}) outside {} at {:.4}° N {:.4}° E, {:.0} m, {}; {} #{}",
                v.party,
                v.track_id,
                v.callsign,
                v.notifications.join(", "),
                v.lat_deg,
                v.lon_deg,
                v.alt_m,
                at(v.time_unix_ms),
                v.party,
                n.seq
            );
        }
        s
    }
}

fn events(n: usize) -> String {
    format!("{n} event{}", if n == 1 { "" } else { "s" })
}

fn area_in(a: &NotifiedArea) -> AreaIn {
    match a {
        NotifiedArea::Polygon(points) => {
            // The sim closes its rings; the API closes them implicitly.
            let mut pts: Vec<LatLon> = points
                .iter()
                .map(|p| LatLon {
                    lat_deg: p.lat_deg,
                    lon_deg: p.lon_deg,
                })
                .collect();
            if pts.len() > 3 && pts.first() == pts.last() {
                pts.pop();
            }
            AreaIn::Polygon { points: pts }
        }
        NotifiedArea::Circle { center, radius_m } => AreaIn::Circle {
            centre: LatLon {
                lat_deg: center.lat_deg,
                lon_deg: center.lon_deg,
            },
            radius_m: *radius_m,
        },
    }
}

fn report_in(r: &deconflict_sim::TrackReport) -> TrackReportIn {
    TrackReportIn {
        track_id: r.aircraft_id.clone(),
        time_unix_ms: r.t_unix_ms,
        lat_deg: r.lat_deg,
        lon_deg: r.lon_deg,
        alt_m: r.alt_m,
        track_deg: r.track_deg,
        ground_speed_mps: r.ground_speed_mps,
        vertical_rate_mps: r.vertical_speed_mps,
        callsign: Some(r.callsign.clone()),
        aircraft_type: Some(r.aircraft_type.clone()),
        icao24: None,
        squawk: None,
    }
}

/// Writes the scenario's agreement, keys and signatures into `dir` (which must not hold an
/// agreement yet).
fn prepare(dir: &DataDir, scenario: &Scenario) -> Result<(), DemoError> {
    dir.create()?;
    if dir.agreement().exists() || dir.store().exists() {
        return Err(DemoError::Setup(format!(
            "{} already holds an agreement or a store: serve it with `deconflict serve --data-dir {}`, or give the demo an empty directory",
            dir.root.display(),
            dir.root.display()
        )));
    }
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|source| datadir::DataDirError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    write(&dir.agreement(), &scenario.agreement_toml)?;
    let agreement = scenario.agreement();
    for (party, key) in scenario.parties.iter().zip(scenario.keys()) {
        datadir::write_key_pair(&dir.root.join("keys").join(&party.id), &key)?;
        let pid = deconflict_agreement::PartyId::new(&party.id)
            .map_err(|e| DemoError::Setup(e.to_string()))?;
        let sig = deconflict_agreement::AgreementSignature::sign(&agreement, &pid, &key)
            .map_err(|e| DemoError::Setup(e.to_string()))?;
        write(
            &datadir::signature_path(&dir.agreement(), &party.id),
            &sig.to_file_text(),
        )?;
    }
    Ok(())
}

/// Runs the demo; `data_dir` keeps everything afterwards (a temporary directory otherwise).
pub fn run(data_dir: Option<&Path>) -> Result<DemoSummary, DemoError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let temp;
    let root = match data_dir {
        Some(d) => d.to_path_buf(),
        None => {
            temp = tempfile::tempdir().map_err(|e| DemoError::Setup(e.to_string()))?;
            temp.path().to_path_buf()
        }
    };
    rt.block_on(run_async(&root, data_dir.is_some()))
}

async fn run_async(root: &Path, kept: bool) -> Result<DemoSummary, DemoError> {
    let wall = Instant::now();
    let config = deconflict_sim::Config {
        duration_s: deconflict_sim::scenario::DURATION_S_MIN,
        ..deconflict_sim::Config::default()
    };
    let scenario = Scenario::generate(&config).map_err(|e| DemoError::Setup(e.to_string()))?;
    let dir = DataDir::new(root);
    prepare(&dir, &scenario)?;
    let loaded = datadir::load_agreement(&dir.agreement())?;
    if !loaded.all_signed() {
        return Err(DemoError::Check(
            "the agreement is not signed by every party".into(),
        ));
    }
    let clock = ManualClock::new(config.start_unix_ms);
    let store = deconflict_store::SqliteStore::open(&dir.store())?;
    let state = State::open(
        Config::default(),
        loaded.terms.clone(),
        true,
        Box::new(store),
        Arc::new(clock.clone()),
    )?;
    let log = deconflict_service::record::ServiceLog::open(
        &dir,
        &loaded.terms,
        &loaded.signed_by,
        config.start_unix_ms,
    )
    .map_err(|e| DemoError::Setup(e.to_string()))?;
    let log = Arc::new(log);
    state.attach_log(log.clone());
    let listener = deconflict_service::bind(([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(deconflict_service::serve(
        state.clone(),
        listener,
        false,
        async move {
            let _ = stop_rx.await;
        },
    ));
    let base = format!("http://{addr}");

    let mut clients = Vec::new();
    for (party, key) in scenario.parties.iter().zip(scenario.keys()) {
        let sk =
            datadir::signing_key(&key).ok_or_else(|| DemoError::Setup("key conversion".into()))?;
        clients.push(PartyClient::new(
            &base,
            &party.id,
            sk,
            Arc::new(clock.clone()),
        ));
    }

    // Both parties listen before anything happens.
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<(String, u64, String, String)>();
    let mut listeners = Vec::new();
    for c in &clients {
        let mut stream = c.stream(None).await?;
        let tx = ev_tx.clone();
        let party = c.party().to_string();
        listeners.push(tokio::spawn(async move {
            while let Ok(Some(m)) = stream.next().await {
                let seq = m.id.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
                if tx.send((party.clone(), seq, m.event, m.data)).is_err() {
                    break;
                }
            }
        }));
    }
    drop(ev_tx);

    let mut summary = DemoSummary {
        data_dir: if kept {
            root.display().to_string()
        } else {
            "a temporary directory (use --data-dir DIR to keep it)".into()
        },
        agreement_id: loaded.terms.id.clone(),
        listen: addr.to_string(),
        start_unix_ms: config.start_unix_ms,
        parties: loaded
            .terms
            .parties
            .iter()
            .map(|p| (p.id.clone(), p.name.clone(), p.language.clone()))
            .collect(),
        ..DemoSummary::default()
    };
    let view: AgreementView = clients[0]
        .call::<(), _>("GET", "/v1/agreement", None)
        .await?;
    summary.agreement_status = view.status.replace('_', " ");

    // Notifications.
    for n in &scenario.notifications {
        let Some(c) = clients.iter().find(|c| c.party() == n.party) else {
            continue;
        };
        let notification = NotificationIn {
            area: area_in(&n.area),
            alt_min_m: n.floor_m,
            alt_max_m: n.ceiling_m,
            start_unix_ms: n.start_unix_ms,
            end_unix_ms: n.end_unix_ms,
            callsigns: n.callsigns.clone(),
            aircraft_count: (!n.callsigns.is_empty()).then_some(n.callsigns.len() as u32),
            aircraft_type: None,
            remarks: None,
            strike_warning: false,
        };
        let disclosed = loaded
            .terms
            .party(&n.party)
            .map(|p| p.disclose_notification.clone())
            .unwrap_or_default();
        // The party signs the notification's entry in the record itself.
        let r = c
            .notification_create(&n.id, &notification, &disclosed)
            .await?;
        summary.notifications.push(format!(
            "{:<10} {:<14} {:>5.0}–{:<5.0} m, {} min",
            n.party,
            n.id,
            n.floor_m,
            n.ceiling_m,
            (n.end_unix_ms - n.start_unix_ms) / 60_000
        ));
        for other in r.conflicts {
            summary.strategic_flags.push(format!(
                "{} ({}) overlaps {} ({}): flagged to both parties",
                n.id, n.party, other.id, other.party
            ));
        }
    }

    // Fly, faster than real time; the duty officers work the line as the seconds pass.
    let start_ms = config.start_unix_ms;
    let mut script = LineScript::new(&scenario, start_ms)?;
    let mut receiver = ReceiverReplay::open(&loaded.terms, config.duration_s);
    for t in 0..=config.duration_s {
        clock.set_ms(start_ms + i64::from(t) * 1000);
        let reports = scenario.reports_at(t);
        let mut pushes = Vec::new();
        for c in &clients {
            let batch = TrackBatchIn {
                reports: reports
                    .iter()
                    .filter(|r| r.party == c.party())
                    .map(report_in)
                    .collect(),
            };
            if batch.reports.is_empty() {
                continue;
            }
            summary.reports_pushed += batch.reports.len();
            let c = c.clone();
            pushes.push(tokio::spawn(async move {
                c.call::<_, TracksAccepted>("POST", "/v1/tracks/batch", Some(&batch))
                    .await
            }));
        }
        for p in pushes {
            p.await.map_err(|e| DemoError::Setup(e.to_string()))??;
        }
        if let Some(r) = receiver.as_mut() {
            r.step(&state, t);
        }
        state
            .run_cycle()
            .await
            .map_err(|e| DemoError::Check(e.body.message))?;
        summary.cycles += 1;
        script
            .step(&clients, t, start_ms + i64::from(t) * 1000)
            .await?;
    }
    summary.sim_seconds = config.duration_s;
    summary.receiver = match &mut receiver {
        Some(r) => r.finish(&state)?,
        None => format!(
            "Receiver feed: the recording {RECEIVER_RECORDING} is not here (run the demo from a \
             checkout of the repository to replay it)"
        ),
    };

    // Wait until every stream has everything the store holds.
    let mut held = BTreeMap::new();
    for p in &loaded.terms.parties {
        let pid = p.id.clone();
        let last = state
            .with_store(move |s| s.last_seq(&pid))
            .await
            .map_err(|e| DemoError::Check(e.body.message))??;
        held.insert(p.id.clone(), last);
    }
    let mut got: BTreeMap<String, Vec<(u64, String, String)>> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while held
        .iter()
        .any(|(p, n)| got.get(p).map_or(0, |v| v.last().map_or(0, |e| e.0)) < *n)
    {
        match tokio::time::timeout_at(deadline, ev_rx.recv()).await {
            Ok(Some((party, seq, kind, data))) => {
                got.entry(party).or_default().push((seq, kind, data));
            }
            _ => break,
        }
    }
    let line_outcome = script.report(&clients, &got).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    let line_outcome = line_outcome?;
    for l in listeners {
        l.abort();
    }

    for (party, n) in &held {
        let events = got.get(party).cloned().unwrap_or_default();
        let seqs: Vec<u64> = events.iter().map(|e| e.0).collect();
        let expect: Vec<u64> = (1..=*n).collect();
        if seqs != expect {
            return Err(DemoError::Check(format!(
                "{party}'s stream delivered {} events, the store holds {n}, or not in order",
                seqs.len()
            )));
        }
        summary
            .streams
            .insert(party.clone(), (seqs.len() as u64, *n));
        let mut lines = Vec::new();
        for (seq, kind, data) in &events {
            if kind != "alert" {
                continue;
            }
            let Ok(a) = serde_json::from_str::<AlertView>(data) else {
                continue;
            };
            lines.push(describe(*seq, &a, start_ms));
            if a.kind == "new"
                && let Some(o) = &a.other
            {
                summary.disclosure.push(format!(
                    "{party} saw {}'s {}: position {}, altitude {}, callsign {}, type {}",
                    o.party,
                    o.track_id,
                    shown(o.lat_deg.is_some()),
                    shown(o.alt_m.is_some()),
                    o.callsign.as_deref().unwrap_or("withheld"),
                    o.aircraft_type.as_deref().unwrap_or("withheld"),
                ));
            }
        }
        summary.alerts.insert(party.clone(), lines);
    }
    live_desk(&mut summary, &got, &scenario, &loaded.terms)?;
    let d = &scenario.conflict;
    summary.designed_conflict = format!(
        "{} × {}, closest approach {:.0} m horizontally, {:.0} m vertically, at t+{} s",
        d.aircraft_a,
        d.aircraft_b,
        d.miss_m,
        d.dz_m.abs(),
        d.t_cpa_s
    );
    let tactical = |p: &str| {
        summary
            .alerts
            .get(p)
            .is_some_and(|l| l.iter().any(|x| x.contains(" new ")))
    };
    for (id, _, _) in &summary.parties {
        if !tactical(id) {
            return Err(DemoError::Check(format!(
                "{id} received no alert for the designed conflict"
            )));
        }
    }
    if summary.strategic_flags.is_empty() {
        return Err(DemoError::Check(
            "the overlapping notifications were not flagged".into(),
        ));
    }
    let head = log.journal().latest_tree_head();
    check_authored_notifications(&log, &loaded.terms, &scenario, head.tree_head().size())?;
    summary.record_entries = record_entries(&log, head.tree_head().size())?;
    check_live_desk(&summary)?;
    summary.log_size = head.tree_head().size();
    summary.log_root = head.tree_head().root().to_hex();
    summary.log_key_hex = log.public_key_hex();
    summary.line_text = line_outcome.text;
    summary.link_tests = line_outcome.link_tests;
    summary.escalations = line_outcome.escalations;
    summary.wall_seconds = wall.elapsed().as_secs_f64();
    Ok(summary)
}

/// The recording one party's receiver feed replays: 4,184 SBS messages heard around Los
/// Angeles (`crates/feeds/testdata`, a test fixture read from the repository, never built into
/// the binary). Its lines carry no times: they are spread over the flight, each slice arriving
/// at the demo's clock as a live feed's bytes would.
const RECEIVER_RECORDING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../feeds/testdata/sbs1_msgs_lax.sbs"
);

/// One party's receiver feed, replayed through the path `serve --feed` takes
/// ([`deconflict_service::feed::event_into_desk`]).
struct ReceiverReplay {
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
    fn open(terms: &deconflict_service::terms::Terms, duration_s: u32) -> Option<ReceiverReplay> {
        let party = terms.parties.first()?.id.clone();
        let bytes = std::fs::read(RECEIVER_RECORDING).ok()?;
        let name = "sbs:sbs1_msgs_lax.sbs";
        let stats = Arc::new(deconflict_service::feed::FeedStats::default());
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
    fn step(&mut self, state: &State, t: u32) {
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
    fn finish(&mut self, state: &State) -> Result<String, DemoError> {
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
fn live_desk(
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

/// Entries of the shared record by kind: `geography`, `nonconformance`, and the level of each
/// tactical alert.
fn record_entries(
    log: &deconflict_service::record::ServiceLog,
    size: u64,
) -> Result<BTreeMap<String, u64>, DemoError> {
    let entries = log
        .journal()
        .entries(0, size)
        .map_err(|e| DemoError::Check(format!("reading the record: {e}")))?;
    let mut out = BTreeMap::new();
    for e in &entries {
        if let deconflict_ledger::EntryBody::Alert { level, .. } = e.entry().body() {
            *out.entry(level.as_str().to_string()).or_default() += 1;
        }
    }
    Ok(out)
}

/// The live desk showed what the demo is for: the designed encounter through every DO-365
/// level on both streams, a geography event on every party's stream and in the record, a nonconformance.
fn check_live_desk(summary: &DemoSummary) -> Result<(), DemoError> {
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
fn check_authored_notifications(
    log: &deconflict_service::record::ServiceLog,
    terms: &deconflict_service::terms::Terms,
    scenario: &Scenario,
    size: u64,
) -> Result<(), DemoError> {
    let entries = log
        .journal()
        .entries(0, size)
        .map_err(|e| DemoError::Check(format!("reading the record: {e}")))?;
    for n in &scenario.notifications {
        let found: Vec<_> = entries
            .iter()
            .filter(|e| {
                matches!(e.entry().body(), deconflict_ledger::EntryBody::Notification {
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

fn shown(b: bool) -> &'static str {
    if b { "shown" } else { "withheld" }
}

fn describe(seq: u64, a: &AlertView, start_ms: i64) -> String {
    let t = (a.created_unix_ms - start_ms) / 1000;
    match a.kind.as_str() {
        "strategic" => format!(
            "#{seq:<4} t+{t:>3}s strategic: own notification {} overlaps {}'s {}",
            a.own_notification.as_deref().unwrap_or("?"),
            a.other_notification
                .as_ref()
                .map_or("?", |n| n.party.as_str()),
            a.other_notification.as_ref().map_or("?", |n| n.id.as_str()),
        ),
        "ended" => format!("#{seq:<4} t+{t:>3}s ended   {} — conflict over", pair(a)),
        kind => format!(
            "#{seq:<4} t+{t:>3}s {kind:<7} {} {}: loss of separation in {:.0} s, closest {:.0} m",
            a.level,
            pair(a),
            a.time_to_los_s.unwrap_or(0.0),
            a.closest_h_m.unwrap_or(0.0),
        ),
    }
}

fn pair(a: &AlertView) -> String {
    let name = |t: &Option<TrackView>| {
        t.as_ref().map_or("?".to_string(), |t| {
            format!(
                "{}{}",
                t.track_id,
                t.callsign
                    .as_ref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            )
        })
    };
    format!("{} × {}", name(&a.own), name(&a.other))
}

// ---------------------------------------------------------------------------------------------
// The line at work, through the service.

/// Seconds after a message reaches it that each party's duty officer acknowledges it.
const ACK_AFTER_S: [i64; 2] = [10, 20];
/// The second party's duty officer is away for link tests and strike warnings: whoever the
/// message passed to acknowledges this long after the escalation.
const AWAY_ACK_AFTER_ESCALATION_S: i64 = 30;
/// When the first party sends its strike warning, seconds after the start.
const STRIKE_WARNING_AT_S: u32 = 240;
/// When both parties look at what is overdue: after the strike warning's deadline (120 s in
/// the demo's agreement), before its late acknowledgement.
const OVERDUE_LOOK_AT_S: u32 = STRIKE_WARNING_AT_S + 125;
/// The alert conversation, seconds after the first party saw the alert: who writes what.
const ALERT_REQUEST_AFTER_S: u32 = 10;
const ALERT_COUNTER_AFTER_S: u32 = 25;
const ALERT_ACCEPT_AFTER_S: u32 = 35;
const ALERT_FREE_TEXT_AFTER_S: u32 = 45;
/// How each party reads: the first in English with decimal degrees, the second in Russian
/// with degrees, minutes and seconds; both at UTC+03:00 (Al Udeid, Khmeimim).
const READERS: [(&str, &str); 2] = [("en", "decimal"), ("ru", "dms")];
const READER_OFFSET: &str = "+03:00";

fn lined<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, DemoError> {
    r.map_err(|e| DemoError::Setup(format!("line message: {e}")))
}

/// An acknowledgement the demo's officers made.
#[derive(Debug, Clone)]
struct AckDone {
    party: usize,
    message_id: String,
    kind: String,
    officer: String,
    at_ms: i64,
    late: bool,
}

/// The alert conversation as the demo continues it.
#[derive(Debug, Clone)]
struct AlertThread {
    seen_s: u32,
    subject: deconflict_line::Subject,
    /// The conflict-alert message each party received (by party index).
    received: [Option<deconflict_line::MessageId>; 2],
    /// The second party's aircraft in the conflict.
    second_track: Option<String>,
}

/// The duty officers of both parties, working the line second by second.
struct LineScript {
    parties: [deconflict_line::PartyId; 2],
    strike: (deconflict_line::Subject, deconflict_line::Body),
    alert: Option<AlertThread>,
    acks: Vec<AckDone>,
    /// What each party's pending list showed as overdue at [`OVERDUE_LOOK_AT_S`].
    overdue_seen: Vec<(usize, i64, Vec<String>)>,
}

/// What the line showed, for the summary.
struct LineOutcome {
    text: String,
    link_tests: Vec<String>,
    escalations: Vec<String>,
}

fn mid(
    party: &deconflict_line::PartyId,
    suffix: &str,
) -> Result<deconflict_line::MessageId, DemoError> {
    lined(deconflict_line::MessageId::new(format!("{party}-{suffix}")))
}

fn hms(ms: i64) -> String {
    match deconflict_line::Timestamp::from_unix_ms(ms) {
        Ok(t) => {
            let c = t.civil(deconflict_line::UtcOffset::UTC);
            format!("{:02}:{:02}:{:02}Z", c.hour, c.minute, c.second)
        }
        Err(_) => format!("{ms} ms"),
    }
}

impl LineScript {
    fn new(scenario: &Scenario, start_ms: i64) -> Result<LineScript, DemoError> {
        use deconflict_line::*;
        let [a, b] = match scenario.parties.as_slice() {
            [a, b, ..] => [a, b],
            _ => return Err(DemoError::Setup("the demo needs two parties".into())),
        };
        let parties = [lined(PartyId::new(&a.id))?, lined(PartyId::new(&b.id))?];
        // The strike warning falls inside the first party's first notified operation.
        let n = scenario
            .notifications
            .iter()
            .find(|n| n.party == a.id)
            .ok_or_else(|| DemoError::Setup(format!("{} notifies no operation", a.id)))?;
        let centre = match &n.area {
            NotifiedArea::Circle { center, .. } => *center,
            NotifiedArea::Polygon(points) => *points
                .first()
                .ok_or_else(|| DemoError::Setup(format!("notification {} has no vertex", n.id)))?,
        };
        let area = lined(Area::circle(
            lined(Position::from_deg(centre.lat_deg, centre.lon_deg))?,
            lined(Distance::from_nm(2.0))?,
        ))?;
        let block = lined(AltitudeBlock::new(
            lined(Altitude::from_m(n.floor_m))?,
            lined(Altitude::from_m(n.ceiling_m))?,
        ))?;
        let window = lined(TimeWindow::new(
            lined(Timestamp::from_unix_ms(start_ms + 15 * 60_000))?,
            lined(Timestamp::from_unix_ms(start_ms + 45 * 60_000))?,
        ))?;
        let subject = Subject::new(SubjectKind::Notification, lined(SubjectId::new(&n.id))?);
        let body = Body::StrikeWarning {
            activity: Activity::Strike,
            area,
            altitude_block: block,
            window,
        };
        Ok(LineScript {
            parties,
            strike: (subject, body),
            alert: None,
            acks: Vec::new(),
            overdue_seen: Vec::new(),
        })
    }

    fn strike_id(&self) -> Result<deconflict_line::MessageId, DemoError> {
        mid(&self.parties[0], "strike-1")
    }

    /// Whether party `i`'s officers acknowledge `v` now.
    fn ack_due(
        &self,
        i: usize,
        v: &deconflict_service::line::LineMessageView,
        now_ms: i64,
    ) -> bool {
        let away = i == 1 && (v.kind == "link_test" || v.kind == "strike_warning");
        if away {
            v.escalations
                .last()
                .is_some_and(|e| now_ms >= e.at_unix_ms + AWAY_ACK_AFTER_ESCALATION_S * 1000)
        } else {
            now_ms >= v.sent_unix_ms + ACK_AFTER_S[i] * 1000
        }
    }

    fn message(
        &self,
        from: usize,
        suffix: &str,
        subject: deconflict_line::Subject,
        body: deconflict_line::Body,
        now_ms: i64,
    ) -> Result<deconflict_line::Message, DemoError> {
        lined(deconflict_line::Message::new(
            mid(&self.parties[from], suffix)?,
            self.parties[from].clone(),
            self.parties[1 - from].clone(),
            lined(deconflict_line::Timestamp::from_unix_ms(now_ms))?,
            subject,
            body,
        ))
    }

    /// One second of the line: each party works its pending list, then sends what is due.
    async fn step(
        &mut self,
        clients: &[PartyClient],
        t: u32,
        now_ms: i64,
    ) -> Result<(), DemoError> {
        use deconflict_line::*;
        for (i, c) in clients.iter().enumerate().take(2) {
            let pending = c.line_pending().await?;
            if t == OVERDUE_LOOK_AT_S {
                let ids = pending
                    .overdue
                    .iter()
                    .map(|v| v.message.id().to_string())
                    .collect();
                self.overdue_seen.push((i, now_ms, ids));
            }
            for v in &pending.to_acknowledge {
                if v.kind == "conflict_alert" {
                    let thread = self.alert.get_or_insert_with(|| AlertThread {
                        seen_s: t,
                        subject: v.message.subject().clone(),
                        received: [None, None],
                        second_track: None,
                    });
                    // The first alert message on the subject opens the conversation; a later
                    // one (the level changed) joins it.
                    if thread.subject == *v.message.subject() && thread.received[i].is_none() {
                        thread.received[i] = Some(v.message.id().clone());
                        if let Body::ConflictAlert(a) = v.message.body() {
                            thread.second_track = [&a.track_a, &a.track_b]
                                .into_iter()
                                .find(|r| r.party == self.parties[1])
                                .map(|r| r.track.to_string());
                        }
                    }
                }
                if !self.ack_due(i, v, now_ms) {
                    continue;
                }
                let Some(officer) = v.holder.clone() else {
                    continue;
                };
                let r = c.line_ack(v.message.id().as_str(), &officer).await?;
                self.acks.push(AckDone {
                    party: i,
                    message_id: r.message_id,
                    kind: v.kind.clone(),
                    officer,
                    at_ms: r.acknowledged_unix_ms,
                    late: r.late,
                });
            }
        }
        let mut sends: Vec<(usize, Message)> = Vec::new();
        if t == STRIKE_WARNING_AT_S {
            let (subject, body) = self.strike.clone();
            sends.push((0, self.message(0, "strike-1", subject, body, now_ms)?));
        }
        if let Some(th) = self.alert.clone() {
            let block = |lo, hi| -> Result<Alteration, DemoError> {
                Ok(Alteration::AltitudeBlock {
                    altitude_block: lined(AltitudeBlock::from_ft(lo, hi))?,
                })
            };
            let k = t.saturating_sub(th.seen_s);
            let request = mid(&self.parties[0], "request-1")?;
            let counter = mid(&self.parties[1], "reply-1")?;
            match k {
                ALERT_REQUEST_AFTER_S => {
                    if let Some(regarding) = th.received[0].clone() {
                        let body = Body::RequestToAlter {
                            regarding,
                            proposal: block(25_000, 29_000)?,
                        };
                        sends.push((0, self.message(0, "request-1", th.subject, body, now_ms)?));
                    }
                }
                ALERT_COUNTER_AFTER_S => {
                    let body = Body::Reply {
                        in_reply_to: request,
                        answer: Decision::Counter {
                            proposal: block(27_000, 31_000)?,
                        },
                    };
                    sends.push((1, self.message(1, "reply-1", th.subject, body, now_ms)?));
                }
                ALERT_ACCEPT_AFTER_S => {
                    let body = Body::Reply {
                        in_reply_to: counter,
                        answer: Decision::Accept,
                    };
                    sends.push((0, self.message(0, "reply-2", th.subject, body, now_ms)?));
                }
                ALERT_FREE_TEXT_AFTER_S => {
                    let track = th.second_track.as_deref().unwrap_or("?");
                    let body = Body::FreeText {
                        written_in: lined(LangTag::new("ru"))?,
                        text: lined(Text::new(format!(
                            "Борт {track} набирает эшелон 280, курс прежний."
                        )))?,
                    };
                    sends.push((1, self.message(1, "text-1", th.subject, body, now_ms)?));
                }
                _ => {}
            }
        }
        for (from, m) in sends {
            clients[from].line_send(&m).await?;
        }
        Ok(())
    }

    /// Collects what the line showed, fetching the conversations from the service in both
    /// languages, and checks that each part of the story happened.
    async fn report(
        &self,
        clients: &[PartyClient],
        events: &BTreeMap<String, Vec<(u64, String, String)>>,
    ) -> Result<LineOutcome, DemoError> {
        let mut out = String::new();
        let mut link_tests = Vec::new();
        let p = |i: usize| self.parties[i].as_str();
        let _ = writeln!(
            out,
            "The line (through the service; each message and acknowledgement signed by its author into the record):"
        );

        // 1. The link test.
        let mut link_test_ids = [None, None];
        for (i, slot) in link_test_ids.iter_mut().enumerate() {
            let Some(a) = self
                .acks
                .iter()
                .find(|a| a.party == i && a.kind == "link_test")
            else {
                return Err(DemoError::Check(format!(
                    "{} never acknowledged its link test",
                    p(i)
                )));
            };
            let v = clients[i].line_message(&a.message_id).await?;
            let latency = (a.at_ms - v.sent_unix_ms) / 1000;
            let line = if a.late {
                let passed: Vec<String> = v
                    .escalations
                    .iter()
                    .map(|e| format!("passed to {} at {}", e.to, hms(e.at_unix_ms)))
                    .collect();
                format!(
                    "link test {} {}: not answered in time; {}; answered by {} after {latency} s — late",
                    p(i),
                    hms(v.sent_unix_ms),
                    passed.join(", "),
                    a.officer
                )
            } else {
                format!(
                    "link test {} {}: answered by {} after {latency} s — in time",
                    p(i),
                    hms(v.sent_unix_ms),
                    a.officer
                )
            };
            link_tests.push(line);
            *slot = Some((a.clone(), v));
        }
        let reach = clients[0].line_reachability().await?;
        for l in &link_tests {
            let _ = writeln!(out, "  {l}");
        }
        let figures: Vec<String> = reach
            .iter()
            .map(|r| {
                format!(
                    "{} {} in time, {} late, {} missed",
                    r.party, r.in_time, r.late, r.missed
                )
            })
            .collect();
        let _ = writeln!(out, "  reachability: {}", figures.join("; "));
        match (&link_test_ids[0], &link_test_ids[1]) {
            (Some((a, _)), Some((b, _))) if !a.late && b.late => {}
            _ => {
                return Err(DemoError::Check(format!(
                    "{} should answer its link test in time and {} late",
                    p(0),
                    p(1)
                )));
            }
        }

        // 2. The conflict alert's conversation, on both sides.
        let Some(th) = &self.alert else {
            return Err(DemoError::Check(
                "the conflict alert opened no conversation on the line".into(),
            ));
        };
        if th.received.iter().any(Option::is_none) {
            return Err(DemoError::Check(
                "the conflict alert reached only one party's line".into(),
            ));
        }
        let alert_kind = "alert";
        let alert_id = th.subject.id.as_str();
        let mut counts = Vec::new();
        for (i, c) in clients.iter().enumerate().take(2) {
            let list = c.line_conversations().await?;
            let n = list
                .iter()
                .find(|s| s.subject_kind == alert_kind && s.subject_id == alert_id)
                .map_or(0, |s| s.messages);
            counts.push(format!("{} sees {n} messages", p(i)));
        }
        let _ = writeln!(
            out,
            "  conflict alert {alert_id} opened a conversation on both sides: {}",
            counts.join(", ")
        );

        // 3. The strike warning: late, after escalating; the sender saw it on its stream.
        let strike_id = self.strike_id()?;
        let strike = clients[0].line_message(strike_id.as_str()).await?;
        let Some(ack) = &strike.acknowledged else {
            return Err(DemoError::Check(format!(
                "strike warning {strike_id} was never acknowledged"
            )));
        };
        if !ack.late || strike.escalations.is_empty() {
            return Err(DemoError::Check(format!(
                "strike warning {strike_id} should be acknowledged late, after escalating"
            )));
        }
        let _ = writeln!(
            out,
            "  strike warning {strike_id} to {} at {}, acknowledgement due {}: passed to {} at {}; acknowledged by {} at {} — late",
            p(1),
            hms(strike.sent_unix_ms),
            strike.deadline_unix_ms.map_or("-".into(), hms),
            strike
                .escalations
                .iter()
                .map(|e| e.to.as_str())
                .collect::<Vec<_>>()
                .join(", then "),
            strike
                .escalations
                .iter()
                .map(|e| hms(e.at_unix_ms))
                .collect::<Vec<_>>()
                .join(", "),
            ack.officer,
            hms(ack.at_unix_ms)
        );
        for (i, at_ms, ids) in &self.overdue_seen {
            let _ = writeln!(
                out,
                "    overdue at {} as {} sees it: {}",
                hms(*at_ms),
                p(*i),
                ids.join(", ")
            );
        }
        let overdue_on_both_sides = (0..2).all(|i| {
            self.overdue_seen
                .iter()
                .any(|(j, _, ids)| *j == i && ids.iter().any(|id| id == strike_id.as_str()))
        });
        if !overdue_on_both_sides {
            return Err(DemoError::Check(format!(
                "{strike_id} was not shown overdue to both parties"
            )));
        }
        let sender_events = line_effects(events.get(p(0)), strike_id.as_str());
        if !sender_events
            .iter()
            .any(|(_, kind, _)| kind == "line_escalated")
        {
            return Err(DemoError::Check(format!(
                "{}'s stream did not show the escalation of {strike_id}",
                p(0)
            )));
        }
        let escalations: Vec<String> = sender_events
            .iter()
            .map(|(seq, kind, effect)| {
                let what = match effect {
                    deconflict_line::Effect::Escalated {
                        from_officer,
                        to_officer,
                        level,
                        at_ms,
                        ..
                    } => format!(
                        "{} passed from {from_officer} to {to_officer} (level {level}) at {}",
                        strike_id,
                        hms(at_ms.unix_ms())
                    ),
                    deconflict_line::Effect::Overdue { at_ms, .. } => {
                        format!("{strike_id} overdue at {}", hms(at_ms.unix_ms()))
                    }
                    deconflict_line::Effect::Acknowledged {
                        officer,
                        late,
                        at_ms,
                        ..
                    } => format!(
                        "{strike_id} acknowledged by {officer} at {}{}",
                        hms(at_ms.unix_ms()),
                        if *late { ", late" } else { "" }
                    ),
                    other => format!("{strike_id}: {other:?}"),
                };
                format!("{}'s stream #{seq} {kind}: {what}", p(0))
            })
            .collect();
        for e in &escalations {
            let _ = writeln!(out, "    {e}");
        }

        // 4. The conversations, rendered by the service for each side's reader, and the line's
        //    effects each side saw on its stream, rendered in the same language.
        for (i, (lang, coords)) in READERS.iter().enumerate() {
            let reader = deconflict_line::ReaderProfile::new(
                lined(deconflict_line::Language::parse(lang))?,
                lined(deconflict_line::UtcOffset::parse(READER_OFFSET))?,
                if *coords == "dms" {
                    deconflict_line::CoordFormat::Dms
                } else {
                    deconflict_line::CoordFormat::Decimal
                },
            );
            let _ = writeln!(
                out,
                "\n=== The line as {} reads it ({lang}, UTC{READER_OFFSET}, {coords}) ===",
                p(i)
            );
            let (lt, lt_view) = link_test_ids[i]
                .as_ref()
                .map(|(a, v)| (a, v))
                .ok_or_else(|| DemoError::Check("link test missing".into()))?;
            let lt_subject = lt_view.message.subject().id.to_string();
            let parts = [
                ("link_test", lt_subject.as_str(), lt.message_id.as_str()),
                (alert_kind, alert_id, ""),
                (
                    "notification",
                    self.strike.0.id.as_str(),
                    strike_id.as_str(),
                ),
            ];
            for (kind, id, effects_of) in parts {
                let v = clients[i]
                    .line_conversation(kind, id, lang, READER_OFFSET, coords)
                    .await?;
                let _ = writeln!(out);
                out.push_str(&v.text);
                if !effects_of.is_empty() {
                    for (_, _, e) in line_effects(events.get(p(i)), effects_of) {
                        let _ = writeln!(
                            out,
                            "  → {}",
                            deconflict_line::render::render_effect(&reader, &e)
                        );
                    }
                }
            }
        }
        Ok(LineOutcome {
            text: out,
            link_tests,
            escalations,
        })
    }
}

/// The line's effects about `message_id` on one party's stream: overdue, escalated,
/// acknowledged, unanswered (sequence number, event kind, effect).
fn line_effects(
    events: Option<&Vec<(u64, String, String)>>,
    message_id: &str,
) -> Vec<(u64, String, deconflict_line::Effect)> {
    let mut out = Vec::new();
    for (seq, kind, data) in events.map(Vec::as_slice).unwrap_or_default() {
        if !matches!(
            kind.as_str(),
            "line_overdue" | "line_escalated" | "line_acknowledged" | "line_unanswered"
        ) {
            continue;
        }
        let Ok(effect) = serde_json::from_str::<deconflict_line::Effect>(data) else {
            continue;
        };
        let id = match &effect {
            deconflict_line::Effect::Deliver { message_id, .. }
            | deconflict_line::Effect::Overdue { message_id, .. }
            | deconflict_line::Effect::Escalated { message_id, .. }
            | deconflict_line::Effect::Acknowledged { message_id, .. }
            | deconflict_line::Effect::Unanswered { message_id, .. } => message_id.as_str(),
        };
        if id == message_id {
            out.push((*seq, kind.clone(), effect));
        }
    }
    out
}
