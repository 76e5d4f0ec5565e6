//! Countersignatures against an exact oracle: for any sequence of appends (line messages, and
//! countersignatures by two parties of any head issued so far, repeats included), the log file
//! appends the first countersignature of each (party, head) and refuses every later one with
//! the first one's index; the listing, before and after reopening, is exactly the oracle's.

use std::collections::HashMap;
use std::sync::Arc;

use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, KeyId, KeyRing, SignedEntry, SigningKey, Text, TreeHead,
};
use deconflict_logfile::{LogFile, LogFileConfig, LogFileError};
use proptest::prelude::*;

fn id(s: &str) -> KeyId {
    KeyId::new(s).unwrap()
}

fn party_key(p: usize) -> SigningKey {
    SigningKey::from_bytes(&[10 + p as u8; 32])
}

const PARTIES: [&str; 2] = ["blue", "red"];

fn config() -> LogFileConfig {
    let mut keys = KeyRing::new();
    for (i, p) in PARTIES.iter().enumerate() {
        keys.insert(id(p), party_key(i).verifying_key()).unwrap();
    }
    let mut c = LogFileConfig::new(id("service"), SigningKey::from_bytes(&[1; 32]), keys);
    let t = Arc::new(std::sync::atomic::AtomicU64::new(1_700_000_000_000));
    c.now_ms = Arc::new(move || t.fetch_add(3, std::sync::atomic::Ordering::Relaxed));
    c
}

#[derive(Clone, Debug)]
enum Op {
    Message,
    /// Party `p` countersigns the `h`-th head issued so far (modulo their number), at `t`.
    Cosign {
        p: usize,
        h: usize,
        t: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Message),
        (0..PARTIES.len(), 0..8usize, 0..1000u64).prop_map(|(p, h, t)| Op::Cosign { p, h, t }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn first_countersignature_per_party_and_head_wins(ops in proptest::collection::vec(op(), 1..14)) {
        let dir = tempfile::tempdir().unwrap();
        let j = LogFile::open(dir.path(), config()).unwrap();
        let mut heads: Vec<TreeHead> = vec![j.latest_tree_head().tree_head().clone()];
        // The oracle: (party, size) → index of the first countersignature, in append order.
        let mut first: HashMap<(usize, u64), u64> = HashMap::new();
        let mut listed: Vec<(u64, &str, u64)> = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            match op {
                Op::Message => {
                    let e = Entry::new(id("blue"), n as u64, EntryBody::LineMessage {
                        fields: Fields::new().with("n", FieldValue::int(n as i64).unwrap()).unwrap(),
                        message_id: Text::new(format!("m-{n}")).unwrap(),
                    }).unwrap();
                    j.append(SignedEntry::sign(e, &party_key(0)).unwrap()).unwrap();
                }
                Op::Cosign { p, h, t } => {
                    let head = heads[h % heads.len()].clone();
                    let size = head.size();
                    let e = Entry::cosignature(id(PARTIES[*p]), *t, head).unwrap();
                    let before = j.latest_tree_head().tree_head().size();
                    let r = j.append(SignedEntry::sign(e, &party_key(*p)).unwrap());
                    match first.get(&(*p, size)) {
                        None => {
                            let index = r.unwrap();
                            prop_assert_eq!(index, before);
                            first.insert((*p, size), index);
                            listed.push((index, PARTIES[*p], size));
                        }
                        Some(&index) => {
                            let refused = matches!(r, Err(LogFileError::DuplicateCosignature { index: i, .. }) if i == index);
                            prop_assert!(refused);
                            prop_assert_eq!(j.latest_tree_head().tree_head().size(), before);
                        }
                    }
                }
            }
            heads.push(j.latest_tree_head().tree_head().clone());
        }
        let got = |j: &LogFile| -> Vec<(u64, String, u64)> {
            j.cosignatures(None, 1000)
                .into_iter()
                .map(|c| (c.index, c.party.as_str().to_string(), c.tree_head.size()))
                .collect()
        };
        let want: Vec<(u64, String, u64)> =
            listed.iter().map(|(i, p, s)| (*i, p.to_string(), *s)).collect();
        prop_assert_eq!(&got(&j), &want);
        drop(j);
        let j = LogFile::open(dir.path(), config()).unwrap();
        prop_assert_eq!(&got(&j), &want);
    }
}
