//! Countersignatures of tree heads over the API, without sockets: a party countersigns a head it
//! fetched and it is listed; a repeat appends nothing; a countersignature signed with the other
//! party's key, authored by the other party, of a head never issued, with a tampered root or
//! time, not canonical, not a countersignature, or a replayed request is refused with its own
//! code and leaves the log exactly as it was; the exported log, countersignatures included,
//! verifies against the agreement's keys.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use deconflict_client::auth;
use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, Hash, KeyId, KeyRing, SignedEntry, Text, TreeHead,
    TreeHeadUpdate, VerifyOptions,
};
use deconflict_service::log_api::{CosignatureAccepted, CosignatureList, LogKeys};
use ed25519_dalek::SigningKey;
use serde_json::Value;

const PATH: &str = "/v1/log/cosignatures";

struct Fixture {
    h: Harness,
    _dir: tempfile::TempDir,
}

/// A harness with the shared log attached (two signatures and "in force" already in it).
fn fixture() -> Fixture {
    let h = harness();
    let dir = attach_log(&h);
    Fixture { h, _dir: dir }
}

impl Fixture {
    fn size(&self) -> u64 {
        let log = self.h.state.log().unwrap();
        log.log_file().latest_tree_head().tree_head().size()
    }

    /// What a party fetches: the latest head, checked with the log's key.
    async fn fetch_head(&self, party: &str) -> TreeHead {
        let (s, v) = self
            .h
            .call("GET", "/v1/log/tree-head?since=0", "", party)
            .await;
        assert_eq!(s, 200, "{v}");
        let update = TreeHeadUpdate::from_json(v.to_string().as_bytes()).unwrap();
        let (s, keys) = self.h.call("GET", "/v1/log/keys", "", party).await;
        assert_eq!(s, 200, "{keys}");
        let keys: LogKeys = serde_json::from_value(keys).unwrap();
        let log_key = deconflict_log::PublicKey::from_hex(&keys.keys[keys.log.as_str()]).unwrap();
        update.tree_head.verify(&log_key.0).unwrap();
        update.tree_head.tree_head().clone()
    }

