//! Shared test fixtures: two parties, their keys, their signed agreement, a service over an
//! in-memory store on a virtual clock, signed lifecycle statements, and signed requests sent
//! without sockets.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use deconflict_client::auth;
use deconflict_service::{Config, ManualClock, State, Terms};
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// 2017-04-12T08:00:00Z.
pub const T0_MS: i64 = 1_491_984_000_000;

pub fn key(party: &str) -> SigningKey {
    match party {
        "coalition" => SigningKey::from_bytes(&[1; 32]),
        "russia" => SigningKey::from_bytes(&[2; 32]),
        _ => SigningKey::from_bytes(&[9; 32]),
    }
}

/// The agreement crate's secret key of a test party (same seed as [`key`]).
pub fn secret(party: &str) -> deconflict_agreement::SecretKey {
    deconflict_agreement::SecretKey::from_seed(key(party).to_bytes())
}

/// The test agreement: the documented template with the test parties' keys, 9,260 m / 300 m,
/// and these disclosures: Coalition discloses position, altitude, velocity and callsign of its
/// aircraft, and the area, band and window of its notifications; Russia discloses position
/// and altitude only, and the area and window of its notifications.
pub fn agreement() -> deconflict_agreement::Agreement {
    deconflict_agreement::parse_toml(&agreement_toml()).unwrap()
}

/// The text of [`agreement`].
pub fn agreement_toml() -> String {
    let mut toml = deconflict_agreement::TEMPLATE_TOML.to_string();
    let swaps = [
        (
            "ed25519:8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
            secret("coalition").public_key().to_text(),
        ),
        (
            "ed25519:8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
            secret("russia").public_key().to_text(),
        ),
        ("vertical_m = 305", "vertical_m = 300".to_string()),
        (
            "disclose_track = [\"position\", \"altitude\", \"velocity\"]\n",
            "disclose_track = [\"position\", \"altitude\"]\n".to_string(),
        ),
    ];
    for (from, to) in swaps {
        assert_eq!(toml.matches(from).count(), 1, "template changed: {from}");
        toml = toml.replacen(from, &to, 1);
    }
    // Russia's notification disclosure is the second one in the file.
    let n = "disclose_notification = [\"area\", \"altitude_band\", \"time_window\"]";
    let at = toml
        .rfind(n)
        .expect("template changed: disclose_notification");
    toml.replace_range(
        at..at + n.len(),
        "disclose_notification = [\"area\", \"time_window\"]",
    );
    toml
}

/// Both parties' signatures over [`agreement`].
pub fn signatures() -> Vec<deconflict_agreement::AgreementSignature> {
    let a = agreement();
    ["coalition", "russia"]
        .iter()
        .map(|p| {
            let pid = deconflict_agreement::PartyId::new(p).unwrap();
            deconflict_agreement::AgreementSignature::sign(&a, &pid, &secret(p)).unwrap()
        })
        .collect()
}

/// The terms of [`agreement`], signed by both parties.
pub fn terms() -> Terms {
    Terms::from_agreement(&agreement())
        .unwrap()
        .with_signatures(signatures())
}

/// A party's signed lifecycle statement on `basis_seq`.
pub fn statement(
    party: &str,
    signer: &str,
    basis_seq: u64,
    action: deconflict_agreement::Action,
) -> deconflict_agreement::SignedStatement {
    deconflict_agreement::Statement::new(
        agreement().id(),
        deconflict_agreement::PartyId::new(party).unwrap(),
        basis_seq,
        action,
    )
    .unwrap()
    .sign(&secret(signer))
}

/// The body of `POST /v1/agreement/actions` for `statement`, its log entry signed by
/// `entry_signer` at `time_ms`.
pub fn action_body(
    statement: &deconflict_agreement::SignedStatement,
    entry_signer: &str,
    time_ms: i64,
) -> String {
    let req =
        deconflict_client::statement_entry::action_request(statement, time_ms, &key(entry_signer))
            .unwrap();
    serde_json::to_string(&req).unwrap()
}

pub fn suspend(reason: &str) -> deconflict_agreement::Action {
    deconflict_agreement::Action::Suspend {
        reason: reason.into(),
    }
}

pub fn reactivate(conditions: &str) -> deconflict_agreement::Action {
    deconflict_agreement::Action::Reactivate {
        conditions: conditions.into(),
    }
}

pub fn terminate(reason: &str) -> deconflict_agreement::Action {
    deconflict_agreement::Action::Terminate {
        reason: reason.into(),
    }
}

pub struct Harness {
    pub state: Arc<State>,
    pub router: Router,
    pub clock: ManualClock,
}

pub fn harness() -> Harness {
    harness_with(Config::default())
}

pub fn harness_with(config: Config) -> Harness {
    harness_with_terms(config, terms())
}

