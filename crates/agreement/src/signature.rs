//! Detached Ed25519 signatures over an agreement's canonical bytes.
//!
//! What is signed is exactly [`Agreement::canonical_bytes`] (RFC 8785), nothing prepended, so a
//! party can check a signature with any Ed25519 tool against the canonical file.
//!
//! Signature file (`*.sig`), four lines of ASCII, in this order, each `key value`:
//!
//! ```text
//! deconflict-agreement-signature v1
//! agreement sha256:<64 hex>
//! party <party id>
//! signature ed25519-sig:<128 hex>
//! ```
//!
//! A final newline is written and optional on reading; nothing else is accepted.

use crate::ids::{AgreementId, PartyId};
use crate::keys::{SecretKey, Signature};
use crate::model::Agreement;

/// First line of a signature file.
pub const SIGNATURE_FILE_HEADER: &str = "deconflict-agreement-signature v1";
/// Largest signature file accepted, in bytes (the format is about 300 bytes).
pub const SIGNATURE_FILE_BYTES_MAX: usize = 1024;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("signature is for agreement {found}, not {expected}")]
    WrongAgreement {
        expected: AgreementId,
        found: AgreementId,
    },
    #[error("{0} is not a party to this agreement")]
    UnknownParty(PartyId),
    #[error("the key given is not {party}'s key in the agreement")]
    KeyMismatch { party: PartyId },
    #[error("no party of this agreement has the public key {0}")]
    NoPartyWithKey(String),
    #[error("{party}'s signature does not verify against {party}'s key in the agreement")]
    BadSignature { party: PartyId },
    #[error("signature file, line {line}: {reason}")]
    Format { line: usize, reason: String },
}

/// One party's detached signature over one agreement version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementSignature {
    agreement: AgreementId,
    party: PartyId,
    signature: Signature,
}

impl AgreementSignature {
    /// Signs `agreement` as `party`. Refuses when `key` is not that party's key in the
    /// agreement, so a party cannot sign with a key the others would not accept.
    pub fn sign(
        agreement: &Agreement,
        party: &PartyId,
        key: &SecretKey,
    ) -> Result<Self, SignatureError> {
        let p = agreement
            .party(party)
            .ok_or_else(|| SignatureError::UnknownParty(party.clone()))?;
        if *p.public_key() != key.public_key() {
            return Err(SignatureError::KeyMismatch {
                party: party.clone(),
            });
        }
        Ok(Self {
            agreement: agreement.id(),
            party: party.clone(),
            signature: key.sign(agreement.canonical_bytes()),
        })
    }

    /// Signs as whichever party holds `key`'s public key in the agreement.
    pub fn sign_as_key_holder(
        agreement: &Agreement,
        key: &SecretKey,
    ) -> Result<Self, SignatureError> {
        let party = agreement
            .party_by_key(&key.public_key())
            .ok_or_else(|| SignatureError::NoPartyWithKey(key.public_key().to_text()))?;
        Self::sign(agreement, &party.id().clone(), key)
    }

    /// Assembles a signature received from elsewhere; check it with [`Self::verify`].
    pub fn from_parts(agreement: AgreementId, party: PartyId, signature: Signature) -> Self {
        Self {
            agreement,
            party,
            signature,
        }
    }

    pub fn agreement(&self) -> AgreementId {
        self.agreement
    }

    pub fn party(&self) -> &PartyId {
        &self.party
    }

    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Accepts only a signature by a party of `agreement`, for this exact version, that verifies
    /// (strictly) under that party's key.
    pub fn verify(&self, agreement: &Agreement) -> Result<(), SignatureError> {
        if self.agreement != agreement.id() {
            return Err(SignatureError::WrongAgreement {
                expected: agreement.id(),
                found: self.agreement,
            });
        }
        let p = agreement
            .party(&self.party)
            .ok_or_else(|| SignatureError::UnknownParty(self.party.clone()))?;
        if !p
            .public_key()
            .verify(agreement.canonical_bytes(), &self.signature)
        {
            return Err(SignatureError::BadSignature {
                party: self.party.clone(),
            });
        }
        Ok(())
    }

    /// The signature file's text (see the module documentation).
    pub fn to_file_text(&self) -> String {
        format!(
            "{SIGNATURE_FILE_HEADER}\nagreement {}\nparty {}\nsignature {}\n",
            self.agreement, self.party, self.signature
        )
    }

    /// Reads a signature file. Does not verify it: call [`Self::verify`].
    pub fn from_file_text(text: &str) -> Result<Self, SignatureError> {
        let err = |line: usize, reason: String| SignatureError::Format { line, reason };
        if text.len() > SIGNATURE_FILE_BYTES_MAX {
            return Err(err(
                0,
                format!("{} bytes, more than {SIGNATURE_FILE_BYTES_MAX}", text.len()),
            ));
        }
        let body = text.strip_suffix('\n').unwrap_or(text);
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() != 4 {
            return Err(err(
                lines.len().min(5),
                format!("expected 4 lines, found {}", lines.len()),
            ));
        }
        if lines[0] != SIGNATURE_FILE_HEADER {
            return Err(err(1, format!("expected {SIGNATURE_FILE_HEADER:?}")));
        }
        let field = |n: usize, key: &str| -> Result<&str, SignatureError> {
            lines[n - 1]
                .strip_prefix(key)
                .and_then(|r| r.strip_prefix(' '))
                .ok_or_else(|| err(n, format!("expected `{key} <value>`")))
        };
        let agreement =
            AgreementId::from_text(field(2, "agreement")?).map_err(|e| err(2, e.to_string()))?;
        let party = PartyId::new(field(3, "party")?).map_err(|e| err(3, e.to_string()))?;
        let signature =
            Signature::from_text(field(4, "signature")?).map_err(|e| err(4, e.to_string()))?;
        Ok(Self {
            agreement,
            party,
            signature,
        })
    }
}
