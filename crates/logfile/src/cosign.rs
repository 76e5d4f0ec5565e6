//! Countersignatures of tree heads: what one is, and the index of those in the log (one per
//! party and head), rebuilt at open from the entries that look like one.

use std::collections::HashMap;

use deconflict_log::{EntryBody, EntryKind, KeyId, SignedEntry, TreeHead};

/// A party's countersignature of a tree head, as found in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// Index of the countersignature entry.
    pub index: u64,
    /// The party that countersigned (the entry's author).
    pub party: KeyId,
    /// The tree head countersigned.
    pub tree_head: TreeHead,
    /// The party's timestamp on the countersignature, ms since the Unix epoch.
    pub time_ms: u64,
}

impl Cosignature {
    /// The countersignature `entry` holds at `index`, if it is one.
    pub fn of(index: u64, entry: &SignedEntry) -> Option<Cosignature> {
        match entry.entry().body() {
            EntryBody::TreeHeadCosignature { tree_head } => Some(Cosignature {
                index,
                party: entry.entry().author().clone(),
                tree_head: tree_head.clone(),
                time_ms: entry.entry().time_ms(),
            }),
            _ => None,
        }
    }
}

/// Every countersignature in the log (durable or queued), in index order, where each
/// (party, size) pair is (one per party and head), and which of them countersign the head of
/// each size, so that the countersignatures of one head are found without reading the others.
#[derive(Default)]
pub(crate) struct Cosignatures {
    list: Vec<Cosignature>,
    pub(crate) by_party_size: HashMap<(KeyId, u64), u64>,
    /// Tree size → positions in `list`, ascending (so in index order).
    by_size: HashMap<u64, Vec<usize>>,
}

impl Cosignatures {
    pub(crate) fn insert(&mut self, c: Cosignature) {
        self.by_party_size
            .insert((c.party.clone(), c.tree_head.size()), c.index);
        self.by_size
            .entry(c.tree_head.size())
            .or_default()
            .push(self.list.len());
        self.list.push(c);
    }

    /// The last `limit` countersignatures below index `durable`, of the head of `size` when
    /// given, in index order. Reads only the countersignatures it returns (plus any queued
    /// ones above `durable`), whatever the number of others.
    pub(crate) fn last(&self, size: Option<u64>, durable: u64, limit: usize) -> Vec<Cosignature> {
        let mut out: Vec<Cosignature> = match size {
            Some(s) => self
                .by_size
                .get(&s)
                .map(|positions| {
                    positions
                        .iter()
                        .rev()
                        .map(|&p| &self.list[p])
                        .filter(|c| c.index < durable)
                        .take(limit)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            None => self
                .list
                .iter()
                .rev()
                .filter(|c| c.index < durable)
                .take(limit)
                .cloned()
                .collect(),
        };
        out.reverse();
        out
    }
}

/// Whether a frame's canonical bytes are a countersignature, told from their fixed beginning
/// ([`EntryKind::of_signed`]), so that opening a large log parses only the countersignatures.
pub(crate) fn looks_like_cosignature(payload: &[u8]) -> bool {
    EntryKind::of_signed(payload) == Some(EntryKind::TreeHeadCosignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deconflict_log::{Entry, FieldValue, Fields, Hash, SigningKey, Text};

    fn signed(author: &str, body: EntryBody) -> SignedEntry {
        let key = SigningKey::from_bytes(&[3; 32]);
        let e = Entry::new(KeyId::new(author).unwrap(), 7, body).unwrap();
        SignedEntry::sign(e, &key).unwrap()
    }

    /// The countersignatures of one head come from the per-size index: the same answer as
    /// reading every countersignature, durable ones only, the last `limit`, in index order;
    /// and a head nobody countersigned reads nothing.
    #[test]
    fn cosignatures_of_one_head_come_from_the_index() {
        let mut cs = Cosignatures::default();
        let parties = ["blue", "red", "green"];
        for i in 0..3000u64 {
            let size = 1 + i / 3;
            let head =
                TreeHead::new(KeyId::new("service").unwrap(), size, Hash::empty_tree(), i).unwrap();
            cs.insert(Cosignature {
                index: 10 * i,
                party: KeyId::new(parties[(i % 3) as usize]).unwrap(),
                tree_head: head,
                time_ms: i,
            });
        }
        assert_eq!(cs.by_size.len(), 1000);
        assert!(cs.by_size.values().all(|p| p.len() == 3));
        let naive = |size: Option<u64>, durable: u64, limit: usize| {
            let mut v: Vec<Cosignature> = cs
                .list
                .iter()
                .filter(|c| c.index < durable && size.is_none_or(|s| c.tree_head.size() == s))
                .cloned()
                .collect();
            v.drain(..v.len().saturating_sub(limit));
            v
        };
        for (size, durable, limit) in [
            (Some(1), u64::MAX, 10),
            (Some(500), u64::MAX, 2),
            (Some(1000), 29_980, 10),
            (Some(1000), 0, 10),
            (Some(1001), u64::MAX, 10),
            (None, 29_975, 4),
            (None, u64::MAX, 0),
        ] {
            let got = cs.last(size, durable, limit);
            assert_eq!(
                got,
                naive(size, durable, limit),
                "{size:?} {durable} {limit}"
            );
        }
        let two = cs.last(Some(1000), 29_980, 10);
        assert_eq!(two.iter().map(|c| c.index).collect::<Vec<_>>(), [29_970]);
        assert!(cs.last(Some(1001), u64::MAX, 10).is_empty());
    }

    /// The prefix test that spares parsing every entry at open must agree with the parser on
    /// every kind of entry, whatever the author's id.
    #[test]
    fn the_cosignature_prefix_test_agrees_with_the_parser() {
        let head = TreeHead::new(KeyId::new("service").unwrap(), 3, Hash::empty_tree(), 9).unwrap();
        let fields = Fields::new()
            .with("tree_head_cosignature", FieldValue::text("x").unwrap())
            .unwrap();
        for author in ["a", "blue", "tree_head_cosignature", "x.y-z_0"] {
            let bodies = [
                EntryBody::TreeHeadCosignature {
                    tree_head: head.clone(),
                },
                EntryBody::LineMessage {
                    fields: fields.clone(),
                    message_id: Text::new("tree_head_cosignature").unwrap(),
                },
                EntryBody::NotificationWithdrawal {
                    notification_id: Text::new(r#"","body":{"tree_head_cosignature":"#).unwrap(),
                    reason: None,
                },
            ];
            for body in bodies {
                let e = signed(author, body);
                assert_eq!(
                    looks_like_cosignature(e.as_bytes()),
                    Cosignature::of(0, &e).is_some(),
                    "{}",
                    String::from_utf8_lossy(e.as_bytes())
                );
            }
        }
        assert!(!looks_like_cosignature(b""));
        assert!(!looks_like_cosignature(br#"{"entry":{"author":"abc"#));
    }
}