/// A harness serving `terms`.
pub fn harness_with_terms(config: Config, terms: Terms) -> Harness {
    let clock = ManualClock::new(T0_MS);
    let store = deconflict_store::SqliteStore::open_in_memory().unwrap();
    let state = State::open(
        config,
        terms,
        true,
        Box::new(store),
        Arc::new(clock.clone()),
    )
    .unwrap();
    let (router, _) = deconflict_service::api::router(state.clone());
    Harness {
        state,
        router,
        clock,
    }
}

pub fn nonce() -> String {
    auth::new_nonce()
}

/// A request signed by `party` with `signer`'s key, created at `created_s`.
pub fn signed_as(
    method: &str,
    path: &str,
    body: &[u8],
    party: &str,
    signer: &SigningKey,
    created_s: i64,
) -> Request<Body> {
    let headers = auth::sign_request(method, path, body, party, signer, created_s, &nonce());
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(k, v);
    }
    b.header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap()
}

impl Harness {
    pub fn now_s(&self) -> i64 {
        use deconflict_service::Clock;
        self.clock.now_s()
    }

    pub fn signed(&self, method: &str, path: &str, body: &[u8], party: &str) -> Request<Body> {
        signed_as(method, path, body, party, &key(party), self.now_s())
    }

    pub async fn send(&self, req: Request<Body>) -> (u16, Vec<u8>) {
        let resp: Response<Body> = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, bytes)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: &str,
        party: &str,
    ) -> (u16, serde_json::Value) {
        let (status, bytes) = self
            .send(self.signed(method, path, body.as_bytes(), party))
            .await;
        let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, v)
    }
}

impl Harness {
    /// The service's `/metrics` text.
    pub async fn metrics_text(&self) -> String {
        let get = Request::builder()
            .uri("/metrics")
            .body(Body::empty())
            .unwrap();
        String::from_utf8(self.send(get).await.1).unwrap()
    }
}

/// A report at the harness clock's now.
pub fn report(
    track: &str,
    t_ms: i64,
    lat: f64,
    lon: f64,
    alt: f64,
    trk: f64,
    gs: f64,
) -> serde_json::Value {
    serde_json::json!({
        "track_id": track,
        "time_unix_ms": t_ms,
        "lat_deg": lat,
        "lon_deg": lon,
        "alt_m": alt,
        "track_deg": trk,
        "ground_speed_mps": gs,
        "vertical_rate_mps": 0.0,
        "callsign": format!("CS{track}"),
        "aircraft_type": "TYPE-WITHHELD",
        "squawk": "7777"
    })
}

pub fn notification(
    id: &str,
    lat: f64,
    lon: f64,
    radius_m: f64,
    remarks: &str,
) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "notification": {
            "area": {"kind": "circle", "centre": {"lat_deg": lat, "lon_deg": lon}, "radius_m": radius_m},
            "alt_min_m": 3000.0,
            "alt_max_m": 9000.0,
            "start_unix_ms": T0_MS,
            "end_unix_ms": T0_MS + 3_600_000,
            "callsigns": ["SECRETCS1"],
            "remarks": remarks
        }
    })
}

/// `body` — a notification create, update (it has `revision`) or withdrawal (it has no
/// `notification`) request without its `entry_*` fields — completed with the log entry
/// `party` signs for notification `id` at `time_ms`: salts derived from its key for the fields
/// the test agreement leaves `party` undisclosed, its key from [`key`].
pub fn authored_at(party: &str, id: &str, body: &serde_json::Value, time_ms: i64) -> String {
    use deconflict_client::notification_entry as ne;
    let mut body = body.clone();
    let revision = body["revision"].as_u64().map_or(1, |r| r + 1);
    if body.get("notification").is_some() {
        let n: deconflict_client::wire::NotificationIn =
            serde_json::from_value(body["notification"].clone()).unwrap();
        let disclosed = terms()
            .party(party)
            .map(|p| p.disclose_notification.clone())
            .unwrap_or_default();
        let e = ne::sign_notification(party, id, revision, &n, &disclosed, time_ms, &key(party))
            .unwrap();
        body["entry_salts"] = serde_json::to_value(&e.entry_salts).unwrap();
        body["entry_signature"] = e.entry_signature.into();
    } else {
        body["entry_signature"] = ne::sign_withdrawal(party, id, time_ms, &key(party))
            .unwrap()
            .into();
    }
    body["entry_time_ms"] = time_ms.into();
    body.to_string()
}

/// Attaches the shared log to `h`'s service, in a fresh directory (kept alive by the
/// returned guard): it starts with both signatures over the agreement and "in force".
pub fn attach_log(h: &Harness) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = deconflict_service::datadir::DataDir::new(dir.path());
    let log = deconflict_service::log_entries::ServiceLog::open(
        &data,
        &h.state.terms,
        &["coalition".to_string(), "russia".to_string()],
        T0_MS,
    )
    .unwrap();
    assert!(h.state.attach_log(Arc::new(log)));
    dir
}

/// [`authored_at`] at [`T0_MS`], for a create (`id` from the body).
pub fn authored(party: &str, body: &serde_json::Value) -> String {
    let id = body["id"]
        .as_str()
        .expect("a create names its id")
        .to_string();
    authored_at(party, &id, body, T0_MS)
}

