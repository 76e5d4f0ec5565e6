//! A party's side of the service's protocol, and the service's shared vocabulary for it.
//!
//! What it owns: the wire documents every request and answer carries ([`wire`], with the line's
//! in [`wire::line`] and the log's in [`wire::log`]), the RFC 9421 request signature both ends
//! compute ([`auth`]), the record entries a party signs itself and the service checks
//! ([`notification_entry`], [`line_entry`], [`statement_entry`]), the clock that dates them
//! ([`clock`]), the event-stream parser ([`sse`]), the client's TLS trust ([`tls`]), the
//! signed HTTP client the CLI, the demo, the benchmarks and the tests use ([`PartyClient`]), and
//! its streaming track reports ([`track_stream`], frames in [`wire::frame`]).
//!
//! The service depends on this crate for the documents and the signed bytes, never the other
//! way round: both ends then agree on every byte by construction.

pub mod agreement;
pub mod auth;
pub mod client;
pub mod clock;
pub mod console;
pub mod line;
pub mod line_entry;
pub mod notification_entry;
pub mod sse;
pub mod statement_entry;
pub mod tls;
pub mod track_stream;
pub mod wire;

pub use client::{ClientError, EventStream, PartyClient};
pub use clock::{Clock, ManualClock, SystemClock};
pub use tls::Trust;
