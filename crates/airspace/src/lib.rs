//! Sans-IO strategic deconfliction: what each party notified, and whether flights keep to it.
//!
//! This crate owns the 4D notification volumes (footprint, altitude band, time window) and their
//! validation, the strategic index that finds every other party's notification in conflict with a
//! new one, the agreed geography (dividing lines and zones, versioned for replay), the conformance
//! of live tracks to all of these, and the GeoJSON form of notifications, lines and zones.
//!
//! It must never do I/O: no files, no sockets, no clock, no threads, no async runtime. Time is
//! always a parameter (UTC milliseconds since the Unix epoch); callers read files and pass bytes.
//!
//! Conventions that every module relies on are stated in [`volume`] (units, closed footprints,
//! half-open altitude bands and time windows, poles and antimeridian) and [`planar`] (the frame
//! in which distances are measured).

pub mod conformance;
pub mod error;
pub mod geography;
pub mod geojson_io;
pub mod index;
pub mod instant;
mod packed;
mod pages;
pub mod planar;
pub mod volume;

pub use conformance::{ConformanceMonitor, Event, EventKind, Position};
pub use error::{Error, Rule};
pub use geography::{DividingLine, Geography, GeographyHistory, Zone};
pub use geojson_io::{
    geography_to_geojson, notifications_to_geojson, parse_geography, parse_notifications,
};
pub use index::{Buffers, StrategicIndex, brute_force};
pub use planar::Frame;
pub use volume::{
    AltitudeBand, Circle, Footprint, Limits, LonLat, Notification, NotificationId, PartyId,
    Polygon, TimeWindow, Volume,
};
