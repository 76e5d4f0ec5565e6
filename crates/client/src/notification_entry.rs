//! A notification, and its withdrawal, as an entry of the shared log signed by the party that
//! notified it.
//!
//! The entry is a pure function of what the party sends: the notification, its id and
//! revision, the entry's time by the party's clock, and one salt per field the agreement does
//! not let the party disclose. The party builds it, signs it with its own key and sends the
//! salts, the time and the signature with the request; the service rebuilds the same bytes,
//! checks the signature with the party's key from the agreement and appends the entry as the
//! party signed it. So the record shows what the party itself stated, and neither the service
//! nor anyone holding its key could have written it.
//!
//! Fields of a `notification` entry: `party`, `revision` and `strike_warning` in the clear;
//! then `area` (RFC 8785 JSON of the area), `alt_min_mm`, `alt_max_mm`, `start_unix_ms`,
//! `end_unix_ms`, and when given `callsigns` (comma-joined), `aircraft_count`,
//! `aircraft_type` and `remarks`: each in the clear when the agreement's
//! `disclose_notification` for the party names it ([`PRIVATE_FIELDS`] maps the names), else a
//! salted commitment whose salt the party chose. A text longer than the record's text field is
//! recorded as `sha256:<hex>` of it. A withdrawal is a `notification_withdrawal` entry naming
//! the notification.
//!
//! The salts must cover exactly the undisclosed fields: a value the agreement keeps private
//! never reaches the record in the clear, and one it discloses is never hidden. Each salt is
//! used once (a repeated salt is refused: it is the mark of a broken random source).

use std::collections::{BTreeMap, BTreeSet};

use deconflict_log::{Entry, EntryBody, FieldValue, Fields, Hash, KeyId, Opening, Salt, Text};
use ed25519_dalek::SigningKey;

use crate::line_entry::sign_entry;
use crate::wire::NotificationIn;

/// The fields of a notification entry that a party may keep undisclosed, by their name in the
/// record, each with the `disclose_notification` name of the agreement that discloses it.
pub const PRIVATE_FIELDS: [(&str, &str); 9] = [
    ("area", "area"),
    ("alt_min_mm", "altitude_band"),
    ("alt_max_mm", "altitude_band"),
    ("start_unix_ms", "time_window"),
    ("end_unix_ms", "time_window"),
    ("callsigns", "callsigns"),
    ("aircraft_count", "aircraft_count"),
    ("aircraft_type", "aircraft_type"),
    ("remarks", "remarks"),
];

/// Most salts in one request: one per private field.
pub const ENTRY_SALTS_MAX: usize = PRIVATE_FIELDS.len();

/// Why a notification's entry could not be built from what was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationEntryError {
    /// A request field (`entry_salts.<name>`, `entry_salts`) is wrong, and why.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    /// The log refused a value (out of its range).
    #[error("log entry: {0}")]
    Entry(String),
}

fn field_err(field: impl Into<String>, message: impl Into<String>) -> NotificationEntryError {
    NotificationEntryError::Field {
        field: field.into(),
        message: message.into(),
    }
}

fn entry_err(e: impl std::fmt::Display) -> NotificationEntryError {
    NotificationEntryError::Entry(e.to_string())
}

/// The private fields `n` has, in record order: the five always there, the optional ones when
/// given (callsigns when there is at least one).
pub fn private_fields(n: &NotificationIn) -> Vec<&'static str> {
    PRIVATE_FIELDS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| match *name {
            "callsigns" => !n.callsigns.is_empty(),
            "aircraft_count" => n.aircraft_count.is_some(),
            "aircraft_type" => n.aircraft_type.is_some(),
            "remarks" => n.remarks.is_some(),
            _ => true,
        })
        .collect()
}

