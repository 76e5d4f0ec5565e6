//! A logged report's leaf in its batch's Merkle tree ([`crate::reports`] commits the batches),
//! and the leaves of the reports accepted since their party's last batch, computed as each push
//! is stored so that the cycle does not read the reports back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use deconflict_client::wire::TrackReportIn;
use deconflict_log::{Hash, report_leaf_hash};
use deconflict_store::LoggedReport;

/// What any reader of an incident's evidence sees of a report: its track, time and position.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportCore {
    pub track_id: String,
    pub time_unix_ms: i64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
}

/// The evidence fields of a report, as JSON.
pub fn core_json(r: &TrackReportIn) -> String {
    // Plain fields: writing them cannot fail.
    serde_json::to_string(&ReportCore {
        track_id: r.track_id.clone(),
        time_unix_ms: r.time_unix_ms,
        lat_deg: r.lat_deg,
        lon_deg: r.lon_deg,
        alt_m: r.alt_m,
    })
    .unwrap_or_default()
}

/// The evidence fields of a stored report, as JSON (`None` for a body that is not a report).
/// The same text as [`core_json`] of the report the body was written from: its numbers read
/// back are the numbers written.
pub fn core_of(body: &str) -> Option<String> {
    let r: TrackReportIn = serde_json::from_str(body).ok()?;
    Some(core_json(&r))
}

/// The salted digest of a whole stored report: `SHA-256(salt ‖ party ‖ \n ‖ seq ‖ \n ‖ body)`.
pub fn rest_digest(salt: &[u8; 32], party: &str, seq: u64, body: &str) -> Hash {
    Hash::of_parts(&[
        salt,
        party.as_bytes(),
        b"\n",
        seq.to_string().as_bytes(),
        b"\n",
        body.as_bytes(),
    ])
}

/// The leaf hash of a logged report.
pub fn leaf_of(salt: &[u8; 32], r: &LoggedReport) -> Hash {
    report_leaf_hash(
        &r.party,
        r.seq,
        &core_of(&r.body).unwrap_or_default(),
        &rest_digest(salt, &r.party, r.seq, &r.body),
    )
}

/// The leaf of report `seq` of `party`, `r` as accepted and `body` as stored: [`leaf_of`] of
/// the stored report, without reading it back.
pub fn leaf_of_accepted(
    salt: &[u8; 32],
    party: &str,
    seq: u64,
    r: &TrackReportIn,
    body: &str,
) -> Hash {
    report_leaf_hash(
        party,
        seq,
        &core_json(r),
        &rest_digest(salt, party, seq, body),
    )
}

/// Most leaves held for one party; past it the party's are let go (counted) and its next
/// batch reads its reports back from the store instead.
pub const PENDING_LEAVES_MAX: usize = 1_000_000;

/// Each party's leaves of reports accepted since its last batch, by sequence number.
#[derive(Debug, Default)]
pub struct PendingLeaves {
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    leaves: HashMap<String, BTreeMap<u64, Hash>>,
    /// Per party, the report whose leaf a batch waited for once ([`PendingLeaves::wait_for`]).
    waited: HashMap<String, u64>,
}

impl PendingLeaves {
    /// Holds `leaves` of `party`; gives how many were let go to stay within
    /// [`PENDING_LEAVES_MAX`].
    pub fn hold(&self, party: &str, leaves: impl IntoIterator<Item = (u64, Hash)>) -> usize {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = held.leaves.entry(party.to_string()).or_default();
        mine.extend(leaves);
        if mine.len() > PENDING_LEAVES_MAX {
            let n = mine.len();
            mine.clear();
            return n;
        }
        0
    }

