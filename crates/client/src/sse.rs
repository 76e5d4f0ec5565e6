//! A sans-IO parser of `text/event-stream` (the WHATWG HTML "Server-sent events" section,
//! §9.2.6 "Interpreting an event stream"), for the clients of the stream: bytes in, complete
//! events out. Used by the demo, the benchmark and the tests; fuzzed in `fuzz/`.

/// Longest line accepted, bytes; a longer one is an error (the service's events are far
/// smaller), so a broken peer cannot make the client buffer without bound.
pub const LINE_BYTES_MAX: usize = 1 << 20;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseMessage {
    /// The last event id seen (it persists across events, as the standard says).
    pub id: Option<String>,
    /// The `event` field, `message` if none.
    pub event: String,
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    #[error("a line is longer than {LINE_BYTES_MAX} bytes")]
    LineTooLong,
    #[error("the stream is not UTF-8 at byte {0}")]
    NotUtf8(u64),
}

/// The incremental parser.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous byte was `\r`: a following `\n` belongs to the same line end.
    after_cr: bool,
    last_id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    offset: u64,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the events completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseMessage>, SseError> {
        let mut out = Vec::new();
        for &b in bytes {
            self.offset += 1;
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    let text =
                        String::from_utf8(line).map_err(|_| SseError::NotUtf8(self.offset))?;
                    if let Some(m) = self.line_done(&text) {
                        out.push(m);
                    }
                }
                _ => {
                    if self.line.len() >= LINE_BYTES_MAX {
                        return Err(SseError::LineTooLong);
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(out)
    }

    fn line_done(&mut self, line: &str) -> Option<SseMessage> {
        if line.is_empty() {
            // Dispatch (only if some data was given).
            let data = self.data.take();
            let event = self.event.take();
            return data.map(|data| SseMessage {
                id: self.last_id.clone(),
                event: event.unwrap_or_else(|| "message".into()),
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => match &mut self.data {
                None => self.data = Some(value.to_string()),
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
            },
            "event" => self.event = Some(value.to_string()),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(input: &[u8]) -> Vec<SseMessage> {
        SseParser::new().push(input).unwrap()
    }

    #[test]
    fn events_with_ids_kinds_and_multiline_data() {
        let got =
            all(b": keep-alive\n\nid: 7\nevent: alert\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\n");
        assert_eq!(
            got,
            vec![
                SseMessage {
                    id: Some("7".into()),
                    event: "alert".into(),
                    data: "{\"a\":1}".into()
                },
                SseMessage {
                    id: Some("7".into()),
                    event: "message".into(),
                    data: "x\ny".into()
                },
            ]
        );
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        let got = all(b"id:1\r\ndata:a\r\n\r\nid:2\rdata:b\r\r");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].id.as_deref(), Some("2"));
        assert_eq!(got[1].data, "b");
    }

    #[test]
    fn an_unterminated_event_is_not_dispatched() {
        assert!(all(b"id: 1\ndata: half").is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Splitting the input anywhere gives the same events as feeding it whole.
        #[test]
        fn chunking_does_not_change_the_events(
            events in proptest::collection::vec(("[a-z]{1,8}", "[ -~]{0,40}"), 0..8),
            cut in 0usize..400,
        ) {
            let mut text = String::new();
            for (i, (kind, data)) in events.iter().enumerate() {
                text.push_str(&format!("id: {i}\nevent: {kind}\ndata: {data}\n\n"));
            }
            let bytes = text.as_bytes();
            let whole = all(bytes);
            prop_assert_eq!(whole.len(), events.len());
            let cut = cut.min(bytes.len());
            let mut p = SseParser::new();
            let mut parts = p.push(&bytes[..cut]).unwrap();
            parts.extend(p.push(&bytes[cut..]).unwrap());
            prop_assert_eq!(parts, whole);
        }

        /// Arbitrary bytes never panic.
        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = SseParser::new().push(&bytes);
        }
    }
}
