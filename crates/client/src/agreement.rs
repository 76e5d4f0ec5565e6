//! The agreement's lifecycle, the party's side: reading the agreement and submitting signed
//! statements with their record entries.

use deconflict_agreement::lifecycle::{Action, SignedStatement, Statement};
use deconflict_agreement::{AgreementId, PartyId};

use crate::client::{ClientError, PartyClient};
use crate::statement_entry::{action_request, statement_key};
use crate::wire::{AgreementView, ErrorBody};

impl PartyClient {
    /// `GET /v1/agreement`.
    pub async fn agreement(&self) -> Result<AgreementView, ClientError> {
        self.call::<(), _>("GET", "/v1/agreement", None).await
    }

    /// Signs `action` on the basis the service shows now, signs its log entry, submits both.
    pub async fn agreement_action(&self, action: Action) -> Result<AgreementView, ClientError> {
        let view = self.agreement().await?;
        let id = AgreementId::from_text(&view.id)
            .map_err(|e| ClientError::Decode(format!("agreement id: {e}")))?;
        let party =
            PartyId::new(self.party()).map_err(|e| ClientError::Decode(format!("party: {e}")))?;
        let statement =
            Statement::new(id, party, view.basis_seq, action).map_err(|e| ClientError::Status {
                status: 422,
                body: ErrorBody {
                    code: "invalid_field".into(),
                    message: e.to_string(),
                    field: Some("statement".into()),
                },
            })?;
        let signed = statement.sign(&statement_key(self.signing_key()));
        self.submit_statement(&signed).await
    }

    /// Submits a statement signed elsewhere (e.g. on an air-gapped machine); the client signs
    /// its log entry with its own key, which must be the statement's party's.
    pub async fn submit_statement(
        &self,
        statement: &SignedStatement,
    ) -> Result<AgreementView, ClientError> {
        let body = action_request(statement, self.clock().now_ms(), self.signing_key())
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        self.call("POST", "/v1/agreement/actions", Some(&body))
            .await
    }
}
