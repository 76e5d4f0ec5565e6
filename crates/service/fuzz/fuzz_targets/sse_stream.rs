//! The event-stream parser over arbitrary bytes, fed whole and in two chunks: same events.
#![no_main]

use deconflict_client::sse::SseParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = SseParser::new().push(data);
    if let Some(&cut) = data.first() {
        let cut = usize::from(cut).min(data.len());
        let mut p = SseParser::new();
        let a = p.push(&data[..cut]);
        let b = p.push(&data[cut..]);
        if let (Ok(whole), Ok(mut a), Ok(b)) = (whole, a, b) {
            a.extend(b);
            assert_eq!(whole, a);
        }
    }
});
