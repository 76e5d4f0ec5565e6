//! The shared log: every accepted agreement event, notification (and withdrawal) and alert
//! (with a summary of both tracks at alert time) becomes a log entry appended to the log file
//! in `DATA_DIR/log/` before the request is answered. What a party states — a lifecycle
//! statement ([`crate::lifecycle::statement_entry`]), a notification or its withdrawal
//! ([`deconflict_client::notification_entry`]), a line message — is recorded by the entry the party itself
//! signed, so it verifies with the party's key, not the service's; what the service generates
//! (alerts, track summaries, the agreement's signatures as it received them) is signed by the
//! service's key.
//!
//! Fields a party does not disclose to the others are logged as salted commitments (salts the
//! author chose for its notifications, drawn here for track summaries); the salt and value (the
//! opening) go to `DATA_DIR/log-openings.jsonl`, made durable before the entry is appended,
//! so the service can open them later to a working group.
//!
//! The record is the truth and the store the view the API serves: the log file is written first,
//! so an entry may exist for a request whose store commit then failed (the record shows an
//! attempt, bound as `unstored`), but nothing is ever acknowledged without its entry, and every
//! row an entry stands for is bound to it and checked at start ([`crate::binding`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use deconflict_log::{
    AgreementEventKind, Entry, EntryBody, FieldValue, Fields, Hash, KeyId, KeyRing, Opening,
    PublicKey, Salt, SignedEntry, SigningKey,
};
use deconflict_logfile::{LogFile, LogFileConfig, LogFileError};
use deconflict_store::Write;
use serde::Deserialize as _;

use deconflict_client::notification_entry::{fixed, text};

use crate::datadir::{self, DataDir, DataDirError};
use crate::terms::Terms;
use deconflict_client::wire::TrackView;

mod openings;

use openings::OpeningsFile;
pub use openings::{
    OPENING_LINE_BYTES_MAX, OPENINGS_FILE_BYTES_MAX, openings_files, parse_opening_line,
};

