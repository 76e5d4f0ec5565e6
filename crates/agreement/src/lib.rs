//! The agreement between parties who share a sky: its model, its file format, its canonical
//! encoding and id, detached Ed25519 signatures over it, and its lifecycle
//! (draft → in force → suspended → in force → terminated) as a fold over signed events.
//!
//! What it owns: the meaning of an agreement file and of every signed lifecycle event; the
//! rule that an agreement is in force only when every party has signed it.
//!
//! What it must never do: I/O of any kind (no files, sockets, clock or randomness — the caller
//! passes file text, `now`, and key seeds in), depend on the service or the store, or model the
//! *line's* reachability. The agreement's declared status (e.g. "suspended") and whether the
//! line answers are separate facts: the status lives here, reachability is measured by the
//! line and the service, and both are shown side by side.
//!
//! Geometry of dividing lines and zones is only checked for basic GeoJSON shape here; the
//! airspace crate owns what the shapes mean.
//!
//! Entry points: [`parse_toml`] → [`Agreement`]; [`AgreementSignature::sign`] / `verify`;
//! [`lifecycle::History`] and [`lifecycle::fold`].

pub mod canonical;
pub mod decode;
pub mod ids;
pub mod keys;
pub mod lifecycle;
pub mod model;
pub mod parse;
pub mod signature;

pub use decode::CanonicalError;
pub use ids::{AgreementId, IdError, PartyId};
pub use keys::{KeyError, PublicKey, SecretKey, Signature};
pub use lifecycle::{
    Action, Event, History, LifecycleError, Record, SignedStatement, State, Statement, Status, fold,
};
pub use model::{
    Agreement, Area, Contact, DividingLine, Frequency, LinkTest, Member, NotificationField, Party,
    Position, Separation, Shift, TrackField, Zone,
};
pub use parse::{Location, ParseError, parse_toml};
pub use signature::{AgreementSignature, SignatureError};

/// The example agreement written by `deconflict agreement init`: two parties, the Euphrates as a
/// dividing line, the al-Tanf zone, every field documented in comments.
pub const TEMPLATE_TOML: &str = include_str!("../template.toml");
