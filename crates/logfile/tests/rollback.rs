//! A disk fault must never roll the record back silently: a log file that holds less than was
//! acknowledged — a bit flipped in an acknowledged batch, a tail cut off, the file deleted or
//! replaced by an older copy, the head file deleted — refuses to open with an error naming the
//! file, the byte offset and the last good entry, and leaves the files as they were.
//! `recover::plan` says what cutting back would drop; `recover::apply` does it.

use std::path::Path;
use std::sync::Arc;

use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, KeyId, KeyRing, SignedEntry, SigningKey, Text,
};
use deconflict_logfile::recover;
use deconflict_logfile::{LogFile, LogFileConfig, LogFileError};

fn id(s: &str) -> KeyId {
    KeyId::new(s).unwrap()
}

fn config() -> LogFileConfig {
    let blue = SigningKey::from_bytes(&[2; 32]);
    let mut keys = KeyRing::new();
    keys.insert(id("blue"), blue.verifying_key()).unwrap();
    let mut c = LogFileConfig::new(id("service"), SigningKey::from_bytes(&[1; 32]), keys);
    let t = Arc::new(std::sync::atomic::AtomicU64::new(1_700_000_000_000));
    c.now_ms = Arc::new(move || t.fetch_add(7, std::sync::atomic::Ordering::Relaxed));
    c
}

fn message(i: u64) -> SignedEntry {
    let e = Entry::new(
        id("blue"),
        1_700_000_000_000 + i,
        EntryBody::LineMessage {
            message_id: Text::new(format!("m-{i}")).unwrap(),
            fields: Fields::new()
                .with("template", FieldValue::text("link_test").unwrap())
                .unwrap(),
        },
    )
    .unwrap();
    SignedEntry::sign(e, &SigningKey::from_bytes(&[2; 32])).unwrap()
}

/// 46 entries appended one at a time (46 batches), as in the report of the defect.
fn log_of_46(dir: &Path) -> Vec<u8> {
    let j = LogFile::open(dir, config()).unwrap();
    for i in 0..46 {
        j.append(message(i)).unwrap();
    }
    drop(j);
    std::fs::read(dir.join("log.frames")).unwrap()
}

/// Opening refuses with `Damaged`; returns the message, after checking the log file is untouched.
fn refused(dir: &Path) -> (String, u64, u64) {
    let before = std::fs::read(dir.join("log.frames")).ok();
    let e = match LogFile::open(dir, config()) {
        Ok(j) => panic!(
            "opened with {} entries instead of refusing",
            j.stats().entries
        ),
        Err(e) => e,
    };
    let after = std::fs::read(dir.join("log.frames")).ok();
    assert_eq!(before, after, "a refused open changed the log file");
    let msg = e.to_string();
    match e {
        LogFileError::Damaged {
            offset, entries, ..
        } => (msg, offset, entries),
        other => panic!("expected Damaged, got {other}"),
    }
}

#[test]
fn a_bit_flipped_mid_log_file_is_refused_not_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = log_of_46(dir.path());
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x08;
    std::fs::write(dir.path().join("log.frames"), &bytes).unwrap();
    let (msg, offset, entries) = refused(dir.path());
    assert!(offset <= mid as u64, "{msg}");
    assert!(entries < 46, "{msg}");
    assert!(msg.contains("log.frames"), "{msg}");
    assert!(msg.contains(&format!("at byte {offset}")), "{msg}");
    assert!(
        msg.contains(&format!("the last good entry is entry {}", entries - 1)),
        "{msg}"
    );
    assert!(msg.contains("46 acknowledged entries"), "{msg}");
}

#[test]
fn a_bit_flipped_in_the_last_acknowledged_batch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = log_of_46(dir.path());
    let n = bytes.len();
    bytes[n - 3] ^= 0x01; // in the last tree head's checksum
    std::fs::write(dir.path().join("log.frames"), &bytes).unwrap();
    let (msg, _, entries) = refused(dir.path());
    assert_eq!(entries, 45, "{msg}");
}

#[test]
fn a_cut_tail_is_refused_at_every_batch_boundary_and_inside() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = log_of_46(dir.path());
    for cut in [bytes.len() - 1, bytes.len() - 40, bytes.len() / 3, 8] {
        std::fs::write(dir.path().join("log.frames"), &bytes[..cut]).unwrap();
        let (msg, _, _) = refused(dir.path());
        assert!(msg.contains("46 acknowledged entries"), "cut {cut}: {msg}");
    }
    // Put back whole, it opens with everything.
    std::fs::write(dir.path().join("log.frames"), &bytes).unwrap();
    assert_eq!(
        LogFile::open(dir.path(), config()).unwrap().stats().entries,
        46
    );
}

