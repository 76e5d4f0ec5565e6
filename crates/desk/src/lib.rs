//! The desk core: one agreement's live state, sans-IO.
//!
//! A [`Desk`] owns the tracks (each party's pushes and the records of its receivers, fused by
//! ICAO address), the notifications in the airspace crate's strategic index (the check and the
//! insertion are one call, so the driver serialises concurrent notifications through it), the
//! tactical picture (the engine's broad phase proposes candidate pairs of different parties;
//! the narrow phase is the DAIDALUS-exact `wellclear` alerter the agreement names, each party's
//! aircraft the ownship of that party's alerts, with DAIDALUS's per-pair hysteresis), the agreed
//! geography (dividing lines, zones) and the conformance of notified aircraft.
//!
//! Inputs carry an explicit `now`; outputs ([`Output`]: tactical alerts with one typed
//! [`Level`], geography and nonconformance events) wait in an outbox until polled. Nothing here
//! reads a clock, a file or a socket, or runs a thread: `serve` drives the desk on the wall clock
//! and does the I/O, `replay` drives the same desk on a virtual clock.

pub mod advice;
pub mod alerter;
pub mod desk;
pub mod input;
pub mod level;

pub use advice::{Bands, PairAdvice, Range, SideAdvice};
pub use alerter::{Alerter, AlerterError};
pub use desk::{
    ARRIVALS_MAX, Change, Closest, Counters, Desk, GeographyEvent, GeographyKind, LineSpec,
    NonconformanceEvent, NotifyError, Output, ReceiverReport, Report, ReportError, Setup,
    SetupError, Side, TacticalAlert, Track, Undo,
};
pub use level::Level;
