//! Routes of the shared record that parties write to (countersignatures of tree heads); the
//! read-only record routes (tree heads, proofs, entries) are in [`crate::api`].

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

use crate::state::State;

/// The record's write routes under `/v1` (authenticated by the caller's layer).
pub fn routes() -> OpenApiRouter<Arc<State>> {
    OpenApiRouter::new()
}
