//! Every parser of outside bytes in the log: signed entries, signed tree heads, tree head
//! updates, saved tree heads, keys files, export headers.
#![no_main]

use deconflict_log::{
    KeyRing, Monitor, SignedEntry, SignedTreeHead, TreeHeadUpdate, export::parse_header,
    saved_tree_head_from_json,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = SignedEntry::from_bytes(data) {
        // Whatever parses is canonical: its bytes are the input.
        assert_eq!(e.as_bytes(), data);
    }
    if let Ok(h) = SignedTreeHead::from_bytes(data) {
        assert_eq!(h.as_bytes(), data);
    }
    let _ = TreeHeadUpdate::from_json(data);
    let _ = Monitor::from_json(data);
    let _ = saved_tree_head_from_json(data);
    let _ = KeyRing::from_json(data);
    let _ = parse_header(data);
});
