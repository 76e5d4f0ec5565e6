//! `deconflict bench notifications`: how long creating a notification takes with 1k, 10k and
//! 100k already stored, through the desk core and through HTTP.
//!
//! Core: [`deconflict_desk::Desk::notify`] (the strategic check against every other party's
//! notification through the airspace crate's `StrategicIndex`, and the insertion, in one call)
//! on a desk set up from the demo's agreement, as the service sets it up.
//!
//! HTTP: signed `POST /v1/notifications` to the service on loopback, with the party's signed
//! log entry, recorded in the log file and committed to SQLite (WAL, synchronous=FULL) before
//! the answer, as in production. Creating 100k notifications through HTTP one by one would
//! take longer than the measurement itself, so the stored notifications are written to the
//! store directly and the service holds them in its desk when it starts (as after a restart);
//! only the timed creates go through HTTP. The output says so.
//!
//! The sizes are measured in interleaved rounds (one create at each size, then the next
//! round), so that every size sees the same machine load; the figure judged is the median at
//! the largest size over the median at the smallest.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use deconflict_desk as desk;
use deconflict_sim::Scenario;
use deconflict_store::{Notification, NotificationStatus, Store as _, Write};

use deconflict_client::PartyClient;
use deconflict_client::clock::{Clock, SystemClock};
use deconflict_client::wire::*;
use deconflict_service::datadir::{self, DataDir};
use deconflict_service::state::{Config, State};
use deconflict_service::terms::Terms;

/// The target: the median create at the largest size within this factor of the median at the
/// smallest.
pub const RATIO_MAX: f64 = 2.0;
/// Stored notifications written per store commit while filling.
pub const FILL_BATCH: usize = 5_000;

#[derive(Debug, Clone)]
pub struct Options {
    /// Notifications stored before the timed creates, smallest first.
    pub stored: Vec<usize>,
    /// Creates timed at each size through the core.
    pub creates: usize,
    /// Creates timed at each size through HTTP (0: the core alone).
    pub http_creates: usize,
}

/// What the benchmark found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The printed report; its last line is the judged figures.
    pub text: String,
    /// Whether every path met [`RATIO_MAX`].
    pub met: bool,
}

pub use crate::bench::BenchError;
use crate::bench::setup;

/// Start of the week the benchmark's notifications are spread over (2023-11-14T22:13:20Z).
const WEEK_START_MS: i64 = 1_700_000_000_000;

/// The `i`-th benchmark notification: a 5 km circle somewhere in a 600 × 600 km square
/// around 35° N 39° E (inside the demo agreement's region), 3000–9000 m, one hour within a
/// week: a realistic density, few of them overlapping.
pub fn notification(i: usize) -> NotificationIn {
    let x = (i.wrapping_mul(7919) % 1000) as f64 / 1000.0;
    let y = (i.wrapping_mul(104_729) % 997) as f64 / 997.0;
    let hour = (i.wrapping_mul(31) % 168) as i64;
    let start = WEEK_START_MS + hour * 3_600_000;
    NotificationIn {
        area: AreaIn::Circle {
            centre: LatLon {
                lat_deg: 32.0 + 6.0 * y,
                lon_deg: 36.0 + 6.0 * x,
            },
            radius_m: 5_000.0,
        },
        alt_min_m: 3000.0,
        alt_max_m: 9000.0,
        start_unix_ms: start,
        end_unix_ms: start + 3_600_000,
        callsigns: Vec::new(),
        aircraft_count: None,
        aircraft_type: None,
        remarks: None,
        strike_warning: false,
    }
}

fn stored(i: usize, party: &str) -> NotificationStored {
    NotificationStored {
        id: format!("{party}-{i}"),
        party: party.to_string(),
        revision: 1,
        status: "active".into(),
        recorded_unix_ms: WEEK_START_MS,
        notification: notification(i),
    }
}

/// The stored notifications alternate between the two parties; the timed creates are the
/// second party's, checked against the first's.
fn filler_party(scenario: &Scenario, i: usize) -> &str {
    &scenario.parties[i % 2].id
}