    /// Takes the leaves of `party` from `first` on while their numbers follow each other, at
    /// most `max`; those before `first` (batched already) are let go. Empty when `first` is not
    /// held.
    pub fn take_run(&self, party: &str, first: u64, max: usize) -> Vec<Hash> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(mine) = held.leaves.get_mut(party) else {
            return Vec::new();
        };
        *mine = mine.split_off(&first);
        let mut out = Vec::new();
        while out.len() < max {
            let Some(entry) = mine.first_entry() else {
                break;
            };
            if *entry.key() != first + out.len() as u64 {
                break;
            }
            out.push(entry.remove());
        }
        out
    }

    /// Lets go of the leaves of `party` up to `last` (batched).
    pub fn forget_through(&self, party: &str, last: u64) {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(mine) = held.leaves.get_mut(party) {
            *mine = mine.split_off(&(last + 1));
        }
    }

    /// Whether the batch of `party` from `first` should wait a cycle for that report's leaf:
    /// yes when later leaves are held (the push that stored `first` is still computing its
    /// own), once; a leaf still missing then is taken for lost (its push was dropped between
    /// its commit and its leaves), and the batch reads the reports back.
    pub fn wait_for(&self, party: &str, first: u64) -> bool {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let later = held
            .leaves
            .get(party)
            .is_some_and(|m| m.range(first + 1..).next().is_some());
        if !later || held.waited.get(party) == Some(&first) {
            return false;
        }
        held.waited.insert(party.to_string(), first);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(k: u64) -> Hash {
        Hash::of(&k.to_be_bytes())
    }

    /// `SHA-256(salt ‖ party \n seq \n body)`, the value computed outside this code (Python's
    /// hashlib) for these inputs.
    #[test]
    fn the_rest_digest_is_the_documented_hash() {
        let salt: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            rest_digest(&salt, "coalition", 7, r#"{"a":1}"#).to_hex(),
            "ee8683eb39e25a4b9e381bd66a93b27bd893a6a119858fccc2cd66b5bdd01664"
        );
    }

    #[test]
    fn a_run_is_taken_from_its_first_number_while_the_numbers_follow() {
        let p = PendingLeaves::default();
        assert_eq!(p.hold("a", [(3, h(3)), (1, h(1)), (2, h(2)), (5, h(5))]), 0);
        assert_eq!(p.take_run("a", 1, 2), vec![h(1), h(2)]);
        assert_eq!(p.take_run("a", 3, 10), vec![h(3)]);
        // 4 is missing: the run stops; 5 waits.
        assert!(p.take_run("a", 4, 10).is_empty());
        p.hold("a", [(4, h(4))]);
        assert_eq!(p.take_run("a", 4, 10), vec![h(4), h(5)]);
        assert!(p.take_run("b", 1, 10).is_empty());
    }

    #[test]
    fn batched_leaves_are_let_go() {
        let p = PendingLeaves::default();
        p.hold("a", (1..=10).map(|k| (k, h(k))));
        p.forget_through("a", 6);
        assert!(p.take_run("a", 6, 10).is_empty());
        assert_eq!(p.take_run("a", 7, 10).len(), 4);
        p.hold("a", (11..=12).map(|k| (k, h(k))));
        // Taking from 12 lets 11 go, as batched.
        assert_eq!(p.take_run("a", 12, 10), vec![h(12)]);
        assert!(p.take_run("a", 11, 10).is_empty());
    }

    #[test]
    fn a_batch_waits_once_for_a_leaf_on_its_way_then_reads_back() {
        let p = PendingLeaves::default();
        // Nothing held: nothing to wait for (after a start): read back.
        assert!(!p.wait_for("a", 1));
        p.hold("a", (3..=5).map(|k| (k, h(k))));
        // 1 and 2 not held, 3.. held: their push is on its way; wait, once.
        assert!(p.wait_for("a", 1));
        assert!(!p.wait_for("a", 1));
        // Another first report: a wait of its own.
        assert!(p.wait_for("a", 2));
        // Nothing later than 5 held: read back.
        assert!(!p.wait_for("a", 5));
        assert!(!p.wait_for("b", 1));
    }

    #[test]
    fn a_leaf_computed_at_acceptance_equals_the_stored_reports() {
        let r = TrackReportIn {
            track_id: "t-1".into(),
            time_unix_ms: 1_700_000_000_123,
            lat_deg: 35.123456789012,
            lon_deg: -0.1,
            alt_m: 6096.000000001,
            track_deg: 271.5,
            ground_speed_mps: 123.4,
            vertical_rate_mps: -1.0e-7,
            callsign: Some("VIPER11".into()),
            aircraft_type: None,
            icao24: Some("abc123".into()),
            squawk: None,
        };
        let body = serde_json::to_string(&r).unwrap();
        let salt = [7u8; 32];
        let stored = LoggedReport {
            party: "coalition".into(),
            seq: 42,
            track_id: r.track_id.clone(),
            time_ms: r.time_unix_ms,
            body: body.clone(),
        };
        assert_eq!(
            leaf_of_accepted(&salt, "coalition", 42, &r, &body),
            leaf_of(&salt, &stored)
        );
        assert_ne!(
            leaf_of_accepted(&salt, "coalition", 43, &r, &body),
            leaf_of(&salt, &stored)
        );
    }
}