    async fn post(&self, party: &str, body: &[u8]) -> (u16, Value) {
        let (s, bytes) = self.h.send(self.h.signed("POST", PATH, body, party)).await;
        (s, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

fn cosign(author: &str, signer: &str, head: TreeHead) -> SignedEntry {
    let e = Entry::cosignature(KeyId::new(author).unwrap(), T0_MS as u64 + 5, head).unwrap();
    SignedEntry::sign(e, &key(signer)).unwrap()
}

/// A refusal case: what it is, the body, and the expected status, code and field.
type Case = (
    &'static str,
    Vec<u8>,
    u16,
    &'static str,
    Option<&'static str>,
);

fn with_root(head: &TreeHead, root: Hash) -> TreeHead {
    TreeHead::new(head.log().clone(), head.size(), root, head.time_ms()).unwrap()
}

#[tokio::test]
async fn a_party_countersigns_a_head_it_fetched_and_it_is_listed_once() {
    let f = fixture();
    let head = f.fetch_head("coalition").await;
    let size_before = f.size();
    let c = cosign("coalition", "coalition", head.clone());
    let (s, v) = f.post("coalition", c.as_bytes()).await;
    assert_eq!(s, 200, "{v}");
    let accepted: CosignatureAccepted = serde_json::from_value(v).unwrap();
    assert_eq!(
        accepted,
        CosignatureAccepted {
            index: size_before,
            appended: true,
            party: "coalition".into(),
            size: head.size(),
            root: head.root().to_hex(),
        }
    );
    assert_eq!(
        f.size(),
        size_before + 1,
        "durable and covered when answered"
    );

    // Listed with the exact signed entry, under the head's size and in the full list.
    let (s, v) =
        f.h.call("GET", &format!("{PATH}?size={}", head.size()), "", "russia")
            .await;
    assert_eq!(s, 200, "{v}");
    let list: CosignatureList = serde_json::from_value(v).unwrap();
    assert_eq!(list.cosignatures.len(), 1);
    let view = &list.cosignatures[0];
    assert_eq!(
        (view.index, view.party.as_str(), view.size, view.time_ms),
        (size_before, "coalition", head.size(), T0_MS as u64 + 5)
    );
    assert_eq!(view.root, head.root().to_hex());
    assert_eq!(view.tree_head_time_ms, head.time_ms());
    assert_eq!(
        serde_json::to_vec(&view.entry).unwrap(),
        c.as_bytes(),
        "the listed entry is the signed canonical form"
    );
    let (_, v) = f.h.call("GET", PATH, "", "coalition").await;
    assert_eq!(v["cosignatures"].as_array().unwrap().len(), 1);
    let (_, v) =
        f.h.call(
            "GET",
            &format!("{PATH}?size={}", head.size() + 1),
            "",
            "coalition",
        )
        .await;
    assert_eq!(v["cosignatures"], Value::Array(vec![]));

    // The same countersignature again (a retry, as a new request): 200, nothing appended.
    let (s, v) = f.post("coalition", c.as_bytes()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["appended"], false);
    assert_eq!(v["index"], size_before);
    // Even signed at another time, a second countersignature of the same head is the same one.
    let e = Entry::cosignature(
        KeyId::new("coalition").unwrap(),
        T0_MS as u64 + 99,
        head.clone(),
    )
    .unwrap();
    let again = SignedEntry::sign(e, &key("coalition")).unwrap();
    let (s, v) = f.post("coalition", again.as_bytes()).await;
    assert_eq!(
        (s, &v["appended"], &v["index"]),
        (200, &Value::Bool(false), &size_before.into())
    );
    assert_eq!(f.size(), size_before + 1);
    // The other party countersigns the same head: its own entry.
    let (s, v) = f
        .post(
            "russia",
            cosign("russia", "russia", head.clone()).as_bytes(),
        )
        .await;
    assert_eq!((s, &v["appended"]), (200, &Value::Bool(true)), "{v}");
    let (_, v) =
        f.h.call(
            "GET",
            &format!("{PATH}?size={}", head.size()),
            "",
            "coalition",
        )
        .await;
    let parties: Vec<&str> = v["cosignatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["party"].as_str().unwrap())
        .collect();
    assert_eq!(parties, ["coalition", "russia"]);
    // This service's counters: two appended (one per party), two repeated.
    let metrics = f.h.state.metrics.cosignatures.render();
    for line in [
        "deconflict_log_cosignatures_total{outcome=\"appended\"} 2\n",
        "deconflict_log_cosignatures_total{outcome=\"repeated\"} 2\n",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn refused_countersignatures_name_the_check_and_append_nothing() {
    let f = fixture();
    let head = f.fetch_head("coalition").await;
    let beyond = TreeHead::new(
        head.log().clone(),
        head.size() + 5,
        *head.root(),
        head.time_ms(),
    )
    .unwrap();
    let later = TreeHead::new(
        head.log().clone(),
        head.size(),
        *head.root(),
        head.time_ms() + 1,
    )
    .unwrap();
    let line_message = SignedEntry::sign(
        Entry::new(
            KeyId::new("coalition").unwrap(),
            T0_MS as u64,
            EntryBody::LineMessage {
                fields: Fields::new()
                    .with("template", FieldValue::text("link_test").unwrap())
                    .unwrap(),
                message_id: Text::new("m-1").unwrap(),
            },
        )
        .unwrap(),
        &key("coalition"),
    )
    .unwrap();
    let good = cosign("coalition", "coalition", head.clone());
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(good.as_bytes()).unwrap())
            .unwrap();
    let cases: Vec<Case> = vec![
        (
            "signed with the other party's key",
            cosign("coalition", "russia", head.clone())
                .as_bytes()
                .to_vec(),
            422,
            "entry_signature_invalid",
            Some("sig"),
        ),
        (
            "authored by the other party",
            cosign("russia", "russia", head.clone()).as_bytes().to_vec(),
            403,
            "author_mismatch",
            Some("entry.author"),
        ),
        (
            "a head never issued",
            cosign("coalition", "coalition", beyond).as_bytes().to_vec(),
            422,
            "unknown_tree_head",
            Some("entry.body.tree_head_cosignature.tree_head.size"),
        ),
        (
            "a tampered root",
            cosign(
                "coalition",
                "coalition",
                with_root(&head, Hash::of(b"forged")),
            )
            .as_bytes()
            .to_vec(),
            422,
            "unknown_tree_head",
            Some("entry.body.tree_head_cosignature.tree_head.root"),
        ),
        (
            "a tampered time",
            cosign("coalition", "coalition", later).as_bytes().to_vec(),
            422,
            "unknown_tree_head",
            Some("entry.body.tree_head_cosignature.tree_head.time_ms"),
        ),
        ("not canonical", pretty, 400, "not_canonical", None),
        (
            "not an entry",
            br#"{"tree_head":1}"#.to_vec(),
            400,
            "malformed_entry",
            None,
        ),
        ("empty", Vec::new(), 400, "malformed_entry", None),
        (
            "not a countersignature",
            line_message.as_bytes().to_vec(),
            422,
            "not_a_cosignature",
            Some("entry.body"),
        ),
    ];
    let before = f.size();
    for (case, body, status, code, field) in cases {
        let (s, v) = f.post("coalition", &body).await;
        assert_eq!(s, status, "{case}: {v}");
        assert_eq!(v["code"], code, "{case}: {v}");
        assert_eq!(v["field"].as_str(), field, "{case}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty(), "{case}");
        assert_eq!(f.size(), before, "{case}: the log changed");
    }
    let (_, v) = f.h.call("GET", PATH, "", "coalition").await;
    assert_eq!(v["cosignatures"], Value::Array(vec![]));
    // Each refusal counted by its reason, in this service's metrics; nothing appended.
    let metrics = f.h.state.metrics.cosignatures.render();
    for line in [
        "deconflict_log_cosignatures_refused_total{reason=\"unknown_tree_head\"} 3\n",
        "deconflict_log_cosignatures_refused_total{reason=\"author_mismatch\"} 1\n",
        "deconflict_log_cosignatures_refused_total{reason=\"not_a_cosignature\"} 1\n",
        "deconflict_log_cosignatures_total{outcome=\"appended\"} 0\n",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }

    // A replayed request: the first copy is appended, the second refused by the nonce check.
    let headers = auth::sign_request(
        "POST",
        PATH,
        good.as_bytes(),
        "coalition",
        &key("coalition"),
        f.h.now_s(),
        "fixed-nonce-for-the-replay-test",
    );
    let request = || {
        let mut b = Request::builder().method("POST").uri(PATH);
        for (k, v) in headers.clone() {
            b = b.header(k, v);
        }
        b.body(Body::from(good.as_bytes().to_vec())).unwrap()
    };
    let (s, _) = f.h.send(request()).await;
    assert_eq!(s, 200);
    let after_first = f.size();
    assert_eq!(after_first, before + 1);
    let (s, bytes) = f.h.send(request()).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((s, v["code"].as_str()), (401, Some("replayed")), "{v}");
    assert_eq!(f.size(), after_first);

    // Bad query parameters are named.
    let (s, v) =
        f.h.call("GET", &format!("{PATH}?size=x"), "", "coalition")
            .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("size")), "{v}");
    let (s, v) =
        f.h.call("GET", &format!("{PATH}?limit=0"), "", "coalition")
            .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("limit")), "{v}");
    let (s, v) =
        f.h.call("GET", &format!("{PATH}?after=1"), "", "coalition")
            .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("unknown_parameter")),
        "{v}"
    );
}

