//! Receiver feeds: Beast, AVR raw, SBS BaseStation and hex recordings, from bytes to fused tracks.
//!
//! What this crate owns:
//! - [`framing`]: one incremental parser per feed format (bytes in, records out), resynchronising
//!   after garbage, every buffer bounded, every rejected record counted by reason;
//! - [`decode`]: Mode S / ADS-B decoding through `rs1090` (frames, CPR positions), converted to
//!   [`report::Report`]s in SI units;
//! - [`track`]: one track per ICAO address, fused across sources, stale tracks dropped,
//!   implausible jumps rejected and counted, a bounded number of tracks;
//! - [`pipeline`]: the three glued together, one framer per connection;
//! - [`io`]: the only place with sockets (tokio): a TCP client with reconnect and backoff, and
//!   a listener for pushed feeds; also reads (gzipped) recordings;
//! - [`bench`]: the work that `deconflict bench ingest` times, next to rs1090's bare decoding.
//!
//! Units: SI inside (metres, m/s, degrees named `_deg`); feet and knots appear only where a feed
//! carries them (SBS) and are converted once, in [`decode`].
//!
//! What it must never do: read a clock or touch a socket or file outside [`io`] (time is passed
//! in), believe a position because it decoded (plausibility is checked), grow without bound, or
//! panic on outside bytes. The conflict engine must never depend on this crate: rs1090 brings
//! tokio and about a hundred crates with it.

pub mod bench;
pub mod decode;
pub mod frame;
pub mod framing;
pub mod io;
pub mod pipeline;
pub mod report;
pub mod track;
