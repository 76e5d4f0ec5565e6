//! The export format and its verifier: a valid log verifies; every mutation of it (flip any bit,
//! drop, duplicate or swap lines, truncate, replace a tree head) is refused, and the error names
//! the line where the problem shows.

use deconflict_log::export::{EndCounts, end_line, header_line};
use deconflict_log::field::Salt;
use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, KeyId, KeyRing, SignedEntry, SignedTreeHead, SigningKey,
    Text, Tree, TreeHead, VerifyErrorKind, VerifyOptions, verify_export,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Fixture {
    bytes: Vec<u8>,
    /// Signed tree heads in the file, in order, with their 1-based line numbers.
    heads: Vec<(usize, SignedTreeHead)>,
    keys: KeyRing,
    log_key: SigningKey,
    tree: Tree,
}

fn id(s: &str) -> KeyId {
    KeyId::new(s).unwrap()
}

fn party_keys() -> Vec<(KeyId, SigningKey)> {
    vec![
        (id("service"), SigningKey::from_bytes(&[1; 32])),
        (id("blue"), SigningKey::from_bytes(&[2; 32])),
        (id("red"), SigningKey::from_bytes(&[3; 32])),
    ]
}

fn entry(author: &KeyId, i: u64, rng: &mut ChaCha8Rng) -> Entry {
    let body = match i % 4 {
        0 => EntryBody::Alert {
            alert_id: Text::new(format!("alert-{i}")).unwrap(),
            level: Text::new("warning").unwrap(),
            parties: vec![id("blue"), id("red")],
            fields: Fields::new()
                .with(
                    "cpa_h_m",
                    FieldValue::int(rng.gen_range(100..2000)).unwrap(),
                )
                .unwrap(),
        },
        1 => {
            let (committed, _opening) = FieldValue::commit(
                FieldValue::int(rng.gen_range(0..15_000)).unwrap(),
                Salt(rng.r#gen()),
            )
            .unwrap();
            EntryBody::Notification {
                notification_id: Text::new(format!("n-{i}")).unwrap(),
                fields: Fields::new()
                    .with("alt_floor_m", committed)
                    .unwrap()
                    .with(
                        "area",
                        FieldValue::text("circle 35.40N 35.95E r=20000 m").unwrap(),
                    )
                    .unwrap(),
            }
        }
        2 => EntryBody::LineMessage {
            message_id: Text::new(format!("m-{i}")).unwrap(),
            fields: Fields::new()
                .with("template", FieldValue::text("request_ack").unwrap())
                .unwrap(),
        },
        _ => EntryBody::Acknowledgement {
            acknowledges: Text::new(format!("m-{}", i - 1)).unwrap(),
            fields: Fields::new(),
        },
    };
    Entry::new(author.clone(), 1_700_000_000_000 + i * 1000, body).unwrap()
}

/// A log written the way the log file writes it: batches of entries (some of them parties'
/// countersignatures of the previous tree head), each closed by a tree head; header first, end
/// record last.
fn fixture(seed: u64, batches: usize) -> Fixture {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let parties = party_keys();
    let mut keys = KeyRing::new();
    for (k, sk) in &parties {
        keys.insert(k.clone(), sk.verifying_key()).unwrap();
    }
    let log_key = parties[0].1.clone();
    let mut lines: Vec<Vec<u8>> = vec![header_line(&id("service"), &keys)];
    let mut tree = Tree::new();
    let mut heads: Vec<(usize, SignedTreeHead)> = Vec::new();
    let mut counts = EndCounts::default();
    let mut time_ms = 1_700_000_000_000u64;
    let push_head = |tree: &Tree,
                     lines: &mut Vec<Vec<u8>>,
                     heads: &mut Vec<(usize, SignedTreeHead)>,
                     counts: &mut EndCounts,
                     time_ms: &mut u64| {
        *time_ms += 1 + 50;
        let th = TreeHead::new(id("service"), tree.len(), tree.root(), *time_ms).unwrap();
        let sth = SignedTreeHead::sign(th, &log_key);
        lines.push(sth.as_bytes().to_vec());
        heads.push((lines.len(), sth));
        counts.tree_heads += 1;
    };
    push_head(&tree, &mut lines, &mut heads, &mut counts, &mut time_ms);
    let mut i = 0u64;
    for _ in 0..batches {
        for _ in 0..rng.gen_range(1..=4) {
            let (author, sk) = &parties[rng.gen_range(0..parties.len())];
            let e = SignedEntry::sign(entry(author, i, &mut rng), sk).unwrap();
            tree.push(e.as_bytes());
            lines.push(e.as_bytes().to_vec());
            counts.entries += 1;
            i += 1;
        }
        if rng.gen_bool(0.4) {
            // Both parties countersign the previous tree head.
            let th = heads.last().unwrap().1.tree_head().clone();
            for (party, sk) in &parties[1..] {
                let c = Entry::cosignature(party.clone(), th.time_ms() + 10, th.clone()).unwrap();
                let c = SignedEntry::sign(c, sk).unwrap();
                tree.push(c.as_bytes());
                lines.push(c.as_bytes().to_vec());
                counts.entries += 1;
            }
        }
        push_head(&tree, &mut lines, &mut heads, &mut counts, &mut time_ms);
    }
    lines.push(end_line(counts));
    let mut bytes = Vec::new();
    for l in &lines {
        bytes.extend_from_slice(l);
        bytes.push(b'\n');
    }
    Fixture {
        bytes,
        heads,
        keys,
        log_key: log_key.clone(),
        tree,
    }
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|b| *b == b'\n').map(|l| l.to_vec()).collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

fn line_of_offset(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset].iter().filter(|b| **b == b'\n').count() as u64
}

