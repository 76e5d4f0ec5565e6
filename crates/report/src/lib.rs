//! `deconflict-report`: the working group's report, computed only from the record.
//!
//! Every party holds a copy of the same log; a report computed from that copy alone gives every
//! party the same figures. This crate takes the bytes of a log export (the format and its
//! verifier belong to `deconflict-log`; nothing here parses the format by hand), verifies
//! it, reduces its entries to facts ([`facts`]), counts them per ISO week ([`figures`]) and
//! writes the result as one self-contained HTML page with inline SVG charts, as JSON or as CSV
//! ([`render`]), in English or Russian.
//!
//! What it owns: the definitions of the figures (what "on time", "late", "flight hours" and the
//! trust index mean), stated once in [`figures`] and printed in the report itself.
//!
//! What it must never do: I/O of any kind (files, sockets), read a clock (the window is given),
//! draw randomness, start threads. Given the same export and options it produces the same
//! bytes. The command line reads the file and writes the output.

pub mod facts;
pub mod figures;
pub mod render;
pub mod text;

pub use facts::{Facts, read_export};
pub use figures::{Deadlines, Options, Report, compute, parse_date};
pub use render::{Format, render};
pub use text::Lang;

/// Largest export read, in bytes: the export is held in memory while it is verified.
pub const EXPORT_BYTES_MAX: u64 = 1 << 30;
/// Most weeks in one report (ten years).
pub const WEEKS_MAX: usize = 520;

/// Why no report could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The export is larger than [`EXPORT_BYTES_MAX`].
    #[error("the export is {len} bytes, more than {max}")]
    TooLarge {
        /// Bytes given.
        len: u64,
        /// [`EXPORT_BYTES_MAX`].
        max: u64,
    },
    /// The export does not verify: the report is only made from a record that does.
    #[error("the export does not verify: {0}")]
    Verify(#[from] deconflict_log::VerifyError),
    /// The window is inverted or empty.
    #[error("the window is empty or inverted: from {from_unix_ms} ms to {to_unix_ms} ms")]
    Window {
        /// Start of the window, ms since the Unix epoch.
        from_unix_ms: u64,
        /// End of the window (exclusive).
        to_unix_ms: u64,
    },
    /// The window spans more than [`WEEKS_MAX`] weeks.
    #[error("the window spans {weeks} weeks, more than {WEEKS_MAX}")]
    TooManyWeeks {
        /// Weeks the window spans.
        weeks: u64,
    },
}