fn terms(scenario: &Scenario) -> Result<Terms, BenchError> {
    let agreement = scenario.agreement();
    let mut signatures = Vec::new();
    for (party, key) in scenario.parties.iter().zip(scenario.keys()) {
        let pid = deconflict_agreement::PartyId::new(&party.id).map_err(setup)?;
        signatures.push(
            deconflict_agreement::AgreementSignature::sign(&agreement, &pid, &key)
                .map_err(setup)?,
        );
    }
    Ok(Terms::from_agreement(&agreement)
        .map_err(setup)?
        .with_signatures(signatures))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn p90(v: &[f64]) -> f64 {
    // `v` is sorted by `median`.
    v.get((v.len() * 9) / 10).copied().unwrap_or(f64::NAN)
}

/// Runs the benchmark (blocking; starts its own runtime for the HTTP part).
pub fn run(opts: &Options) -> Result<Outcome, BenchError> {
    let scenario = Scenario::generate(&deconflict_sim::Config::default()).map_err(setup)?;
    let terms = terms(&scenario)?;
    let sizes = &opts.stored;
    let (Some(&smallest), Some(&largest)) = (sizes.first(), sizes.last()) else {
        return Err(setup("--stored names no size"));
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "deconflict bench notifications — create latency by notifications stored ({}); sizes interleaved round by round",
        sizes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Through the core.
    let started = Instant::now();
    let mut desks = Vec::new();
    for &n in sizes {
        let alerter = deconflict_service::desk_wire::alerter(&terms).map_err(setup)?;
        let mut d =
            desk::Desk::new(deconflict_service::desk_wire::setup(&terms, alerter).map_err(setup)?)
                .map_err(setup)?;
        for i in 0..n {
            let s = stored(i, filler_party(&scenario, i));
            let an = deconflict_service::strategic::notification(&s)
                .map_err(|(f, e)| setup(format!("{f}: {e}")))?;
            d.notify(an, Vec::new()).map_err(setup)?;
        }
        desks.push(d);
    }
    let fill_s = started.elapsed().as_secs_f64();
    let creator = scenario.parties[1].id.clone();
    let mut core_us: Vec<Vec<f64>> = vec![Vec::new(); sizes.len()];
    let mut core_flagged = vec![0usize; sizes.len()];
    for k in 0..opts.creates.max(1) {
        for (j, d) in desks.iter_mut().enumerate() {
            let mut s = stored(sizes[j] + k, &creator);
            s.id = format!("{creator}-new-{k}");
            let an = deconflict_service::strategic::notification(&s)
                .map_err(|(f, e)| setup(format!("{f}: {e}")))?;
            let t = Instant::now();
            let (conflicts, _) = d.notify(an, Vec::new()).map_err(setup)?;
            core_us[j].push(t.elapsed().as_secs_f64() * 1e6);
            core_flagged[j] += conflicts.len();
        }
    }
    drop(desks);
    let _ = writeln!(
        out,
        "\nthrough the desk core (Desk::notify: the strategic check through StrategicIndex, then the insertion; filled in {fill_s:.1} s):"
    );
    let mut core_medians = Vec::new();
    for (j, &n) in sizes.iter().enumerate() {
        let m = median(&mut core_us[j]);
        core_medians.push(m);
        let _ = writeln!(
            out,
            "  {n:>7} stored: median {m:>8.1} µs, p90 {:>8.1} µs over {} creates ({} overlaps flagged)",
            p90(&core_us[j]),
            core_us[j].len(),
            core_flagged[j]
        );
    }
    let core_ratio = core_medians.last().copied().unwrap_or(f64::NAN)
        / core_medians.first().copied().unwrap_or(f64::NAN);

    // Through HTTP.
    let mut http_ratio = None;
    if opts.http_creates > 0 {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(setup)?;
        let (text, ratio) = rt.block_on(http(&scenario, &terms, sizes, opts.http_creates))?;
        out.push_str(&text);
        http_ratio = Some(ratio);
    }

    let verdict = |r: f64| {
        if r <= RATIO_MAX { "met" } else { "MISSED" }
    };
    let mut last = format!(
        "median create at {largest} stored / at {smallest} stored (target <= {RATIO_MAX}): core {:.2} µs / {:.2} µs = {core_ratio:.2} ({})",
        core_medians.last().copied().unwrap_or(f64::NAN),
        core_medians.first().copied().unwrap_or(f64::NAN),
        verdict(core_ratio)
    );
    let mut met = core_ratio <= RATIO_MAX;
    if let Some((r, hi_ms, lo_ms)) = http_ratio {
        let _ = write!(
            last,
            "; HTTP {hi_ms:.2} ms / {lo_ms:.2} ms = {r:.2} ({})",
            verdict(r)
        );
        met &= r <= RATIO_MAX;
    }
    let _ = writeln!(out, "\n{last}");
    Ok(Outcome { text: out, met })
}

/// One service per size on loopback; returns the report's HTTP part and (ratio, median at the
/// largest size ms, median at the smallest ms).
async fn http(
    scenario: &Scenario,
    terms: &Terms,
    sizes: &[usize],
    creates: usize,
) -> Result<(String, (f64, f64, f64)), BenchError> {
    let mut out = String::new();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = Config {
        // The benchmark measures the service, not the per-party rate limit.
        rate_requests_per_s: 1e9,
        rate_burst_requests: 1e9,
        ..Config::default()
    };
    let mut dirs = Vec::new();
    let mut services = Vec::new();
    let mut fill_s = Vec::new();
    for &n in sizes {
        let tmp = tempfile::tempdir().map_err(setup)?;
        let dir = DataDir::new(tmp.path());
        dir.create().map_err(setup)?;
        let started = Instant::now();
        let mut store = deconflict_store::SqliteStore::open(&dir.store()).map_err(setup)?;
        let mut batch = Vec::with_capacity(FILL_BATCH);
        for i in 0..n {
            let s = stored(i, filler_party(scenario, i));
            batch.push(Write::Notification(Notification {
                id: s.id.clone(),
                party: s.party.clone(),
                revision: 1,
                status: NotificationStatus::Active,
                body: serde_json::to_string(&s).map_err(setup)?,
                recorded_ms: s.recorded_unix_ms,
            }));
            if batch.len() == FILL_BATCH || i + 1 == n {
                store.commit(&batch).map_err(setup)?;
                batch.clear();
            }
        }
        let state = State::open(
            config.clone(),
            terms.clone(),
            true,
            Box::new(store),
            clock.clone(),
        )
        .map_err(setup)?;
        let held = state.notifications_held();
        if held != n {
            return Err(setup(format!(
                "the service holds {held} of the {n} stored notifications"
            )));
        }
        let signed_by: Vec<String> = terms.parties.iter().map(|p| p.id.clone()).collect();
        let log = deconflict_service::log_entries::ServiceLog::open(
            &dir,
            terms,
            &signed_by,
            clock.now_ms(),
        )
        .map_err(setup)?;
        state.attach_log(Arc::new(log));
        fill_s.push(started.elapsed().as_secs_f64());
        services.push(
            crate::loopback::Loopback::start(state.clone(), false)
                .await
                .map_err(setup)?,
        );
        dirs.push(tmp);
    }
    let creator = &scenario.parties[1];
    let key = scenario.keys()[1].clone();
    let sk = datadir::signing_key(&key).ok_or_else(|| setup("key conversion"))?;
    let clients: Vec<PartyClient> = services
        .iter()
        .map(|s| PartyClient::new(&s.base, &creator.id, sk.clone(), clock.clone()))
        .collect();
    let disclosed: BTreeSet<String> = terms
        .party(&creator.id)
        .map(|p| p.disclose_notification.clone())
        .unwrap_or_default();
    let mut ms: Vec<Vec<f64>> = vec![Vec::new(); sizes.len()];
    let mut flagged = vec![0usize; sizes.len()];
    for k in 0..creates {
        for (j, c) in clients.iter().enumerate() {
            let n = notification(sizes[j] + k);
            let id = format!("{}-new-{k}", creator.id);
            let t = Instant::now();
            let r = c.notification_create(&id, &n, &disclosed).await?;
            ms[j].push(t.elapsed().as_secs_f64() * 1e3);
            flagged[j] += r.conflicts.len();
        }
    }
    for s in services {
        s.stop().await;
    }
    drop(dirs);
    let _ = writeln!(
        out,
        "\nthrough HTTP (signed POST /v1/notifications on loopback, recorded and committed with fsync before the answer; the stored notifications were written to the store directly and taken into the desk when the service started, since creating them one by one through HTTP would take longer than the measurement):"
    );
    let mut medians = Vec::new();
    for (j, &n) in sizes.iter().enumerate() {
        let m = median(&mut ms[j]);
        medians.push(m);
        let _ = writeln!(
            out,
            "  {n:>7} stored: median {m:>8.2} ms, p90 {:>8.2} ms over {} creates ({} overlaps flagged; store filled and service started in {:.1} s)",
            p90(&ms[j]),
            ms[j].len(),
            flagged[j],
            fill_s[j]
        );
    }
    let hi = medians.last().copied().unwrap_or(f64::NAN);
    let lo = medians.first().copied().unwrap_or(f64::NAN);
    Ok((out, (hi / lo, hi, lo)))
}
