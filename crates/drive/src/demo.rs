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

mod duty;
mod incident;
mod line_script;
mod live;
use line_script::*;
use live::*;

use deconflict_client::PartyClient;
use deconflict_client::clock::ManualClock;
use deconflict_client::wire::*;
use deconflict_service::datadir::{self, DataDir};
use deconflict_service::state::{Config, State};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    #[error("data directory: {0}")]
    DataDir(#[from] datadir::DataDirError),
    #[error("{0}")]
    Setup(String),
    #[error("request failed: {0}")]
    Client(#[from] deconflict_client::ClientError),
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
    /// The incident filed after the flight: its computed closest approach, both accounts,
    /// the evidence bundle.
    pub incident_text: String,
    /// The days of duty after the first (`--days`), empty for one day.
    pub duty_text: String,
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
    /// Entries in the shared log, its root hash (hex), and the service's public key (hex).
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
    /// Entries in the shared log by kind (`geography`, `nonconformance`, and each DO-365
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
        s.push_str(&self.incident_text);
        s.push_str(&self.duty_text);
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

fn notification_in(n: &deconflict_sim::scenario::Notification) -> NotificationIn {
    NotificationIn {
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
    }
}

/// Each party pushes its own of `reports` (their times moved by `shift_ms`) as one signed
/// batch, the parties at once; returns how many were pushed.
async fn push(
    clients: &[PartyClient],
    reports: &[deconflict_sim::TrackReport],
    shift_ms: i64,
) -> Result<usize, DemoError> {
    let mut pushed = 0;
    let mut pushes = Vec::new();
    for c in clients {
        let batch = TrackBatchIn {
            reports: reports
                .iter()
                .filter(|r| r.party == c.party())
                .map(|r| TrackReportIn {
                    time_unix_ms: r.t_unix_ms + shift_ms,
                    ..report_in(r)
                })
                .collect(),
        };
        if batch.reports.is_empty() {
            continue;
        }
        pushed += batch.reports.len();
        let c = c.clone();
        pushes.push(tokio::spawn(async move {
            c.call::<_, TracksAccepted>("POST", "/v1/tracks/batch", Some(&batch))
                .await
        }));
    }
    for p in pushes {
        p.await.map_err(|e| DemoError::Setup(e.to_string()))??;
    }
    Ok(pushed)
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
    // The working-group members' keys (each member signs its own assessments).
    for (member, key) in scenario.members().iter().zip(scenario.member_keys()) {
        datadir::write_key_pair(&dir.root.join("keys").join(member), &key)?;
    }
    Ok(())
}

/// Runs the demo over `days` days of the virtual clock (1: the story alone); `data_dir` keeps
/// everything afterwards (a temporary directory otherwise).
pub fn run(data_dir: Option<&Path>, days: u32) -> Result<DemoSummary, DemoError> {
    if !(1..=duty::DAYS_MAX).contains(&days) {
        return Err(DemoError::Setup(format!(
            "--days must be within 1..={}, got {days}",
            duty::DAYS_MAX
        )));
    }
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
    rt.block_on(run_async(&root, data_dir.is_some(), days))
}

/// The running demo: its scenario, agreement, clock, service and the parties' clients.
struct Session {
    config: deconflict_sim::Config,
    scenario: Scenario,
    loaded: datadir::LoadedAgreement,
    clock: ManualClock,
    state: Arc<State>,
    log: Arc<deconflict_service::log_entries::ServiceLog>,
    service: crate::loopback::Loopback,
    clients: Vec<PartyClient>,
}

/// What the parties' event streams carried: (party, seq, event, data).
type Received = mpsc::UnboundedReceiver<(String, u64, String, String)>;

/// Per party: (seq, event, data) in the order received.
type Got = BTreeMap<String, Vec<(u64, String, String)>>;

impl Session {
    /// Generates the scenario, writes its agreement and keys into `root`, and starts the
    /// service on loopback over a fresh store and record, on a virtual clock.
    async fn start(root: &Path) -> Result<Session, DemoError> {
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
        let log = deconflict_service::log_entries::ServiceLog::open(
            &dir,
            &loaded.terms,
            &loaded.signed_by,
            config.start_unix_ms,
        )
        .map_err(|e| DemoError::Setup(e.to_string()))?;
        let log = Arc::new(log);
        state.attach_log(log.clone());
        let service = crate::loopback::Loopback::start(state.clone(), false)
            .await
            .map_err(|e| DemoError::Setup(e.to_string()))?;
        let mut clients = Vec::new();
        for (party, key) in scenario.parties.iter().zip(scenario.keys()) {
            let sk = datadir::signing_key(&key)
                .ok_or_else(|| DemoError::Setup("key conversion".into()))?;
            clients.push(PartyClient::new(
                &service.base,
                &party.id,
                sk,
                Arc::new(clock.clone()),
            ));
        }
        Ok(Session {
            config,
            scenario,
            loaded,
            clock,
            state,
            log,
            service,
            clients,
        })
    }

    /// Both parties open their event streams; what they carry arrives on the receiver.
    async fn listen(&self) -> Result<(Received, Vec<tokio::task::JoinHandle<()>>), DemoError> {
        let (ev_tx, ev_rx) = mpsc::unbounded_channel::<(String, u64, String, String)>();
        let mut listeners = Vec::new();
        for c in &self.clients {
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
        Ok((ev_rx, listeners))
    }

    /// The summary's opening: where the data is, the agreement, the parties.
    async fn summary(&self, root: &Path, kept: bool) -> Result<DemoSummary, DemoError> {
        let terms = &self.loaded.terms;
        let mut summary = DemoSummary {
            data_dir: if kept {
                root.display().to_string()
            } else {
                "a temporary directory (use --data-dir DIR to keep it)".into()
            },
            agreement_id: terms.id.clone(),
            listen: self.service.addr.to_string(),
            start_unix_ms: self.config.start_unix_ms,
            parties: terms
                .parties
                .iter()
                .map(|p| (p.id.clone(), p.name.clone(), p.language.clone()))
                .collect(),
            ..DemoSummary::default()
        };
        let view: AgreementView = self.clients[0]
            .call::<(), _>("GET", "/v1/agreement", None)
            .await?;
        summary.agreement_status = view.status.replace('_', " ");
        Ok(summary)
    }

    /// Each party notifies its operations, signing each entry itself; the strategic check
    /// answers at once.
    async fn notify(&self, summary: &mut DemoSummary) -> Result<(), DemoError> {
        for n in &self.scenario.notifications {
            let Some(c) = self.clients.iter().find(|c| c.party() == n.party) else {
                continue;
            };
            let disclosed = self
                .loaded
                .terms
                .party(&n.party)
                .map(|p| p.disclose_notification.clone())
                .unwrap_or_default();
            let r = c
                .notification_create(&n.id, &notification_in(n), &disclosed)
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
        Ok(())
    }

    /// The flight, faster than real time: each second the parties push their reports, one
    /// party's receiver feed is replayed, the desk runs a cycle and the duty officers work the
    /// line.
    async fn fly(
        &self,
        summary: &mut DemoSummary,
        script: &mut LineScript,
    ) -> Result<(), DemoError> {
        let start_ms = self.config.start_unix_ms;
        let mut receiver = ReceiverReplay::open(&self.loaded.terms, self.config.duration_s);
        for t in 0..=self.config.duration_s {
            let now_ms = start_ms + i64::from(t) * 1000;
            self.clock.set_ms(now_ms);
            summary.reports_pushed += push(&self.clients, &self.scenario.reports_at(t), 0).await?;
            if let Some(r) = receiver.as_mut() {
                r.step(&self.state, t);
            }
            self.state
                .run_cycle()
                .await
                .map_err(|e| DemoError::Check(e.body.message))?;
            summary.cycles += 1;
            script.step(&self.clients, t, now_ms).await?;
        }
        summary.sim_seconds = self.config.duration_s;
        summary.receiver = match &mut receiver {
            Some(r) => r.finish(&self.state)?,
            None => format!(
                "Receiver feed: the recording {RECEIVER_RECORDING} is not here (run the demo from a \
                 checkout of the repository to replay it)"
            ),
        };
        Ok(())
    }

    /// Waits (20 s at most) until every stream has carried everything the store holds; returns
    /// what the store holds per party and what each stream carried.
    async fn drain(&self, ev_rx: &mut Received) -> Result<(BTreeMap<String, u64>, Got), DemoError> {
        let mut held = BTreeMap::new();
        for p in &self.loaded.terms.parties {
            let pid = p.id.clone();
            let last = self
                .state
                .with_store(move |s| s.last_seq(&pid))
                .await
                .map_err(|e| DemoError::Check(e.body.message))??;
            held.insert(p.id.clone(), last);
        }
        let mut got: Got = BTreeMap::new();
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
        Ok((held, got))
    }
}

async fn run_async(root: &Path, kept: bool, days: u32) -> Result<DemoSummary, DemoError> {
    let wall = Instant::now();
    let session = Session::start(root).await?;
    // Both parties listen before anything happens.
    let (mut ev_rx, listeners) = session.listen().await?;
    let mut summary = session.summary(root, kept).await?;
    session.notify(&mut summary).await?;
    let start_ms = session.config.start_unix_ms;
    let mut script = LineScript::new(&session.scenario, start_ms)?;
    session.fly(&mut summary, &mut script).await?;
    // The working group's turn: an incident about the warning, with both accounts.
    summary.incident_text = incident::run(
        &session.clients,
        &session.scenario,
        start_ms,
        &session.loaded.terms,
        session.log.public_key(),
        kept.then_some(root),
    )
    .await?;

    let (held, got) = session.drain(&mut ev_rx).await?;
    // The streams have carried everything the checks read: nobody reads them after this, so
    // the days of duty do not pile their events up in the channel.
    for l in listeners {
        l.abort();
    }
    drop(ev_rx);
    let line_outcome = script.report(&session.clients, &got).await;
    // What the first day's checks below read: the record as the story left it.
    let story_head = session.log.log_file().latest_tree_head();
    let duty = match (&line_outcome, days) {
        (Ok(_), 2..) => {
            let duty = duty::Duty {
                clients: &session.clients,
                state: &session.state,
                clock: &session.clock,
                scenario: &session.scenario,
                terms: &session.loaded.terms,
                start_ms,
            };
            duty.run(days).await
        }
        _ => Ok(String::new()),
    };
    let Session {
        scenario,
        loaded,
        log,
        service,
        ..
    } = session;
    service.stop().await;
    summary.duty_text = duty?;
    let line_outcome = line_outcome?;
    streams_checked(&mut summary, &held, &got, start_ms)?;
    live_desk(&mut summary, &got, &scenario, &loaded.terms)?;
    story_checked(&mut summary, &scenario)?;
    let story_size = story_head.tree_head().size();
    check_authored_notifications(&log, &loaded.terms, &scenario, story_size)?;
    summary.record_entries = record_entries(&log, story_size)?;
    check_live_desk(&summary)?;
    let head = log.log_file().latest_tree_head();
    summary.log_size = head.tree_head().size();
    summary.log_root = head.tree_head().root().to_hex();
    summary.log_key_hex = log.public_key_hex();
    summary.line_text = line_outcome.text;
    summary.link_tests = line_outcome.link_tests;
    summary.escalations = line_outcome.escalations;
    summary.wall_seconds = wall.elapsed().as_secs_f64();
    Ok(summary)
}

/// Each stream delivered exactly the events the store holds, in order; the alerts each party
/// received, and what each saw of the other's aircraft, go to the summary.
fn streams_checked(
    summary: &mut DemoSummary,
    held: &BTreeMap<String, u64>,
    got: &Got,
    start_ms: i64,
) -> Result<(), DemoError> {
    for (party, n) in held {
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
    Ok(())
}

/// The designed conflict reached both parties as a tactical alert, and the overlapping
/// notifications were flagged.
fn story_checked(summary: &mut DemoSummary, scenario: &Scenario) -> Result<(), DemoError> {
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