#[test]
fn a_log_as_written_verifies() {
    let f = fixture(1, 30);
    let s = verify_export(&f.bytes, VerifyOptions::default()).unwrap();
    assert_eq!(s.counts.entries, f.tree.len());
    assert_eq!(s.last_tree_head.tree_head().root(), &f.tree.root());
    assert!(!s.keys_pinned);
    let pinned = VerifyOptions {
        pinned_keys: Some(f.keys.clone()),
        since: Some(f.heads[f.heads.len() / 2].1.clone()),
    };
    assert!(verify_export(&f.bytes, pinned).unwrap().keys_pinned);
}

#[test]
fn a_header_key_that_contradicts_the_keys_file_is_refused() {
    let f = fixture(2, 5);
    let mut keys = KeyRing::new();
    keys.insert(
        id("blue"),
        SigningKey::from_bytes(&[99; 32]).verifying_key(),
    )
    .unwrap();
    keys.insert(id("service"), f.log_key.verifying_key())
        .unwrap();
    let e = verify_export(
        &f.bytes,
        VerifyOptions {
            pinned_keys: Some(keys),
            since: None,
        },
    )
    .unwrap_err();
    assert_eq!(e.line, 1);
    assert!(
        matches!(e.kind, VerifyErrorKind::PinnedKeyMismatch { ref key_id } if key_id.as_str() == "blue"),
        "{e}"
    );
}

#[test]
fn an_author_missing_from_the_keys_file_is_named() {
    let f = fixture(3, 10);
    let mut keys = KeyRing::new();
    keys.insert(id("service"), f.log_key.verifying_key())
        .unwrap();
    keys.insert(id("red"), SigningKey::from_bytes(&[3; 32]).verifying_key())
        .unwrap();
    let e = verify_export(
        &f.bytes,
        VerifyOptions {
            pinned_keys: Some(keys),
            since: None,
        },
    )
    .unwrap_err();
    assert!(
        matches!(e.kind, VerifyErrorKind::UnknownKey { ref key_id } if key_id.as_str() == "blue"),
        "{e}"
    );
    assert!(e.to_string().contains("no public key for blue"), "{e}");
}

