//! What the service needs from the agreement, and the agreement's lifecycle status.
//!
//! [`Terms`] is built from the agreement crate's validated [`deconflict_agreement::Agreement`]
//! (the parties, their keys, the minima, the disclosure rules) and does not change while the
//! service runs. The lifecycle status (draft, in force, suspended, terminated) is held in
//! [`Lifecycle`] and changes by signed requests of the parties.

use std::collections::BTreeSet;

use ed25519_dalek::VerifyingKey;

/// One party, as the service uses it.
#[derive(Debug, Clone)]
pub struct PartyInfo {
    pub id: String,
    pub name: String,
    pub language: String,
    pub key: VerifyingKey,
    /// `ed25519:<base64>` as written in the agreement.
    pub key_text: String,
    /// Track fields this party discloses to the others (`position`, `altitude`, `velocity`,
    /// `callsign`, `aircraft_type`, `icao24`, `squawk`).
    pub disclose_track: BTreeSet<String>,
    /// Notification fields this party discloses (`area`, `altitude_band`, `time_window`,
    /// `callsigns`, `aircraft_count`, `aircraft_type`, `remarks`).
    pub disclose_notification: BTreeSet<String>,
}

/// The agreement's terms that the service enforces.
#[derive(Debug, Clone)]
pub struct Terms {
    /// `sha256:<hex>` of the canonical document.
    pub id: String,
    pub title: String,
    pub parties: Vec<PartyInfo>,
    pub h_sep_m: f64,
    pub v_sep_m: f64,
    pub lookahead_s: f64,
    /// The canonical bytes of the agreement, kept as version 1 in the store.
    pub document: Vec<u8>,
}

impl Terms {
    pub fn party(&self, id: &str) -> Option<&PartyInfo> {
        self.parties.iter().find(|p| p.id == id)
    }

    /// Builds the terms from a parsed, validated agreement.
    pub fn from_agreement(a: &deconflict_agreement::Agreement) -> Result<Self, String> {
        let mut parties = Vec::new();
        for p in a.parties() {
            let key = VerifyingKey::from_bytes(p.public_key().as_bytes())
                .map_err(|e| format!("party {}: public key: {e}", p.id().as_str()))?;
            parties.push(PartyInfo {
                id: p.id().as_str().to_string(),
                name: p.name().to_string(),
                language: p.language().to_string(),
                key,
                key_text: p.public_key().to_text(),
                disclose_track: p
                    .disclose_track()
                    .iter()
                    .map(|f| f.as_str().to_string())
                    .collect(),
                disclose_notification: p
                    .disclose_notification()
                    .iter()
                    .map(|f| f.as_str().to_string())
                    .collect(),
            });
        }
        let sep = a.separation();
        Ok(Terms {
            id: a.id().to_text(),
            title: a.title().to_string(),
            parties,
            h_sep_m: f64::from(sep.horizontal_m()),
            v_sep_m: f64::from(sep.vertical_m()),
            lookahead_s: f64::from(sep.lookahead_s()),
            document: a.canonical_bytes().to_vec(),
        })
    }
}

/// The agreement's declared status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    InForce,
    Suspended,
    Terminated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InForce => "in_force",
            Status::Suspended => "suspended",
            Status::Terminated => "terminated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Status::Draft),
            "in_force" => Some(Status::InForce),
            "suspended" => Some(Status::Suspended),
            "terminated" => Some(Status::Terminated),
            _ => None,
        }
    }
}

/// The lifecycle: any one party suspends (with a reason); reactivation needs every party;
/// termination by any party is final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: Status,
    pub reason: Option<String>,
    pub conditions: Option<String>,
    /// Parties that asked to reactivate since the suspension.
    pub reactivation: BTreeSet<String>,
}

/// Why a lifecycle action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    #[error("the agreement is {0}; this action is not possible now")]
    WrongStatus(&'static str),
    #[error("a reason is required")]
    ReasonRequired,
    #[error("unknown action {0:?}: expected suspend, reactivate or terminate")]
    UnknownAction(String),
}

impl Lifecycle {
    pub fn in_force() -> Self {
        Lifecycle {
            status: Status::InForce,
            reason: None,
            conditions: None,
            reactivation: BTreeSet::new(),
        }
    }

    /// Applies `action` by `party`; returns the new state (self is unchanged on error).
    pub fn apply(
        &self,
        party: &str,
        all_parties: &[String],
        action: &str,
        reason: Option<&str>,
        conditions: Option<&str>,
    ) -> Result<Lifecycle, LifecycleError> {
        let mut next = self.clone();
        match action {
            "suspend" => {
                if self.status != Status::InForce {
                    return Err(LifecycleError::WrongStatus(self.status.as_str()));
                }
                let reason = reason
                    .filter(|r| !r.trim().is_empty())
                    .ok_or(LifecycleError::ReasonRequired)?;
                next.status = Status::Suspended;
                next.reason = Some(format!("{party}: {reason}"));
                next.conditions = None;
                next.reactivation.clear();
            }
            "reactivate" => {
                if self.status != Status::Suspended {
                    return Err(LifecycleError::WrongStatus(self.status.as_str()));
                }
                next.reactivation.insert(party.to_string());
                if let Some(c) = conditions.filter(|c| !c.trim().is_empty()) {
                    let joined = match &next.conditions {
                        Some(prev) => format!("{prev}\n{party}: {c}"),
                        None => format!("{party}: {c}"),
                    };
                    next.conditions = Some(joined);
                }
                if all_parties.iter().all(|p| next.reactivation.contains(p)) {
                    next.status = Status::InForce;
                    next.reactivation.clear();
                }
            }
            "terminate" => {
                if self.status == Status::Terminated {
                    return Err(LifecycleError::WrongStatus(self.status.as_str()));
                }
                let reason = reason
                    .filter(|r| !r.trim().is_empty())
                    .ok_or(LifecycleError::ReasonRequired)?;
                next.status = Status::Terminated;
                next.reason = Some(format!("{party}: {reason}"));
            }
            other => return Err(LifecycleError::UnknownAction(other.to_string())),
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspension_by_one_reactivation_by_all() {
        let all = vec!["a".to_string(), "b".to_string()];
        let l = Lifecycle::in_force();
        assert_eq!(
            l.apply("a", &all, "suspend", None, None),
            Err(LifecycleError::ReasonRequired)
        );
        let s = l.apply("a", &all, "suspend", Some("strike"), None).unwrap();
        assert_eq!(s.status, Status::Suspended);
        let half = s
            .apply("b", &all, "reactivate", None, Some("notice 1 h ahead"))
            .unwrap();
        assert_eq!(half.status, Status::Suspended);
        let again = half.apply("b", &all, "reactivate", None, None).unwrap();
        assert_eq!(
            again.status,
            Status::Suspended,
            "one party twice is not all"
        );
        let back = again.apply("a", &all, "reactivate", None, None).unwrap();
        assert_eq!(back.status, Status::InForce);
        assert_eq!(back.conditions.as_deref(), Some("b: notice 1 h ahead"));
        let t = back
            .apply("b", &all, "terminate", Some("end"), None)
            .unwrap();
        assert!(matches!(
            t.apply("a", &all, "suspend", Some("x"), None),
            Err(LifecycleError::WrongStatus("terminated"))
        ));
    }
}
