//! Languages and readers. Each language is one Fluent file `locales/<code>.ftl`, embedded at
//! build time by `build.rs`, which also refuses to build if any file lacks a message that
//! `en.ftl` has. Plural rules come from CLDR through `intl_pluralrules` (Russian: one / few /
//! many / other).

use std::fmt;
use std::sync::{Arc, OnceLock};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};

use crate::ids::{OfficerName, PartyId};
use crate::units::{RangeError, UtcOffset};

include!(concat!(env!("OUT_DIR"), "/locales.rs"));

/// One of the embedded languages. Cheap to copy; only [`Language::parse`] makes one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(usize);

impl Language {
    /// Every embedded language, sorted by code.
    pub fn all() -> impl Iterator<Item = Language> {
        (0..LOCALES.len()).map(Language)
    }
    /// `en`, `ru`, … (the `.ftl` file's stem).
    pub fn parse(code: &str) -> Result<Language, RangeError> {
        LOCALES
            .iter()
            .position(|(c, _)| *c == code)
            .map(Language)
            .ok_or_else(|| {
                RangeError::Invalid(format!(
                    "language {code:?} has no templates; available: {}",
                    LOCALES
                        .iter()
                        .map(|(c, _)| *c)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
    pub fn english() -> Language {
        Language::parse("en").expect("en.ftl is the reference language")
    }
    pub fn code(self) -> &'static str {
        LOCALES[self.0].0
    }
    /// The Fluent source this language was built from.
    pub fn source(self) -> &'static str {
        LOCALES[self.0].1
    }

    /// Formats message `id` with `args`. A missing message or variable is a programmer error
    /// (the build and the template tests rule both out), so it panics rather than render a gap.
    pub(crate) fn tr(self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let bundle = &bundles()[self.0];
        let message = bundle
            .get_message(id)
            .unwrap_or_else(|| panic!("message {id} missing from {}.ftl", self.code()));
        let pattern = message
            .value()
            .unwrap_or_else(|| panic!("message {id} in {}.ftl has no value", self.code()));
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            fargs.set(*k, v.clone());
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fargs), &mut errors);
        assert!(
            errors.is_empty(),
            "{}.ftl message {id}: {errors:?}",
            self.code()
        );
        text.into_owned()
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Language({})", self.code())
    }
}
impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl Serialize for Language {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Language::parse(&code).map_err(serde::de::Error::custom)
    }
}

fn bundles() -> &'static [FluentBundle<FluentResource>] {
    static BUNDLES: OnceLock<Vec<FluentBundle<FluentResource>>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        LOCALES
            .iter()
            .map(|(code, source)| {
                let resource = FluentResource::try_new((*source).to_string())
                    .unwrap_or_else(|(_, e)| panic!("{code}.ftl does not parse: {e:?}"));
                let langid: unic_langid::LanguageIdentifier =
                    code.parse().unwrap_or_else(|e| panic!("{code}: {e}"));
                let mut bundle = FluentBundle::new_concurrent(vec![langid]);
                // No Unicode isolation marks: renderings go to terminals and logs as plain text.
                bundle.set_use_isolating(false);
                bundle
                    .add_resource(resource)
                    .unwrap_or_else(|e| panic!("{code}.ftl: {e:?}"));
                bundle
            })
            .collect()
    })
}

/// How a reader wants coordinates written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CoordFormat {
    /// `35.123456° N` (six decimals: 0.11 m at the equator, the stored precision).
    #[default]
    Decimal,
    /// `35°07′24.4″ N` (tenths of an arc-second: 3 m).
    Dms,
}

/// How one reader's renderings call the parties and their commands, in the reader's language.
/// The line knows parties by id only; whoever holds the agreement builds the table (the
/// agreement's name in that language, else the party's own name). A party not in the table is
/// shown by its id, an officer who is no party's command by the name on the roster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartyNames {
    parties: Vec<PartyName>,
    /// The id under which the service itself sends and receives, shown in the reader's words.
    service: Option<PartyId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PartyName {
    id: PartyId,
    name: String,
    command: Option<OfficerName>,
}

