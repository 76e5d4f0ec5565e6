//! What the service needs from the agreement, and the agreement's lifecycle status.
//!
//! [`Terms`] is built from the agreement crate's validated [`deconflict_agreement::Agreement`]
//! (the parties, their keys, the minima, the disclosure rules) and does not change while the
//! service runs. The lifecycle status (draft, in force, suspended, terminated) is the fold of
//! the agreement crate's [`Lifecycle`] history and changes only by statements each party signs
//! with its own key ([`crate::lifecycle`]).

use std::collections::BTreeSet;

use deconflict_agreement::{Agreement, AgreementSignature};
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
    /// The validated agreement itself: the lifecycle folds its history against it.
    pub agreement: Agreement,
    /// Parties' detached signatures over the agreement that the caller found beside it
    /// (verified again when they enter the history).
    pub signatures: Vec<AgreementSignature>,
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
            agreement: a.clone(),
            signatures: Vec::new(),
        })
    }

    /// The same terms with the parties' detached signatures over the agreement.
    pub fn with_signatures(mut self, signatures: Vec<AgreementSignature>) -> Self {
        self.signatures = signatures;
        self
    }
}

/// The agreement's declared status: the agreement crate's, folded from its signed history.
pub use deconflict_agreement::lifecycle::Status;

/// The agreement's lifecycle as the service holds it: the agreement crate's history of signed
/// events (each party's signature over the agreement, then the parties' signed statements),
/// whose fold is the declared status. See [`crate::lifecycle`].
pub type Lifecycle = deconflict_agreement::History;