#[test]
fn dropping_an_entry_is_a_tree_head_size_mismatch() {
    let f = fixture(4, 10);
    let mut lines = lines_of(&f.bytes);
    let i = lines
        .iter()
        .position(|l| l.starts_with(br#"{"entry""#))
        .unwrap();
    lines.remove(i);
    let e = verify_export(&join(&lines), VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(e.kind, VerifyErrorKind::TreeHeadSize { .. }),
        "{e}"
    );
}

#[test]
fn swapping_two_entries_is_a_root_mismatch_at_the_next_tree_head() {
    let f = fixture(5, 10);
    let mut lines = lines_of(&f.bytes);
    let entries: Vec<usize> = (0..lines.len())
        .filter(|i| lines[*i].starts_with(br#"{"entry""#))
        .collect();
    lines.swap(entries[0], entries[1]);
    let e = verify_export(&join(&lines), VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(e.kind, VerifyErrorKind::TreeHeadRoot { .. }),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("line {}: tree head of size", e.line)),
        "{e}"
    );
}

#[test]
fn a_flipped_byte_in_an_entry_names_that_entry() {
    let f = fixture(6, 10);
    let mut lines = lines_of(&f.bytes);
    let i = lines
        .iter()
        .position(|l| l.windows(7).any(|w| w == b"warning"))
        .unwrap();
    let text = String::from_utf8(lines[i].clone())
        .unwrap()
        .replacen("warning", "wArning", 1);
    lines[i] = text.into_bytes();
    let e = verify_export(&join(&lines), VerifyOptions::default()).unwrap_err();
    assert_eq!(e.line, i as u64 + 1);
    assert!(
        matches!(e.kind, VerifyErrorKind::EntrySignature { .. }),
        "{e}"
    );
}

#[test]
fn truncation_at_a_line_boundary_is_a_missing_end() {
    let f = fixture(7, 10);
    let lines = lines_of(&f.bytes);
    let e = verify_export(&join(&lines[..lines.len() - 1]), VerifyOptions::default()).unwrap_err();
    assert!(matches!(e.kind, VerifyErrorKind::MissingEnd { .. }), "{e}");
}

#[test]
fn a_rolled_back_log_is_caught_by_the_saved_tree_head() {
    // Cut after an earlier tree head and rewrite the end record: a genuine older state, which
    // only a tree head saved from later can reveal.
    let f = fixture(8, 12);
    let lines = lines_of(&f.bytes);
    let (cut_line, cut_head) = f.heads[f.heads.len() / 2].clone();
    let mut kept: Vec<Vec<u8>> = lines[..cut_line].to_vec();
    let counts = EndCounts {
        entries: cut_head.tree_head().size(),
        tree_heads: kept.iter().filter(|l| l.starts_with(br#"{"sig""#)).count() as u64,
    };
    kept.push(end_line(counts));
    let rolled_back = join(&kept);
    verify_export(&rolled_back, VerifyOptions::default()).unwrap();
    let since = f.heads.last().unwrap().1.clone();
    let e = verify_export(
        &rolled_back,
        VerifyOptions {
            pinned_keys: None,
            since: Some(since),
        },
    )
    .unwrap_err();
    assert!(
        matches!(e.kind, VerifyErrorKind::SavedHeadBeyondEnd { .. }),
        "{e}"
    );
}

#[test]
fn a_forked_history_is_caught_by_the_saved_tree_head() {
    let f = fixture(9, 12);
    let other = fixture(10, 12); // same keys, different entries
    let (_, head) = &other.heads[3];
    assert!(head.tree_head().size() <= f.tree.len());
    let e = verify_export(
        &f.bytes,
        VerifyOptions {
            pinned_keys: None,
            since: Some(head.clone()),
        },
    )
    .unwrap_err();
    assert!(
        matches!(e.kind, VerifyErrorKind::SavedHeadInconsistent { .. }),
        "{e}"
    );
}

/// Tree heads that must not be accepted in place of the head of `size` at `time_ms`. (For the
/// empty tree there is no fork and no earlier time: the log signing the empty tree again at
/// another time is a true statement, so those two are left out there.)
fn replacement_heads(f: &Fixture, size: u64, time_ms: u64) -> Vec<SignedTreeHead> {
    let forked_root = {
        let mut t = Tree::new();
        for i in 0..size {
            t.push(&i.to_be_bytes());
        }
        t.root()
    };
    let good_root = f.tree.root_at(size).unwrap();
    let mut heads = vec![
        // Same size, forked root, genuinely signed by the log.
        SignedTreeHead::sign(
            TreeHead::new(id("service"), size, forked_root, time_ms).unwrap(),
            &f.log_key,
        ),
        // The right tree, signed by someone else.
        SignedTreeHead::sign(
            TreeHead::new(id("service"), size, good_root, time_ms).unwrap(),
            &SigningKey::from_bytes(&[77; 32]),
        ),
        // The right tree, claimed by another log id.
        SignedTreeHead::sign(
            TreeHead::new(id("blue"), size, good_root, time_ms).unwrap(),
            &SigningKey::from_bytes(&[2; 32]),
        ),
        // The right tree with a timestamp that goes back in time.
        SignedTreeHead::sign(
            TreeHead::new(id("service"), size, good_root, 0).unwrap(),
            &f.log_key,
        ),
    ];
    if size == 0 {
        heads.remove(3);
        heads.remove(0);
    }
    heads
}

#[test]
fn replacing_any_tree_head_is_refused_at_that_line() {
    let f = fixture(11, 12);
    let lines = lines_of(&f.bytes);
    for (n, (line, head)) in f.heads.iter().enumerate() {
        let th = head.tree_head();
        let mut candidates: Vec<Vec<u8>> = replacement_heads(&f, th.size(), th.time_ms())
            .into_iter()
            .map(|h| h.as_bytes().to_vec())
            .collect();
        // Another genuine tree head of the same log.
        for (m, (_, other)) in f.heads.iter().enumerate() {
            if m != n {
                candidates.push(other.as_bytes().to_vec());
            }
        }
        for c in candidates {
            let mut mutated = lines.clone();
            mutated[line - 1] = c;
            let e = verify_export(&join(&mutated), VerifyOptions::default()).unwrap_err();
            assert_eq!(e.line as usize, *line, "tree head {n}: {e}");
        }
    }
}

fn fixture_cached() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| fixture(12, 16))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_flipped_bit_is_refused_at_its_line(offset_frac in 0.0..1.0f64, bit in 0..8u8) {
        let f = fixture_cached();
        let offset = ((f.bytes.len() as f64 * offset_frac) as usize).min(f.bytes.len() - 1);
        let mut m = f.bytes.clone();
        m[offset] ^= 1 << bit;
        let e = verify_export(&m, VerifyOptions::default()).unwrap_err();
        let line = line_of_offset(&f.bytes, offset);
        if line == 1 {
            // A changed key in the header shows where that key is first used.
            prop_assert!(e.line >= 1, "{}", e);
        } else {
            prop_assert_eq!(e.line, line, "{}", e);
        }
    }

    #[test]
    fn any_dropped_or_duplicated_line_is_refused(i_frac in 0.0..1.0f64, duplicate in any::<bool>()) {
        let f = fixture_cached();
        let mut lines = lines_of(&f.bytes);
        let i = ((lines.len() as f64 * i_frac) as usize).min(lines.len() - 1);
        if duplicate {
            let l = lines[i].clone();
            lines.insert(i, l);
        } else {
            lines.remove(i);
        }
        let e = verify_export(&join(&lines), VerifyOptions::default()).unwrap_err();
        prop_assert!(e.line as usize >= i.min(1), "{}", e);
    }

    #[test]
    fn any_reordering_of_two_lines_is_refused(a_frac in 0.0..1.0f64, b_frac in 0.0..1.0f64) {
        let f = fixture_cached();
        let mut lines = lines_of(&f.bytes);
        let a = ((lines.len() as f64 * a_frac) as usize).min(lines.len() - 1);
        let b = ((lines.len() as f64 * b_frac) as usize).min(lines.len() - 1);
        prop_assume!(lines[a] != lines[b]);
        // Regression (seed 12, lines 65 and 69): a countersignature moved before the tree head
        // it countersigns used to verify when countersignatures were not entries.
        lines.swap(a, b);
        let e = verify_export(&join(&lines), VerifyOptions::default()).unwrap_err();
        prop_assert!(e.line as usize > a.min(b), "{}", e);
    }

    #[test]
    fn any_truncation_is_refused(len_frac in 0.0..1.0f64) {
        let f = fixture_cached();
        let len = ((f.bytes.len() as f64 * len_frac) as usize).min(f.bytes.len() - 1);
        prop_assert!(verify_export(&f.bytes[..len], VerifyOptions::default()).is_err());
    }

    #[test]
    fn random_bytes_never_panic_the_verifier(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = verify_export(&bytes, VerifyOptions::default());
        let mut with_header = f_header();
        with_header.extend_from_slice(&bytes);
        let _ = verify_export(&with_header, VerifyOptions::default());
    }
}

fn f_header() -> Vec<u8> {
    let f = fixture_cached();
    let mut h = lines_of(&f.bytes)[0].clone();
    h.push(b'\n');
    h
}

#[test]
fn a_countersignature_of_a_tree_head_not_in_the_log_is_named() {
    let f = fixture(13, 6);
    let mut lines = lines_of(&f.bytes);
    lines.pop(); // the end record, rewritten below
    let last = f.heads.last().unwrap().1.tree_head().clone();
    let fake = TreeHead::new(id("service"), last.size(), *last.root(), last.time_ms() + 1).unwrap();
    let c = SignedEntry::sign(
        Entry::cosignature(id("blue"), 1, fake).unwrap(),
        &SigningKey::from_bytes(&[2; 32]),
    )
    .unwrap();
    let mut tree = f.tree.clone();
    tree.push(c.as_bytes());
    lines.push(c.as_bytes().to_vec());
    let cos_line = lines.len() as u64;
    let th = TreeHead::new(id("service"), tree.len(), tree.root(), last.time_ms() + 100).unwrap();
    lines.push(SignedTreeHead::sign(th, &f.log_key).as_bytes().to_vec());
    lines.push(end_line(EndCounts {
        entries: tree.len(),
        tree_heads: f.heads.len() as u64 + 1,
    }));
    let e = verify_export(&join(&lines), VerifyOptions::default()).unwrap_err();
    assert_eq!(e.line, cos_line, "{e}");
    assert!(
        matches!(e.kind, VerifyErrorKind::CosignedUnknownHead { .. }),
        "{e}"
    );
}

#[test]
fn many_seeded_mutations_are_all_refused() {
    // Mutations of several kinds on several logs, a fixed seed so a failure reproduces.
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    for seed in 20..22 {
        let f = fixture(seed, 12);
        let lines = lines_of(&f.bytes);
        for _ in 0..250 {
            let kind = rng.gen_range(0..5);
            let mutated = match kind {
                0 => {
                    let mut m = f.bytes.clone();
                    let o = rng.gen_range(0..m.len());
                    m[o] ^= 1 << rng.gen_range(0..8);
                    m
                }
                1 => {
                    let mut l = lines.clone();
                    l.remove(rng.gen_range(0..l.len()));
                    join(&l)
                }
                2 => {
                    let mut l = lines.clone();
                    let (a, b) = (rng.gen_range(0..l.len()), rng.gen_range(0..l.len()));
                    if l[a] == l[b] {
                        continue;
                    }
                    l.swap(a, b);
                    join(&l)
                }
                3 => f.bytes[..rng.gen_range(0..f.bytes.len())].to_vec(),
                _ => {
                    let (line, head) = &f.heads[rng.gen_range(0..f.heads.len())];
                    let th = head.tree_head();
                    let reps = replacement_heads(&f, th.size(), th.time_ms());
                    let mut l = lines.clone();
                    l[line - 1] = reps[rng.gen_range(0..reps.len())].as_bytes().to_vec();
                    join(&l)
                }
            };
            let e = verify_export(&mutated, VerifyOptions::default());
            assert!(
                e.is_err(),
                "seed {seed}: a mutation of kind {kind} verified"
            );
            let msg = e.unwrap_err().to_string();
            assert!(msg.starts_with("line "), "{msg}");
        }
    }
}

/// The signature of entry line `i` (0-based) spoiled: one hex digit of its `s` half changed, so
/// the line still parses and only the signature check can refuse it.
fn spoil_signature(lines: &mut [Vec<u8>], i: usize) {
    let text = String::from_utf8(lines[i].clone()).unwrap();
    let at = text.rfind("\"sig\":\"").unwrap() + "\"sig\":\"".len() + 100;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    lines[i] = bytes;
}

#[test]
fn an_export_of_several_signature_batches_names_its_first_bad_signature() {
    use deconflict_log::export::SIGNATURE_BATCH_LEN;
    let f = fixture(40, 2_600);
    assert!(
        f.tree.len() > 2 * SIGNATURE_BATCH_LEN as u64,
        "{} entries: the fixture must span three batches",
        f.tree.len()
    );
    verify_export(&f.bytes, VerifyOptions::default()).unwrap();
    let mut lines = lines_of(&f.bytes);
    let entry_lines: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with(br#"{"entry":"#))
        .map(|(i, _)| i)
        .collect();
    // One bad signature in the second batch, one in the third: the second's is named.
    let second = entry_lines[SIGNATURE_BATCH_LEN + 7];
    let third = entry_lines[2 * SIGNATURE_BATCH_LEN + 3];
    spoil_signature(&mut lines, third);
    spoil_signature(&mut lines, second);
    let e = verify_export(&join(&lines), VerifyOptions::default()).unwrap_err();
    assert_eq!(e.line, second as u64 + 1, "{e}");
    assert_eq!(e.entry, Some(SIGNATURE_BATCH_LEN as u64 + 7), "{e}");
    assert!(
        matches!(e.kind, VerifyErrorKind::EntrySignature { .. }),
        "{e}"
    );
}

#[test]
fn a_signature_batch_closes_at_its_byte_limit() {
    use deconflict_log::Verifier;
    use deconflict_log::entry::ENTRY_BYTES_MAX;
    use deconflict_log::export::{SIGNATURE_BATCH_BYTES_MAX, SIGNATURE_BATCH_LEN};
    let mut v = Verifier::new(VerifyOptions::default());
    let header = f_header();
    v.push_line(&header[..header.len() - 1]).unwrap();
    // Entry lines near the largest an entry may be: the verifier hands them out unparsed.
    let mut line = br#"{"entry":"#.to_vec();
    line.resize(ENTRY_BYTES_MAX - 1, b'x');
    let per_batch = SIGNATURE_BATCH_BYTES_MAX.div_ceil(line.len());
    assert!(per_batch < SIGNATURE_BATCH_LEN);
    for n in 1..=per_batch {
        v.push_line(&line).unwrap();
        let batch = v.take_batch();
        if n < per_batch {
            assert!(batch.is_none(), "a batch closed after {n} lines");
        } else {
            assert_eq!(batch.map(|b| b.len()), Some(per_batch));
        }
    }
}