impl PartyNames {
    pub fn new() -> Self {
        PartyNames::default()
    }
    /// Adds (or replaces) `party`'s name; `command` is the officer its roster ends with, which
    /// renderings show as the party's command in the reader's words.
    pub fn with(
        mut self,
        party: PartyId,
        name: impl Into<String>,
        command: Option<OfficerName>,
    ) -> Self {
        self.parties.retain(|p| p.id != party);
        self.parties.push(PartyName {
            id: party,
            name: name.into(),
            command,
        });
        self
    }
    /// `party` is the service itself: renderings call it "deconfliction service" in the
    /// reader's language.
    pub fn with_service(mut self, party: PartyId) -> Self {
        self.service = Some(party);
        self
    }
    /// Whether `party` is the service itself.
    pub fn is_service(&self, party: &PartyId) -> bool {
        self.service.as_ref() == Some(party)
    }
    /// The name of `party`, if the table has it.
    pub fn party(&self, party: &PartyId) -> Option<&str> {
        self.parties
            .iter()
            .find(|p| p.id == *party)
            .map(|p| p.name.as_str())
    }
    /// The name of the party whose command `officer` is, if any.
    pub fn command_of(&self, officer: &OfficerName) -> Option<&str> {
        self.parties
            .iter()
            .find(|p| p.command.as_ref() == Some(officer))
            .map(|p| p.name.as_str())
    }
}

/// Who reads a rendering: language, local time as a fixed offset from UTC, coordinate style,
/// and optionally how the parties are called in that language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderProfile {
    pub lang: Language,
    pub utc_offset: UtcOffset,
    #[serde(default)]
    pub coordinates: CoordFormat,
    #[serde(skip)]
    names: Option<Arc<PartyNames>>,
}

impl ReaderProfile {
    pub fn new(lang: Language, utc_offset: UtcOffset, coordinates: CoordFormat) -> Self {
        ReaderProfile {
            lang,
            utc_offset,
            coordinates,
            names: None,
        }
    }

    /// The same reader, calling parties by the names in `names` (which must be in this
    /// reader's language).
    pub fn with_names(mut self, names: PartyNames) -> Self {
        self.names = Some(Arc::new(names));
        self
    }

    /// The names table, if one was given.
    pub fn names(&self) -> Option<&PartyNames> {
        self.names.as_deref()
    }

    /// A reader from a URL query string, `lang=ru&utc_offset=%2B03:00&coords=dms` (any
    /// subset, values percent-encoded as in RFC 3986 §2.1, `+` read as a space), each
    /// parameter given overriding `default`. Errors name the parameter.
    pub fn from_query(query: &str, default: ReaderProfile) -> Result<ReaderProfile, QueryError> {
        if query.len() > QUERY_BYTES_MAX {
            return Err(QueryError {
                param: String::new(),
                reason: format!("{} bytes, at most {QUERY_BYTES_MAX}", query.len()),
                unknown: false,
            });
        }
        let mut r = default;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let err = |reason: String, unknown: bool| QueryError {
                param: k.chars().take(64).collect(),
                reason,
                unknown,
            };
            let v = percent_decode(v)
                .ok_or_else(|| err("bad percent-encoding (%XX, UTF-8)".into(), false))?;
            match k {
                "lang" => r.lang = Language::parse(&v).map_err(|e| err(e.to_string(), false))?,
                // A literal `+` arrives as a space when the sender did not escape it.
                "utc_offset" => {
                    r.utc_offset = UtcOffset::parse(&v.replace(' ', "+"))
                        .map_err(|e| err(e.to_string(), false))?
                }
                "coords" => {
                    r.coordinates = match v.as_str() {
                        "decimal" => CoordFormat::Decimal,
                        "dms" => CoordFormat::Dms,
                        _ => return Err(err(format!("{v:?} is not decimal or dms"), false)),
                    }
                }
                _ => {
                    return Err(err(
                        "unknown parameter; allowed: lang, utc_offset, coords".into(),
                        true,
                    ));
                }
            }
        }
        Ok(r)
    }
}

/// Longest query string [`ReaderProfile::from_query`] reads, bytes.
pub const QUERY_BYTES_MAX: usize = 1024;

/// A reader's query string refused: which parameter (empty for the whole string), why, and
/// whether the parameter is one [`ReaderProfile::from_query`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {reason}")]
pub struct QueryError {
    pub param: String,
    pub reason: String,
    pub unknown: bool,
}

/// `%XX` escapes and `+` as space; `None` for a broken escape or bytes that are not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}