#[tokio::test]
async fn without_a_record_the_routes_say_so() {
    let h = harness();
    let (s, v) = h.call("GET", PATH, "", "coalition").await;
    assert_eq!((s, v["code"].as_str()), (503, Some("no_log")), "{v}");
    let (s, v) = h.call("POST", PATH, "{}", "coalition").await;
    assert_eq!((s, v["code"].as_str()), (503, Some("no_log")), "{v}");
}

#[tokio::test]
async fn the_exported_log_with_countersignatures_verifies_against_the_agreement_keys() {
    let f = fixture();
    for party in ["coalition", "russia"] {
        let head = f.fetch_head(party).await;
        let (s, v) = f.post(party, cosign(party, party, head).as_bytes()).await;
        assert_eq!(s, 200, "{v}");
    }
    let log = f.h.state.log().unwrap().clone();
    let mut export = Vec::new();
    log.log_file().export(&mut export).unwrap();
    // Keys pinned from the agreement, plus the log's key: nothing is taken from the file.
    let mut ring = KeyRing::new();
    for p in &f.h.state.terms.parties {
        ring.insert(KeyId::new(p.id.as_str()).unwrap(), p.key)
            .unwrap();
    }
    let log_id = KeyId::new(deconflict_service::log_entries::SERVICE_KEY_ID).unwrap();
    let log_key = *log.log_file().keys().get(&log_id).unwrap();
    ring.insert(log_id, log_key).unwrap();
    let summary = deconflict_logfile::verify::verify_reader(
        &export[..],
        VerifyOptions {
            pinned_keys: Some(ring.clone()),
            since: None,
        },
        2,
    )
    .unwrap();
    assert_eq!(summary.counts.entries, f.size());
    let cosignatures = export
        .split(|&b| b == b'\n')
        .filter(|l| l.windows(21).any(|w| w == b"tree_head_cosignature"))
        .count();
    assert_eq!(cosignatures, 2);

    // The same export with a party key that is not the agreement's is refused.
    let mut wrong = KeyRing::new();
    for p in &f.h.state.terms.parties {
        let k = if p.id == "russia" {
            SigningKey::from_bytes(&[77; 32]).verifying_key()
        } else {
            p.key
        };
        wrong.insert(KeyId::new(p.id.as_str()).unwrap(), k).unwrap();
    }
    wrong
        .insert(
            KeyId::new(deconflict_service::log_entries::SERVICE_KEY_ID).unwrap(),
            log_key,
        )
        .unwrap();
    assert!(
        deconflict_logfile::verify::verify_reader(
            &export[..],
            VerifyOptions {
                pinned_keys: Some(wrong),
                since: None,
            },
            2,
        )
        .is_err()
    );
}

mod outside_bytes {
    //! The countersignature route over damaged and random bodies (the same parser as the
    //! log's `records` fuzz target): always a 4xx naming what was wrong, never a 5xx, and the
    //! log unchanged.
    use super::*;
    use proptest::prelude::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn damaged_bodies_are_refused_with_a_4xx(
            cut in 0usize..400,
            flip_at in 0usize..400,
            flip in 1u8..=255,
            noise in proptest::collection::vec(any::<u8>(), 0..64),
            kind in 0u8..3,
        ) {
            runtime().block_on(async {
                let f = fixture();
                let head = f.fetch_head("coalition").await;
                let good = cosign("coalition", "coalition", head).as_bytes().to_vec();
                let body = match kind {
                    0 => good[..cut.min(good.len() - 1)].to_vec(),
                    1 => {
                        let mut b = good.clone();
                        let i = flip_at % b.len();
                        b[i] ^= flip;
                        b
                    }
                    _ => noise,
                };
                let before = f.size();
                let (s, v) = f.post("coalition", &body).await;
                prop_assert!((400..500).contains(&s), "{s}: {v}");
                prop_assert!(v["code"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
                prop_assert_eq!(f.size(), before);
                Ok(())
            })?;
        }
    }
}