/// The service's key id in the log (party ids are the agreement's).
pub const SERVICE_KEY_ID: &str = "service";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    #[error("{0}")]
    DataDir(#[from] DataDirError),
    #[error("log file: {0}")]
    LogFile(#[from] LogFileError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("log entry: {0}")]
    Entry(String),
}

/// The service's log file, key and openings file.
pub struct ServiceLog {
    log_file: LogFile,
    id: KeyId,
    key: SigningKey,
    openings_path: PathBuf,
    openings: Mutex<OpeningsFile>,
    /// The log file was empty when opened, and `open` logged the agreement's signatures.
    started_new: bool,
}

impl std::fmt::Debug for ServiceLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceLog")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What every geography and nonconformance event carries (`GeographyView`,
/// `NonconformanceView`), as its entry needs it.
#[derive(Debug, serde::Deserialize)]
struct EventCore {
    event_id: String,
    party: String,
    time_unix_ms: i64,
    lat_deg: f64,
    lon_deg: f64,
    alt_m: f64,
}

/// The stored body of a geography or nonconformance event, and its core. The service wrote it
/// from a typed view: one without these fields is damaged, and signing zeros and empty names in
/// their place would put a false entry in the log.
fn event_core(e: &deconflict_store::NewEvent) -> Result<(serde_json::Value, EventCore), LogError> {
    let bad = |err: serde_json::Error| {
        LogError::Entry(format!(
            "{} event for {}: the body is not the event's view: {err}",
            e.kind, e.party
        ))
    };
    let v = serde_json::from_str::<serde_json::Value>(&e.body).map_err(bad)?;
    let core = EventCore::deserialize(&v).map_err(bad)?;
    Ok((v, core))
}

fn entry_err(e: impl std::fmt::Display) -> LogError {
    LogError::Entry(e.to_string())
}

/// Reads `DATA_DIR/keys/service.key`, or creates it (and `service.pub`) on first start.
pub fn service_key(dir: &DataDir) -> Result<SigningKey, LogError> {
    let path = dir.key(SERVICE_KEY_ID);
    let secret = if path.exists() {
        datadir::read_secret_key(&path)?
    } else {
        dir.create()?;
        let key = datadir::generate_key();
        datadir::write_key_pair(&dir.root.join("keys").join(SERVICE_KEY_ID), &key)?;
        key
    };
    datadir::signing_key(&secret)
        .ok_or_else(|| LogError::Entry(format!("{}: not a usable key", path.display())))
}

impl ServiceLog {
    /// Opens (or creates) the log file in `DATA_DIR/log/` with every party's key. A new log
    /// starts with the agreement's events: each signature that verified, then "in force" when
    /// every party signed.
    pub fn open(
        dir: &DataDir,
        terms: &Terms,
        signed_by: &[String],
        now_ms: i64,
    ) -> Result<ServiceLog, LogError> {
        let key = service_key(dir)?;
        let id = KeyId::new(SERVICE_KEY_ID).map_err(entry_err)?;
        let mut keys = KeyRing::new();
        for p in &terms.parties {
            let pid = KeyId::new(p.id.as_str()).map_err(entry_err)?;
            keys.insert(pid, p.key).map_err(entry_err)?;
        }
        // Working-group members sign their assessments (`crate::incidents`).
        for p in terms.agreement.parties() {
            for m in p.members() {
                let id = KeyId::new(m.id()).map_err(entry_err)?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(m.public_key().as_bytes())
                    .map_err(|e| LogError::Entry(format!("member {}: key: {e}", m.id())))?;
                keys.insert(id, key).map_err(entry_err)?;
            }
        }
        datadir::rename_legacy_names(&dir.root)?;
        let log_file = LogFile::open(
            &log_dir(&dir.root),
            LogFileConfig::new(id.clone(), key.clone(), keys),
        )?;
        let openings_path = dir.root.join(datadir::OPENINGS_FILE);
        let openings =
            OpeningsFile::open(&openings_path, OPENINGS_FILE_BYTES_MAX).map_err(|source| {
                LogError::Io {
                    path: openings_path.clone(),
                    source,
                }
            })?;
        let log = ServiceLog {
            log_file,
            id,
            key,
            openings_path,
            openings: Mutex::new(openings),
            started_new: false,
        };
        let mut log = log;
        log.started_new = log.log_file.latest_tree_head().tree_head().size() == 0;
        if log.started_new {
            let mut entries = Vec::new();
            for p in signed_by {
                entries.push(log.agreement_event(
                    terms,
                    now_ms,
                    AgreementEventKind::Signed,
                    Some(signed_reason_of(terms, p)?),
                    1,
                )?);
            }
            if terms.parties.iter().all(|p| signed_by.contains(&p.id)) {
                entries.push(log.agreement_event(
                    terms,
                    now_ms,
                    AgreementEventKind::InForce,
                    None,
                    1,
                )?);
            }
            log.append_all(entries)?;
        }
        Ok(log)
    }

    /// True when the log file was empty when opened (its first entries are the agreement's
    /// signatures as given to [`Self::open`]).
    pub fn started_new(&self) -> bool {
        self.started_new
    }

    /// Logs signatures over the agreement that entered its history after the log began (a
    /// party signed while the service was stopped), and "in force" when the last one brought
    /// it there. Blocks until durable.
    pub fn record_signatures(
        &self,
        terms: &Terms,
        parties: &[String],
        came_into_force: bool,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let mut entries = Vec::new();
        for p in parties {
            entries.push(self.agreement_event(
                terms,
                now_ms,
                AgreementEventKind::Signed,
                Some(signed_reason_of(terms, p)?),
                1,
            )?);
        }
        if came_into_force {
            entries.push(self.agreement_event(
                terms,
                now_ms,
                AgreementEventKind::InForce,
                None,
                1,
            )?);
        }
        self.append_all(entries).map(|_| ())
    }

    /// The log file, for proofs and reads.
    pub fn log_file(&self) -> &LogFile {
        &self.log_file
    }

    /// The secret that salts the digests of whole reports in report batches
    /// ([`crate::reports::rest_digest`]): derived from the log's key, never shown.
    pub fn report_salt(&self) -> [u8; 32] {
        let mut b = b"deconflict report salt v1\n".to_vec();
        b.extend_from_slice(&self.key.to_bytes());
        deconflict_log::Hash::of(&b).0
    }

    /// The service's public key (the log's).
    pub fn public_key(&self) -> deconflict_log::VerifyingKey {
        self.key.verifying_key()
    }

    /// The service's public key as 64 hex digits (what `deconflict verify --log-key` takes).
    pub fn public_key_hex(&self) -> String {
        PublicKey(self.key.verifying_key()).to_hex()
    }

    /// Signs `entry` (whose author must be the service) with the service's key: entries the
    /// service authors outside a store batch, e.g. the line messages it sends (conflict alerts,
    /// link tests).
    pub fn sign_own(&self, entry: Entry) -> Result<SignedEntry, LogError> {
        if entry.author() != &self.id {
            return Err(LogError::Entry(format!(
                "entry authored by {}, not by the service",
                entry.author().as_str()
            )));
        }
        SignedEntry::sign(entry, &self.key).map_err(entry_err)
    }

    fn sign(&self, time_ms: i64, body: EntryBody) -> Result<SignedEntry, LogError> {
        let entry = Entry::new(self.id.clone(), time_ms.max(0) as u64, body).map_err(entry_err)?;
        SignedEntry::sign(entry, &self.key).map_err(entry_err)
    }

    fn agreement_event(
        &self,
        terms: &Terms,
        time_ms: i64,
        event: AgreementEventKind,
        reason: Option<String>,
        version: u64,
    ) -> Result<SignedEntry, LogError> {
        self.sign(
            time_ms,
            EntryBody::AgreementEvent {
                agreement_id: text(&terms.id),
                digest: Hash::of(&terms.document),
                event,
                reason: reason.map(|r| text(&r)),
                version: deconflict_log::field::Count::new(version).map_err(entry_err)?,
            },
        )
    }

    /// Appends entries and blocks until all are durable (call from a blocking task). Returns
    /// each entry's index in the log file and its leaf hash, in the order given.
    pub fn append_all(&self, entries: Vec<SignedEntry>) -> Result<Vec<(u64, Hash)>, LogError> {
        let mut tickets = Vec::with_capacity(entries.len());
        for e in entries {
            let hash = e.leaf_hash();
            tickets.push((self.log_file.submit(e)?, hash));
        }
        let mut out = Vec::with_capacity(tickets.len());
        for (t, hash) in tickets {
            let index = t.index();
            t.wait()?;
            out.push((index, hash));
        }
        Ok(out)
    }

    /// The entries a batch of store writes becomes, and the openings of their commitments.
    pub fn entries_for(
        &self,
        terms: &Terms,
        writes: &[Write],
        now_ms: i64,
    ) -> Result<(Vec<SignedEntry>, Vec<Opening>), LogError> {
        let mut out = Vec::new();
        let mut openings = Vec::new();
        for w in writes {
            match w {
                // Lifecycle statements are recorded by the entries their parties signed
                // (`crate::lifecycle`), appended before this batch; signatures over the
                // agreement when the log is opened.
                Write::AgreementVersion(_) => {}
                Write::AgreementSignature(s) => {
                    let body = EntryBody::AgreementEvent {
                        agreement_id: text(&terms.id),
                        digest: Hash::of(&terms.document),
                        event: AgreementEventKind::Signed,
                        reason: Some(text(&signed_reason(
                            &s.party,
                            &format!(
                                "{}{}",
                                deconflict_agreement::keys::SIGNATURE_PREFIX,
                                hex::encode(&s.signature)
                            ),
                        ))),
                        version: deconflict_log::field::Count::new(s.version).map_err(entry_err)?,
                    };
                    out.push(self.sign(now_ms, body)?);
                }
                // A notification and its withdrawal are recorded by the entry their party
                // signed (`deconflict_client::notification_entry`), passed to `State::commit_authored`.
                Write::Notification(_) => {}
                Write::Alert(a) => {
                    out.extend(self.alert_entries(terms, a, now_ms, &mut openings)?)
                }
                // Geography and nonconformance events are signed once each (a geography
                // event goes to every party; its owner's copy is the one recorded).
                Write::Event(e) if e.kind == "geography" || e.kind == "nonconformance" => {
                    out.extend(self.event_entry(terms, e, now_ms)?);
                }
                // Track reports and other stream events are not part of the record.
                _ => {}
            }
        }
        Ok((out, openings))
    }

    /// An alert's entry (its geometry and each party's advice) and each party's summary of its
    /// own track, from the party's own view.
    fn alert_entries(
        &self,
        terms: &Terms,
        a: &deconflict_store::Alert,
        now_ms: i64,
        openings: &mut Vec<Opening>,
    ) -> Result<Vec<SignedEntry>, LogError> {
        let mut out = Vec::new();
        let (level, mut geometry) = alert_geometry(a)?;
        let views = alert_views(a)?;
        let mut summaries = Vec::new();
        let mut advice = Vec::new();
        for (party, v) in &views {
            let Ok(view) = serde_json::from_value::<deconflict_client::wire::AlertView>(v.clone())
            else {
                continue;
            };
            // Each party's own suggestion, from its own view (which holds it in full).
            if let Some(adv) = view.advice.as_ref().filter(|a| &a.own.party == party) {
                advice.push((view.created_unix_ms, adv.own.clone()));
            }
            // Each party's own view holds its own track in full.
            if let Some(own) = view.own.as_ref().filter(|t| &t.party == party) {
                summaries.push(EntryBody::TrackSummary {
                    alert_id: Some(text(&a.id)),
                    fields: track_fields(terms, own, openings)?,
                    track_id: text(&format!("{}/{}", own.party, own.track_id)),
                });
            }
        }
        advice_fields(terms, &mut geometry, advice, openings)?;
        let mut parties = Vec::new();
        for p in &a.parties {
            parties.push(KeyId::new(p.as_str()).map_err(entry_err)?);
        }
        out.push(self.sign(
            now_ms,
            EntryBody::Alert {
                alert_id: text(&a.id),
                fields: geometry,
                level: text(&level),
                parties,
            },
        )?);
        for s in summaries {
            out.push(self.sign(now_ms, s)?);
        }
        Ok(out)
    }

    /// A geography or nonconformance event's entry, signed from its owner's copy only.
    fn event_entry(
        &self,
        terms: &Terms,
        e: &deconflict_store::NewEvent,
        now_ms: i64,
    ) -> Result<Option<SignedEntry>, LogError> {
        let (v, core) = event_core(e)?;
        let owner = core.party.as_str();
        if owner != e.party {
            return Ok(None);
        }
        let mut fields = Fields::new();
        for name in [
            "kind",
            "party",
            "track_id",
            "callsign",
            "line",
            "into_side_of",
            "zone",
        ] {
            if let Some(t) = v[name].as_str() {
                put(&mut fields, name, FieldValue::text(t))?;
            }
        }
        if let Some(list) = v["notifications"].as_array() {
            let ids: Vec<&str> = list.iter().filter_map(|x| x.as_str()).collect();
            put(
                &mut fields,
                "notifications",
                FieldValue::text(ids.join(",")),
            )?;
        }
        put(
            &mut fields,
            "time_unix_ms",
            FieldValue::int(core.time_unix_ms),
        )?;
        for (name, deg) in [("lat_e7", core.lat_deg), ("lon_e7", core.lon_deg)] {
            put(
                &mut fields,
                name,
                FieldValue::int((deg * 1e7).round() as i64),
            )?;
        }
        put(
            &mut fields,
            "alt_mm",
            FieldValue::int((core.alt_m * 1000.0).round() as i64),
        )?;
        let mut parties = Vec::new();
        if e.kind == "geography" {
            for p in &terms.parties {
                parties.push(KeyId::new(p.id.as_str()).map_err(entry_err)?);
            }
        } else {
            parties.push(KeyId::new(owner).map_err(entry_err)?);
        }
        Ok(Some(self.sign(
            now_ms,
            EntryBody::Alert {
                alert_id: text(&core.event_id),
                fields,
                level: text(&e.kind),
                parties,
            },
        )?))
    }

    /// Makes the openings durable (one JSON line each), then the entries: called before the
    /// store commit, so nothing is acknowledged that is not in the record. Returns each entry's
    /// index and leaf hash, in the order given.
    pub fn record(
        &self,
        entries: Vec<SignedEntry>,
        openings: &[Opening],
    ) -> Result<Vec<(u64, Hash)>, LogError> {
        if !openings.is_empty() {
            let io = |source| LogError::Io {
                path: self.openings_path.clone(),
                source,
            };
            let mut f = self
                .openings
                .lock()
                .map_err(|_| LogError::Entry("openings lock poisoned".into()))?;
            let mut buf = Vec::new();
            for o in openings {
                let c = o.commitment().map_err(entry_err)?;
                let line = serde_json::json!({ "commitment": c.to_hex(), "opening": o });
                buf.extend_from_slice(line.to_string().as_bytes());
                buf.push(b'\n');
            }
            f.append(&buf).map_err(io)?;
        }
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        self.append_all(entries)
    }

    /// Where the openings are kept (the live file; [`openings_files`] lists the rotated ones
    /// too).
    pub fn openings_path(&self) -> &Path {
        &self.openings_path
    }
}

/// A stored alert's body: each recipient's view by party. The service wrote it as a JSON
/// object; anything else is a damaged store, refused rather than read as an alert with no views.
fn alert_views(
    a: &deconflict_store::Alert,
) -> Result<serde_json::Map<String, serde_json::Value>, LogError> {
    serde_json::from_str(&a.body).map_err(|e| {
        LogError::Entry(format!(
            "alert {}: stored body is not a JSON object: {e}",
            a.id
        ))
    })
}

/// The level and the clear fields (`conflict_id`, `kind`, and the geometry each recipient's
/// view gives) of the `alert` entry a stored alert becomes: a pure function of the stored
/// alert, so the store's alert can be checked against its entry again.
pub(crate) fn alert_geometry(a: &deconflict_store::Alert) -> Result<(String, Fields), LogError> {
    let views = alert_views(a)?;
    let mut level = String::from("none");
    let mut geometry = Fields::new();
    put(&mut geometry, "conflict_id", FieldValue::text(&a.conflict))?;
    put(&mut geometry, "kind", FieldValue::text(&a.kind))?;
    for v in views.values() {
        let Ok(view) = serde_json::from_value::<deconflict_client::wire::AlertView>(v.clone())
        else {
            continue;
        };
        level = view.level.clone();
        for (name, x) in [
            ("time_to_los_ms", view.time_to_los_s.map(|s| s * 1000.0)),
            ("time_los_end_ms", view.time_los_end_s.map(|s| s * 1000.0)),
            ("closest_h_mm", view.closest_h_m.map(|m| m * 1000.0)),
        ] {
            if let Some(x) = x.filter(|x| x.is_finite()) {
                put(&mut geometry, name, FieldValue::int(x.round() as i64))?;
            }
        }
    }
    Ok((level, geometry))
}

/// Prefix of the reason of a `signed` agreement event.
const SIGNED_BY: &str = "signed by ";

/// The reason of a `signed` agreement event: `signed by <party>: ed25519-sig:<128 hex>`, the
/// party's own detached signature over the agreement's canonical bytes. The entry is the
/// service's (it saw the signature), but the proof of consent in it is the party's, and
/// `deconflict verify --agreement` checks it ([`check_against_agreement`]).
fn signed_reason(party: &str, signature_text: &str) -> String {
    format!("{SIGNED_BY}{party}: {signature_text}")
}

fn signed_reason_of(terms: &Terms, party: &str) -> Result<String, LogError> {
    let sig = terms
        .signatures
        .iter()
        .find(|s| s.party().as_str() == party)
        .ok_or_else(|| {
            LogError::Entry(format!(
                "no signature of {party} over the agreement to record"
            ))
        })?;
    Ok(signed_reason(party, &sig.signature().to_text()))
}

/// Checks one entry of the record against the agreement it is about (what `deconflict verify
/// --agreement` adds to the log's own checks): every agreement event names this agreement (its
/// id and digest), and every `signed` event carries the named party's valid signature over
/// it; a notification or a withdrawal is authored by a party to the agreement, and a
/// notification's `party` field names its author. Other entries pass. The error says what is
/// wrong.
pub fn check_against_agreement(
    entry: &Entry,
    agreement: &deconflict_agreement::Agreement,
) -> Result<(), String> {
    let (agreement_id, digest, event, reason) = match entry.body() {
        EntryBody::AgreementEvent {
            agreement_id,
            digest,
            event,
            reason,
            ..
        } => (agreement_id, digest, event, reason),
        EntryBody::Notification { fields, .. } => {
            let author = entry.author().as_str();
            notifying_party(author, agreement)?;
            return match fields.get("party") {
                Some(FieldValue::Text(p)) if p.as_str() == author => Ok(()),
                other => Err(format!(
                    "a notification authored by {author} names another party: {other:?}"
                )),
            };
        }
        EntryBody::NotificationWithdrawal { .. } => {
            return notifying_party(entry.author().as_str(), agreement);
        }
        _ => return Ok(()),
    };
    let id = agreement.id();
    if agreement_id.as_str() != id.to_text() || digest.0 != *id.as_bytes() {
        return Err(format!(
            "an agreement event about {} (digest {}), not this agreement {}",
            agreement_id.as_str(),
            digest.to_hex(),
            id.to_text()
        ));
    }
    if *event != AgreementEventKind::Signed {
        return Ok(());
    }
    let reason = reason.as_ref().map(|r| r.as_str()).unwrap_or_default();
    let (party, sig) = reason
        .strip_prefix(SIGNED_BY)
        .and_then(|r| r.split_once(": "))
        .ok_or_else(|| {
            format!(
                "a signature event without the party's signature over the agreement: {reason:?}"
            )
        })?;
    let party_id = deconflict_agreement::PartyId::new(party)
        .map_err(|e| format!("signature event: party {party:?}: {e}"))?;
    let p = agreement
        .party(&party_id)
        .ok_or_else(|| format!("signature event: {party} is not a party to the agreement"))?;
    let sig = deconflict_agreement::Signature::from_text(sig)
        .map_err(|e| format!("signature event of {party}: {e}"))?;
    if !p.public_key().verify(agreement.canonical_bytes(), &sig) {
        return Err(format!(
            "signature event of {party}: the signature does not verify with {party}'s key over this agreement"
        ));
    }
    Ok(())
}

/// A notification or its withdrawal is authored by a party to the agreement.
fn notifying_party(
    author: &str,
    agreement: &deconflict_agreement::Agreement,
) -> Result<(), String> {
    let is_party = deconflict_agreement::PartyId::new(author)
        .ok()
        .is_some_and(|p| agreement.party(&p).is_some());
    if is_party {
        Ok(())
    } else {
        Err(format!(
            "a notification authored by {author}, who is not a party to the agreement"
        ))
    }
}

fn put(
    fields: &mut Fields,
    name: &str,
    value: Result<FieldValue, deconflict_log::FieldError>,
) -> Result<(), LogError> {
    let value = value.map_err(entry_err)?;
    fields.insert(name, value).map_err(entry_err)
}

/// Puts `value` in the clear when disclosed, else as a salted commitment (salt from the OS RNG).
fn put_private(
    fields: &mut Fields,
    name: &str,
    value: FieldValue,
    disclosed: bool,
    openings: &mut Vec<Opening>,
) -> Result<(), LogError> {
    if disclosed {
        return fields.insert(name, value).map_err(entry_err);
    }
    use rand::RngCore as _;
    let mut salt = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let (c, opening) = FieldValue::commit(value, Salt(salt)).map_err(entry_err)?;
    openings.push(opening);
    fields.insert(name, c).map_err(entry_err)
}

/// The coordinated advice of an alert entry: `advice_at_unix_ms` (the time both reports are
/// flown to), then per aircraft, `advice_1_…` for the name (`<party>/<track id>`) sorting first
/// and `advice_2_…` for the other: `_track`, `_vertical` (`climb`/`descend`), `_turn`
/// (`right`/`left`) in the clear, and `_altitude_mm`, `_direction_mdeg` (when the bands give
/// them) in the clear when the aircraft's party discloses `altitude` (`velocity`), else as
/// salted commitments.
fn advice_fields(
    terms: &Terms,
    fields: &mut Fields,
    mut advice: Vec<(i64, deconflict_client::wire::ManoeuvreView)>,
    openings: &mut Vec<Opening>,
) -> Result<(), LogError> {
    let name = |m: &deconflict_client::wire::ManoeuvreView| format!("{}/{}", m.party, m.track_id);
    advice.sort_by_key(|(_, m)| name(m));
    if let Some((at_ms, _)) = advice.first() {
        put(fields, "advice_at_unix_ms", FieldValue::int(*at_ms))?;
    }
    for (i, (_, m)) in advice.iter().enumerate() {
        let d = |f: &str| {
            terms
                .party(&m.party)
                .is_some_and(|p| p.disclose_track.contains(f))
        };
        let k = |f: &str| format!("advice_{}_{f}", i + 1);
        put(fields, &k("track"), FieldValue::text(name(m)))?;
        put(fields, &k("vertical"), FieldValue::text(&m.vertical))?;
        put(fields, &k("turn"), FieldValue::text(&m.turn))?;
        if let Some(alt) = m.altitude_m {
            put_private(
                fields,
                &k("altitude_mm"),
                fixed(alt, 1000.0).map_err(LogError::Entry)?,
                d("altitude"),
                openings,
            )?;
        }
        if let Some(dir) = m.direction_deg {
            put_private(
                fields,
                &k("direction_mdeg"),
                fixed(dir, 1000.0).map_err(LogError::Entry)?,
                d("velocity"),
                openings,
            )?;
        }
    }
    Ok(())
}

fn track_fields(
    terms: &Terms,
    t: &TrackView,
    openings: &mut Vec<Opening>,
) -> Result<Fields, LogError> {
    let d = |f: &str| {
        terms
            .party(&t.party)
            .is_some_and(|p| p.disclose_track.contains(f))
    };
    let mut f = Fields::new();
    put(&mut f, "time_unix_ms", FieldValue::int(t.time_unix_ms))?;
    let nums = [
        ("lat_udeg", t.lat_deg, 1e6, "position"),
        ("lon_udeg", t.lon_deg, 1e6, "position"),
        ("alt_mm", t.alt_m, 1000.0, "altitude"),
        ("track_mdeg", t.track_deg, 1000.0, "velocity"),
        ("ground_speed_mmps", t.ground_speed_mps, 1000.0, "velocity"),
        (
            "vertical_rate_mmps",
            t.vertical_rate_mps,
            1000.0,
            "velocity",
        ),
    ];
    for (name, v, scale, field) in nums {
        if let Some(v) = v {
            put_private(
                &mut f,
                name,
                fixed(v, scale).map_err(LogError::Entry)?,
                d(field),
                openings,
            )?;
        }
    }
    let texts = [
        ("callsign", &t.callsign),
        ("aircraft_type", &t.aircraft_type),
        ("icao24", &t.icao24),
        ("squawk", &t.squawk),
    ];
    for (name, v) in texts {
        if let Some(v) = v {
            put_private(&mut f, name, FieldValue::Text(text(v)), d(name), openings)?;
        }
    }
    Ok(f)
}

/// Where the service keeps its log inside a data directory.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(datadir::LOG_DIR)
}

#[cfg(test)]
mod tests;
