//! The deconfliction line inside the service: the sans-IO [`deconflict_line::Line`] state
//! machine fed with the parties' signed requests and the cycle's alerts, its accepted events
//! made durable in the store, its effects delivered on the parties' streams.

use std::sync::Arc;

use deconflict_store::{Alert, Store};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::State;
use crate::terms::Terms;
use crate::wire::LinkTestReachability;

/// The line's state in a running service.
#[derive(Debug)]
pub struct LineDesk {}

impl LineDesk {
    /// Rebuilds the line from what the store holds.
    pub(crate) fn open(
        _terms: &Terms,
        _store: &mut dyn Store,
        _now_ms: i64,
    ) -> Result<LineDesk, String> {
        Ok(LineDesk {})
    }
}

/// The line's `/v1` routes (authenticated by the caller's layer).
pub fn routes() -> OpenApiRouter<Arc<State>> {
    OpenApiRouter::new()
}

/// Called after every cycle's alerts are committed.
pub(crate) async fn after_cycle(
    _state: &Arc<State>,
    _alerts: &[Alert],
    _now_ms: i64,
) -> Result<(), ApiError> {
    Ok(())
}

/// Per party: its answers to the scheduled link tests.
pub(crate) fn link_tests(state: &State, _now_ms: i64) -> Vec<LinkTestReachability> {
    let LineDesk {} = &state.line;
    Vec::new()
}
