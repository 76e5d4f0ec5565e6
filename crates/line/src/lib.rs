//! The deconfliction line, sans-IO: the catalogue of structured messages that duty officers of
//! the parties exchange, their renderings in each reader's language, and the state machine
//! that delivers them, tracks acknowledgement deadlines, escalates along each party's duty
//! roster and measures reachability with scheduled link tests.
//!
//! What it owns: message types and their canonical JSON form (the bytes stored and signed);
//! templates (`locales/*.ftl`, one file per language); the acknowledgement/escalation state
//! machine ([`machine::Line`]) whose state is a pure function of its event log.
//!
//! What it must never do: read a clock (every input carries `now`), touch files, sockets or
//! threads, or depend on the service, the store or the command line. The service feeds it
//! events, persists the accepted ones, and carries out the effects it polls.

pub mod ids;
pub mod lang;
pub mod machine;
pub mod message;
pub mod render;
pub mod roster;
pub mod story;
pub mod units;

pub use ids::{MessageId, OfficerName, PartyId, SubjectId, Text, TrackId};
pub use lang::{CoordFormat, Language, QueryError, ReaderProfile};
pub use machine::{
    Accepted, AckLatency, AckRecord, Counters, Effect, Escalation, Event, Line, LineError,
    LinkTestOutcome, LoggedEvent, Reachability, RebuildError, Tracked,
};
pub use message::{
    Activity, Advice, AlertLevel, Alteration, Body, ConflictAlert, Decision, Document, LangTag,
    Manoeuvre, Message, MessageError, MessageKind, ParseError, Subject, SubjectKind, TrackRef,
    TurnSense, VerticalSense, parse_document,
};
pub use roster::{AckPolicy, DutyContact, LineConfig, LinkTestSchedule, Roster, Shift};
pub use units::{
    Altitude, AltitudeBlock, Area, Direction, Distance, Latitude, Longitude, Position, RangeError,
    Span, TimeWindow, Timestamp, UtcOffset,
};