/// The `deconflict` binary of this target directory, built if missing. One older than the
/// workspace's sources is a failure, not a run of yesterday's code: rebuilding it here would cost
/// minutes and can resolve features differently from the workspace build, so the test says to
/// build it instead.
pub fn binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    let bin = dir.join(format!("deconflict{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        if let Err(stale) = check_fresh(&bin, &workspace) {
            panic!("{stale}");
        }
        return Some(bin);
    }
    // `cargo test` builds a binary only for its own package's tests: build it the way a
    // user would, into the same target directory and profile (cargo holds no lock while
    // tests run).
    let cargo = std::env::var_os("CARGO")?;
    let target = dir.parent()?;
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "deconflict"])
        .env("CARGO_TARGET_DIR", target);
    if dir.file_name()? == "release" {
        cmd.arg("--release");
    }
    let ok = cmd.status().ok()?.success();
    (ok && bin.exists()).then_some(bin)
}

/// Directories of a crate that do not go into the binary.
const NOT_BUILT: &[&str] = &[
    "tests",
    "benches",
    "fuzz",
    "testdata",
    "browser-tests",
    "target",
];

/// The newest file the binary is built from: everything under `workspace/crates/*/` but tests,
/// benches, fuzz targets and test data (sources, build scripts, manifests, templates, locales,
/// embedded assets). The path and its modification time.
pub fn newest_source(
    workspace: &std::path::Path,
) -> std::io::Result<Option<(std::path::PathBuf, std::time::SystemTime)>> {
    fn walk(
        dir: &std::path::Path,
        top: bool,
        newest: &mut Option<(std::path::PathBuf, std::time::SystemTime)>,
    ) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let kind = e.file_type()?;
            let name = e.file_name();
            if kind.is_dir() {
                if !(top && NOT_BUILT.iter().any(|n| name == *n)) && name != ".git" {
                    walk(&e.path(), false, newest)?;
                }
            } else if kind.is_file() {
                let t = e.metadata()?.modified()?;
                if newest.as_ref().is_none_or(|(_, n)| t > *n) {
                    *newest = Some((e.path(), t));
                }
            }
        }
        Ok(())
    }
    let mut newest = None;
    for c in std::fs::read_dir(workspace.join("crates"))? {
        let c = c?;
        if c.file_type()?.is_dir() {
            walk(&c.path(), true, &mut newest)?;
        }
    }
    Ok(newest)
}

/// `Err` with what to do when `bin` is older than the newest source under `workspace`.
pub fn check_fresh(bin: &std::path::Path, workspace: &std::path::Path) -> Result<(), String> {
    let built = std::fs::metadata(bin)
        .and_then(|m| m.modified())
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let newest = newest_source(workspace).map_err(|e| format!("{}: {e}", workspace.display()))?;
    match newest {
        Some((source, t)) if t > built => Err(format!(
            "{} is older than {} (changed {} s after the binary was built): the end-to-end tests \
             would run stale code. Build it first: `cargo build -p deconflict` (with --release \
             for a release test run)",
            bin.display(),
            source.display(),
            t.duration_since(built).map_or(0, |d| d.as_secs())
        )),
        _ => Ok(()),
    }
}

/// [`binary`], or `None` with a note when it cannot be built — a failure instead when
/// `DECONFLICT_REQUIRE_PEERS=1` (as in CI).
pub fn require_binary() -> Option<std::path::PathBuf> {
    match binary() {
        Some(b) => Some(b),
        None if std::env::var("DECONFLICT_REQUIRE_PEERS").as_deref() == Ok("1") => {
            panic!("the deconflict binary could not be built")
        }
        None => {
            eprintln!("skipping: the deconflict binary could not be built");
            None
        }
    }
}

/// `deconflict demo --data-dir DIR` with the real binary; its summary (stdout).
pub fn run_demo(bin: &std::path::Path, dir: &std::path::Path) -> String {
    let demo = std::process::Command::new(bin)
        .args(["demo", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    String::from_utf8_lossy(&demo.stdout).into_owned()
}

/// Starts `deconflict serve --data-dir DIR --listen 127.0.0.1:0 EXTRA…`; the child and the URL
/// it prints (`listening on URL`).
pub fn spawn_serve(
    bin: &std::path::Path,
    dir: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    use std::process::Stdio;
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, url)
}

/// Signed clients of the demo's two parties (`coalition`, `russia`) against the service at
/// `base`, with the keys the demo left in its data directory.
pub fn demo_clients(
    dir: &deconflict_service::datadir::DataDir,
    base: &str,
) -> Vec<deconflict_client::PartyClient> {
    use deconflict_service::datadir;
    ["coalition", "russia"]
        .iter()
        .map(|p| {
            let key = datadir::read_secret_key(&dir.key(p)).unwrap();
            deconflict_client::PartyClient::new(
                base,
                p,
                datadir::signing_key(&key).unwrap(),
                Arc::new(deconflict_service::SystemClock),
            )
        })
        .collect()
}
