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
//!   a listener for pushed feeds.
//!
//! What it must never do: read a clock outside [`io`] (time is passed in), believe a position
//! because it decoded (plausibility is checked), grow without bound, or panic on outside bytes.

pub mod bench;
pub mod decode;
pub mod frame;
pub mod framing;
pub mod io;
pub mod pipeline;
pub mod report;
pub mod track;
