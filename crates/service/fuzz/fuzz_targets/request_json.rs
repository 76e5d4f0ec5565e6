//! Request documents over arbitrary bytes: parse, then validate; never a panic.
#![no_main]

use deconflict_service::error::parse_json;
use deconflict_client::notification_entry;
use deconflict_client::wire::{NotificationCreate, TrackBatchIn, TrackReportIn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = parse_json::<TrackReportIn>(data) {
        let _ = r.validate("", 1_491_984_000_000);
    }
    if let Ok(b) = parse_json::<TrackBatchIn>(data) {
        for r in &b.reports {
            let _ = r.validate("reports", 1_491_984_000_000);
        }
    }
    if let Ok(n) = parse_json::<NotificationCreate>(data) {
        let _ = n.validate();
        // The salts and the entry they make, from outside bytes.
        if let Ok(salts) = notification_entry::parse_salts(&n.entry_salts) {
            let _ =
                notification_entry::check_disclosure(&n.notification, &Default::default(), &salts);
            let _ = notification_entry::notification_entry(
                "p",
                &n.id,
                1,
                &n.notification,
                &salts,
                n.entry_time_ms.unsigned_abs(),
            );
        }
    }
});