/// The private fields of `n` that `disclosed` (the author's `disclose_notification` names from
/// the agreement) leaves undisclosed: the ones that need a salt.
pub fn undisclosed_fields(n: &NotificationIn, disclosed: &BTreeSet<String>) -> Vec<&'static str> {
    private_fields(n)
        .into_iter()
        .filter(|name| {
            let rule = PRIVATE_FIELDS
                .iter()
                .find(|(f, _)| f == name)
                .map_or("", |(_, d)| *d);
            !disclosed.contains(rule)
        })
        .collect()
}

/// The value of private field `name` of `n`, as recorded.
fn value(n: &NotificationIn, name: &str) -> Result<FieldValue, NotificationEntryError> {
    let int = |v: i64| FieldValue::int(v).map_err(entry_err);
    let fixed = |x: f64| fixed(x, 1000.0).map_err(entry_err);
    match name {
        "area" => {
            let area = serde_json_canonicalizer::to_string(&n.area).map_err(entry_err)?;
            Ok(FieldValue::Text(text(&area)))
        }
        "alt_min_mm" => fixed(n.alt_min_m),
        "alt_max_mm" => fixed(n.alt_max_m),
        "start_unix_ms" => int(n.start_unix_ms),
        "end_unix_ms" => int(n.end_unix_ms),
        "callsigns" => Ok(FieldValue::Text(text(&n.callsigns.join(",")))),
        "aircraft_count" => int(i64::from(n.aircraft_count.unwrap_or_default())),
        "aircraft_type" => Ok(FieldValue::Text(text(
            n.aircraft_type.as_deref().unwrap_or_default(),
        ))),
        "remarks" => Ok(FieldValue::Text(text(
            n.remarks.as_deref().unwrap_or_default(),
        ))),
        other => Err(entry_err(format!("{other} is not a notification field"))),
    }
}

/// The record's entry for revision `revision` of notification `id` of `party`, at `time_ms`
/// (the party's clock): every field named in `salts` committed with its salt, the others in
/// the clear. Also the openings of the commitments. Refuses a salt for a field the
/// notification does not have.
pub fn notification_entry(
    party: &str,
    id: &str,
    revision: u64,
    n: &NotificationIn,
    salts: &BTreeMap<String, Salt>,
    time_ms: u64,
) -> Result<(Entry, Vec<Opening>), NotificationEntryError> {
    let present = private_fields(n);
    if let Some(name) = salts.keys().find(|k| !present.contains(&k.as_str())) {
        let known = PRIVATE_FIELDS.iter().any(|(f, _)| f == name);
        return Err(field_err(
            format!("entry_salts.{name}"),
            if known {
                "the notification has no such field to commit".to_string()
            } else {
                format!(
                    "not a notification field of the record (one of {})",
                    PRIVATE_FIELDS.map(|(f, _)| f).join(", ")
                )
            },
        ));
    }
    let mut fields = Fields::new();
    let mut put = |name: &str, v: FieldValue| fields.insert(name, v).map_err(entry_err);
    put("party", FieldValue::text(party).map_err(entry_err)?)?;
    let revision = i64::try_from(revision).map_err(entry_err)?;
    put("revision", FieldValue::int(revision).map_err(entry_err)?)?;
    put(
        "strike_warning",
        FieldValue::int(i64::from(n.strike_warning)).map_err(entry_err)?,
    )?;
    let mut openings = Vec::new();
    for name in present {
        let v = value(n, name)?;
        match salts.get(name) {
            Some(salt) => {
                let (c, opening) = FieldValue::commit(v, *salt).map_err(entry_err)?;
                openings.push(opening);
                put(name, c)?;
            }
            None => put(name, v)?,
        }
    }
    let body = EntryBody::Notification {
        fields,
        notification_id: text(id),
    };
    let author = KeyId::new(party).map_err(entry_err)?;
    Ok((
        Entry::new(author, time_ms, body).map_err(entry_err)?,
        openings,
    ))
}

/// The record's entry for `party` withdrawing notification `id` at `time_ms` (its clock).
pub fn withdrawal_entry(
    party: &str,
    id: &str,
    time_ms: u64,
) -> Result<Entry, NotificationEntryError> {
    let body = EntryBody::NotificationWithdrawal {
        notification_id: text(id),
        reason: None,
    };
    let author = KeyId::new(party).map_err(entry_err)?;
    Entry::new(author, time_ms, body).map_err(entry_err)
}