#[test]
fn a_deleted_log_file_is_refused_not_started_afresh() {
    let dir = tempfile::tempdir().unwrap();
    log_of_46(dir.path());
    std::fs::remove_file(dir.path().join("log.frames")).unwrap();
    let (msg, _, _) = refused(dir.path());
    assert!(msg.contains("missing"), "{msg}");
    assert!(!dir.path().join("log.frames").exists());
}

#[test]
fn an_older_copy_of_the_log_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let j = LogFile::open(dir.path(), config()).unwrap();
    for i in 0..10 {
        j.append(message(i)).unwrap();
    }
    let old = std::fs::read(dir.path().join("log.frames")).unwrap();
    for i in 10..20 {
        j.append(message(i)).unwrap();
    }
    drop(j);
    std::fs::write(dir.path().join("log.frames"), &old).unwrap();
    let (msg, _, entries) = refused(dir.path());
    assert_eq!(entries, 10, "{msg}");
}

#[test]
fn a_deleted_head_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    log_of_46(dir.path());
    std::fs::remove_file(dir.path().join("log.head")).unwrap();
    let (msg, _, _) = refused(dir.path());
    assert!(msg.contains("log.head"), "{msg}");
}

#[test]
fn a_head_file_with_one_torn_slot_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    log_of_46(dir.path());
    let mut head = std::fs::read(dir.path().join("log.head")).unwrap();
    // Damage the newest slot: the other is one batch behind, and the log file holds more.
    let newest = deconflict_logfile::head_file::decode(&head).unwrap().seq % 2;
    head[newest as usize * deconflict_logfile::head_file::SLOT_BYTES + 40] ^= 0xff;
    std::fs::write(dir.path().join("log.head"), &head).unwrap();
    assert_eq!(
        LogFile::open(dir.path(), config()).unwrap().stats().entries,
        46
    );
    // Both slots damaged: what was acknowledged is unknown, so it refuses.
    let mut head = std::fs::read(dir.path().join("log.head")).unwrap();
    head[40] ^= 0xff;
    head[deconflict_logfile::head_file::SLOT_BYTES + 40] ^= 0xff;
    std::fs::write(dir.path().join("log.head"), &head).unwrap();
    let (msg, _, _) = refused(dir.path());
    assert!(msg.contains("log.head"), "{msg}");
}

#[test]
fn recovery_says_what_it_drops_and_drops_only_when_applied() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = log_of_46(dir.path());
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x08;
    std::fs::write(dir.path().join("log.frames"), &bytes).unwrap();
    let (_, _, entries) = refused(dir.path());

    let plan = recover::plan(dir.path()).unwrap();
    assert!(!plan.is_clean());
    assert_eq!(plan.keep_entries, entries);
    assert_eq!(plan.acknowledged_dropped(), 46 - entries);
    let text = plan.to_string();
    assert!(
        text.contains(&format!("dropping {} bytes", plan.bytes_dropped())),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} acknowledged entries", 46 - entries)),
        "{text}"
    );
    // Planning changed nothing.
    assert_eq!(std::fs::read(dir.path().join("log.frames")).unwrap(), bytes);
    refused(dir.path());

    recover::apply(dir.path(), &plan).unwrap();
    assert!(recover::plan(dir.path()).unwrap().is_clean());
    let j = LogFile::open(dir.path(), config()).unwrap();
    assert_eq!(j.stats().entries, entries);
    j.append(message(100)).unwrap();
    drop(j);
    assert_eq!(
        LogFile::open(dir.path(), config()).unwrap().stats().entries,
        entries + 1
    );
}

#[test]
fn a_clean_log_file_needs_no_recovery() {
    let dir = tempfile::tempdir().unwrap();
    log_of_46(dir.path());
    let plan = recover::plan(dir.path()).unwrap();
    assert!(plan.is_clean(), "{plan}");
    assert!(plan.to_string().contains("nothing to recover"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// The head file is bytes from a disk: random bytes are no slot, never a panic; one bit
    /// flipped in a whole slot leaves it refused or the same head.
    #[test]
    fn head_file_bytes_from_a_failing_disk(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4200),
        at in 0usize..4096,
        bit in 0u8..8,
    ) {
        proptest::prop_assert!(deconflict_logfile::head_file::decode(&bytes).is_none());
        let dir = tempfile::tempdir().unwrap();
        let j = LogFile::open(dir.path(), config()).unwrap();
        j.append(message(1)).unwrap();
        drop(j);
        let mut head = std::fs::read(dir.path().join("log.head")).unwrap();
        let whole = deconflict_logfile::head_file::decode(&head).unwrap();
        head[at] ^= 1 << bit;
        if let Some(h) = deconflict_logfile::head_file::decode(&head) {
            // The other slot (one write older) or the same one, never something else.
            proptest::prop_assert!(h.log_file_len <= whole.log_file_len);
            proptest::prop_assert!(h.tree_head.verify(&SigningKey::from_bytes(&[1; 32]).verifying_key()).is_ok());
        }
    }
}
