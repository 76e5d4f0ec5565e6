//! Any bytes into the message parser: never a panic; whatever parses renders in every language
//! and survives the canonical round trip.
#![no_main]

use deconflict_line::lang::{CoordFormat, Language, ReaderProfile};
use deconflict_line::message::{Document, Message, parse_document};
use deconflict_line::render::{render_conversation, render_message};
use deconflict_line::units::UtcOffset;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = parse_document(data) else {
        return;
    };
    let messages: Vec<Message> = match doc {
        Document::Message(m) => vec![*m],
        Document::Conversation(list) => list,
    };
    for lang in Language::all() {
        for coords in [CoordFormat::Decimal, CoordFormat::Dms] {
            let reader = ReaderProfile::new(lang, UtcOffset::from_minutes(-330).unwrap(), coords);
            let _ = render_conversation(&reader, &messages);
            for m in &messages {
                let _ = render_message(&reader, m);
            }
        }
    }
    for m in &messages {
        let bytes = m.canonical_json();
        assert_eq!(&Message::from_canonical_json(&bytes).unwrap(), m);
    }
});