/// The salts of a request (`entry_salts`): at most [`ENTRY_SALTS_MAX`], each 64 lower-case hex
/// digits, no salt twice.
pub fn parse_salts(
    wire: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Salt>, NotificationEntryError> {
    if wire.len() > ENTRY_SALTS_MAX {
        return Err(field_err(
            "entry_salts",
            format!(
                "{} salts; a notification has at most {ENTRY_SALTS_MAX} fields to commit",
                wire.len()
            ),
        ));
    }
    let mut out = BTreeMap::new();
    let mut seen: BTreeMap<[u8; 32], &str> = BTreeMap::new();
    for (name, hex) in wire {
        let salt = Salt::try_from(hex.clone())
            .map_err(|e| field_err(format!("entry_salts.{name}"), e.to_string()))?;
        if let Some(first) = seen.insert(salt.0, name) {
            return Err(field_err(
                format!("entry_salts.{name}"),
                format!("the same salt as {first}; each commitment needs its own"),
            ));
        }
        out.insert(name.clone(), salt);
    }
    Ok(out)
}

/// Checks that `salts` name exactly the fields of `n` that `disclosed` leaves undisclosed.
pub fn check_disclosure(
    n: &NotificationIn,
    disclosed: &BTreeSet<String>,
    salts: &BTreeMap<String, Salt>,
) -> Result<(), NotificationEntryError> {
    let needed = undisclosed_fields(n, disclosed);
    if let Some(missing) = needed.iter().find(|f| !salts.contains_key(**f)) {
        return Err(field_err(
            format!("entry_salts.{missing}"),
            "the agreement does not disclose this field: the record takes it only as a \
             salted commitment, so a salt is needed",
        ));
    }
    if let Some(extra) = salts.keys().find(|k| !needed.contains(&k.as_str())) {
        let rule = PRIVATE_FIELDS
            .iter()
            .find(|(f, _)| f == extra)
            .map_or("?", |(_, d)| *d);
        if private_fields(n).contains(&extra.as_str()) {
            return Err(field_err(
                format!("entry_salts.{extra}"),
                format!("the agreement discloses {rule}: the record takes this field in the clear"),
            ));
        }
    }
    Ok(())
}

/// The salts for the fields of `n` that `disclosed` leaves undisclosed, derived from the
/// party's secret key: `SHA-256("deconflict/v1/notification-salt" ‖ 0 ‖ secret key ‖ party ‖ 0 ‖
/// id ‖ 0 ‖ revision (8 bytes, big-endian) ‖ field ‖ 0 ‖ RFC 8785 JSON of the value)`. Only the
/// key's holder can compute them (as unguessable as random salts to everyone else), each field
/// and value gets its own, and a request retried after a lost answer commits with the same salts,
/// so the openings the party kept from either attempt open what the record holds.
pub fn derived_salts(
    key: &SigningKey,
    party: &str,
    id: &str,
    revision: u64,
    n: &NotificationIn,
    disclosed: &BTreeSet<String>,
) -> Result<BTreeMap<String, Salt>, NotificationEntryError> {
    use sha2::{Digest as _, Sha256};
    let mut out = BTreeMap::new();
    for name in undisclosed_fields(n, disclosed) {
        let v = serde_json_canonicalizer::to_vec(&value(n, name)?).map_err(entry_err)?;
        let mut h = Sha256::new();
        h.update(b"deconflict/v1/notification-salt\0");
        h.update(key.to_bytes());
        for part in [party.as_bytes(), id.as_bytes()] {
            h.update(part);
            h.update([0]);
        }
        h.update(revision.to_be_bytes());
        h.update(name.as_bytes());
        h.update([0]);
        h.update(&v);
        out.insert(name.to_string(), Salt(h.finalize().into()));
    }
    Ok(out)
}

/// What a party sends with a create or an update (the request's `entry_*` fields), and the
/// openings it may keep to open its commitments itself later.
#[derive(Debug, Clone)]
pub struct AuthoredNotificationEntry {
    pub entry_time_ms: i64,
    pub entry_salts: BTreeMap<String, String>,
    pub entry_signature: String,
    pub openings: Vec<Opening>,
}

/// Builds and signs revision `revision` of notification `id` as `party` at `time_ms`, with
/// salts [`derived_salts`] from the key for the fields `disclosed` leaves undisclosed.
pub fn sign_notification(
    party: &str,
    id: &str,
    revision: u64,
    n: &NotificationIn,
    disclosed: &BTreeSet<String>,
    time_ms: i64,
    key: &SigningKey,
) -> Result<AuthoredNotificationEntry, NotificationEntryError> {
    let salts = derived_salts(key, party, id, revision, n, disclosed)?;
    let t = u64::try_from(time_ms).map_err(entry_err)?;
    let (entry, openings) = notification_entry(party, id, revision, n, &salts, t)?;
    let entry_signature = sign_entry(entry, key).map_err(entry_err)?;
    Ok(AuthoredNotificationEntry {
        entry_time_ms: time_ms,
        entry_salts: salts
            .into_iter()
            .map(|(k, s)| (k, String::from(s)))
            .collect(),
        entry_signature,
        openings,
    })
}

/// The base64 signature of `party`'s withdrawal of `id` at `time_ms`.
pub fn sign_withdrawal(
    party: &str,
    id: &str,
    time_ms: i64,
    key: &SigningKey,
) -> Result<String, NotificationEntryError> {
    let t = u64::try_from(time_ms).map_err(entry_err)?;
    sign_entry(withdrawal_entry(party, id, t)?, key).map_err(entry_err)
}

/// The `entry_*` fields of a create, update (`salts` possibly non-empty) or withdrawal (no
/// salts) request.
#[derive(Debug, Clone, Default)]
pub struct EntryIn {
    pub time_ms: i64,
    pub salts: BTreeMap<String, String>,
    pub signature: String,
}

/// A text field value; texts longer than the log allows are replaced by their SHA-256.
pub fn text(s: &str) -> Text {
    Text::new(s).unwrap_or_else(|_| {
        Text::new(format!("sha256:{}", Hash::of(s.as_bytes()).to_hex()))
            .unwrap_or_else(|_| Text::new("").unwrap_or_else(|_| unreachable!()))
    })
}

/// `x · scale` rounded to an integer field (millimetres from metres, …); refuses a non-finite value.
pub fn fixed(x: f64, scale: f64) -> Result<FieldValue, String> {
    let v = x * scale;
    if !v.is_finite() {
        return Err(format!("{x} is not a finite number"));
    }
    FieldValue::int(v.round() as i64).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_entry::signed_entry;
    use crate::wire::{AreaIn, LatLon};
    use proptest::prelude::*;

    const RULES: [&str; 7] = [
        "area",
        "altitude_band",
        "time_window",
        "callsigns",
        "aircraft_count",
        "aircraft_type",
        "remarks",
    ];

    fn notification() -> impl Strategy<Value = NotificationIn> {
        (
            (-89.0..89.0f64, -179.0..179.0f64, 1.0..500_000.0f64),
            (-500.0..15_000.0f64, 0.001..15_000.0f64),
            (0i64..4_000_000_000_000, 1i64..604_800_000),
            prop::collection::vec("[A-Z0-9]{1,8}", 0..3),
            prop::option::of(0u32..100),
            prop::option::of("[A-Z0-9-]{1,8}"),
            prop::option::of("\\PC{0,40}"),
            any::<bool>(),
        )
            .prop_map(
                |((lat, lon, r), (floor, depth), (start, len), cs, count, ty, rem, sw)| {
                    NotificationIn {
                        area: AreaIn::Circle {
                            centre: LatLon {
                                lat_deg: lat,
                                lon_deg: lon,
                            },
                            radius_m: r,
                        },
                        alt_min_m: floor,
                        alt_max_m: floor + depth,
                        start_unix_ms: start,
                        end_unix_ms: start + len,
                        callsigns: cs,
                        aircraft_count: count,
                        aircraft_type: ty,
                        remarks: rem,
                        strike_warning: sw,
                    }
                },
            )
    }

    proptest! {
        /// What a party signs, sent as JSON and rebuilt by the service from the parsed request,
        /// is the same entry: it verifies, its commitments are exactly the undisclosed fields
        /// and each opens with the salt sent.
        #[test]
        fn the_service_rebuilds_exactly_what_the_party_signed(
            n in notification(),
            mask in 0u8..128,
            time in 0i64..4_000_000_000_000,
        ) {
            let disclosed: BTreeSet<String> = RULES
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, r)| r.to_string())
                .collect();
            let key = SigningKey::from_bytes(&[5; 32]);
            let signed = sign_notification("russia", "n-1", 3, &n, &disclosed, time, &key).unwrap();
            // Over the wire and back.
            let wire: NotificationIn =
                serde_json::from_str(&serde_json::to_string(&n).unwrap()).unwrap();
            let salts = parse_salts(&signed.entry_salts).unwrap();
            check_disclosure(&wire, &disclosed, &salts).unwrap();
            let (entry, openings) =
                notification_entry("russia", "n-1", 3, &wire, &salts, time as u64).unwrap();
            let entry = signed_entry(entry, &signed.entry_signature, &key.verifying_key()).unwrap();
            let EntryBody::Notification { fields, .. } = entry.entry().body() else {
                panic!("not a notification entry");
            };
            let mut committed: Vec<&str> = PRIVATE_FIELDS
                .iter()
                .map(|(f, _)| *f)
                .filter(|f| matches!(fields.get(f), Some(FieldValue::Commitment(_))))
                .collect();
            committed.sort_unstable();
            let mut expected = undisclosed_fields(&n, &disclosed);
            expected.sort_unstable();
            prop_assert_eq!(committed, expected);
            prop_assert_eq!(openings.len(), salts.len());
            for o in &openings {
                prop_assert!(PRIVATE_FIELDS.iter().any(|(f, _)| matches!(fields.get(f),
                    Some(FieldValue::Commitment(c)) if o.verify(c).is_ok())));
            }
        }
    }

    fn sample() -> NotificationIn {
        NotificationIn {
            area: AreaIn::Circle {
                centre: LatLon {
                    lat_deg: 35.5,
                    lon_deg: 38.25,
                },
                radius_m: 20_000.0,
            },
            alt_min_m: 3000.0,
            alt_max_m: 9000.5,
            start_unix_ms: 1_491_984_000_000,
            end_unix_ms: 1_491_987_600_000,
            callsigns: vec!["RA1".into(), "RA2".into()],
            aircraft_count: None,
            aircraft_type: None,
            remarks: Some("escort".into()),
            strike_warning: true,
        }
    }

    #[test]
    fn clear_fields_are_recorded_as_documented() {
        let (entry, openings) =
            notification_entry("coalition", "c-1", 2, &sample(), &BTreeMap::new(), 7).unwrap();
        assert!(openings.is_empty());
        let EntryBody::Notification {
            fields,
            notification_id,
        } = entry.body()
        else {
            panic!("not a notification entry");
        };
        assert_eq!(notification_id.as_str(), "c-1");
        assert_eq!(entry.author().as_str(), "coalition");
        assert_eq!(entry.time_ms(), 7);
        let get = |k: &str| fields.get(k).cloned();
        assert_eq!(
            get("area"),
            Some(
                FieldValue::text(
                    r#"{"centre":{"lat_deg":35.5,"lon_deg":38.25},"kind":"circle","radius_m":20000}"#
                )
                .unwrap()
            )
        );
        assert_eq!(get("alt_max_mm"), Some(FieldValue::int(9_000_500).unwrap()));
        assert_eq!(get("callsigns"), Some(FieldValue::text("RA1,RA2").unwrap()));
        assert_eq!(get("revision"), Some(FieldValue::int(2).unwrap()));
        assert_eq!(get("strike_warning"), Some(FieldValue::int(1).unwrap()));
        assert_eq!(get("aircraft_type"), None);
    }

    #[test]
    fn salts_are_checked_and_named() {
        let n = sample();
        let disclosed: BTreeSet<String> = ["area", "altitude_band", "time_window"]
            .map(String::from)
            .into();
        assert_eq!(undisclosed_fields(&n, &disclosed), ["callsigns", "remarks"]);
        let field = |r: Result<(), NotificationEntryError>| match r {
            Err(NotificationEntryError::Field { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let salts = |pairs: &[(&str, u8)]| -> BTreeMap<String, Salt> {
            pairs
                .iter()
                .map(|(k, b)| (k.to_string(), Salt([*b; 32])))
                .collect()
        };
        check_disclosure(&n, &disclosed, &salts(&[("callsigns", 1), ("remarks", 2)])).unwrap();
        assert_eq!(
            field(check_disclosure(
                &n,
                &disclosed,
                &salts(&[("callsigns", 1)])
            )),
            "entry_salts.remarks"
        );
        assert_eq!(
            field(check_disclosure(
                &n,
                &disclosed,
                &salts(&[("callsigns", 1), ("remarks", 2), ("area", 3)])
            )),
            "entry_salts.area"
        );
        let wire = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let a = "ab".repeat(32);
        let b = "cd".repeat(32);
        assert!(parse_salts(&wire(&[("callsigns", &a), ("remarks", &b)])).is_ok());
        assert_eq!(
            field(parse_salts(&wire(&[("callsigns", &a), ("remarks", &a)])).map(|_| ())),
            "entry_salts.remarks"
        );
        assert_eq!(
            field(parse_salts(&wire(&[("callsigns", "AB")])).map(|_| ())),
            "entry_salts.callsigns"
        );
        let many: Vec<(String, String)> = (0..10)
            .map(|i| (format!("f{i}"), format!("{i:02x}").repeat(32)))
            .collect();
        assert_eq!(
            field(parse_salts(&many.into_iter().collect()).map(|_| ())),
            "entry_salts"
        );
        // A salt for a field the notification does not have, or no field at all.
        let e = notification_entry("c", "c-1", 1, &n, &salts(&[("aircraft_type", 4)]), 0);
        assert_eq!(field(e.map(|_| ())), "entry_salts.aircraft_type");
        let e = notification_entry("c", "c-1", 1, &n, &salts(&[("targets", 4)]), 0);
        assert_eq!(field(e.map(|_| ())), "entry_salts.targets");
    }

    #[test]
    fn derived_salts_are_the_keys_own_and_differ_by_field_and_value() {
        let n = sample();
        let key = SigningKey::from_bytes(&[3; 32]);
        let none = BTreeSet::new();
        let s = derived_salts(&key, "russia", "r-1", 1, &n, &none).unwrap();
        assert_eq!(s.len(), private_fields(&n).len());
        let distinct: BTreeSet<[u8; 32]> = s.values().map(|s| s.0).collect();
        assert_eq!(distinct.len(), s.len(), "one salt per field");
        // A retry derives the same salts; anything else that differs gives other ones.
        assert_eq!(
            s,
            derived_salts(&key, "russia", "r-1", 1, &n, &none).unwrap()
        );
        let mut other_value = sample();
        other_value.remarks = Some("another".into());
        let others = [
            derived_salts(
                &SigningKey::from_bytes(&[4; 32]),
                "russia",
                "r-1",
                1,
                &n,
                &none,
            ),
            derived_salts(&key, "russia", "r-2", 1, &n, &none),
            derived_salts(&key, "russia", "r-1", 2, &n, &none),
            derived_salts(&key, "russia", "r-1", 1, &other_value, &none),
        ];
        for o in others {
            assert_ne!(o.unwrap()["remarks"], s["remarks"]);
        }
    }
}
