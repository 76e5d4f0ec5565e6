//! One cycle of the service, in the order its stages run: the desk's part ([`State`]'s tick,
//! its alerts and events committed), then the line's turn, incident deadlines and the record's
//! report batches. Each later stage's failure is logged and does not undo the alerts, which
//! are stored and streamed already.

use std::sync::Arc;

use crate::error::ApiError;
use crate::metrics::CycleStage;
use crate::state::State;

/// Microseconds since `t`.
fn us(t: std::time::Instant) -> u64 {
    t.elapsed().as_micros().min(u128::from(u64::MAX)) as u64
}

impl State {
    /// One cycle at the clock's now: the core ticks (broad phase, the alerter on the
    /// candidates), its outputs become stored alerts and events, committed together; then the
    /// line, the incidents and the record take their turns. Gives the number of alerts stored.
    pub async fn run_cycle(self: &Arc<Self>) -> Result<usize, ApiError> {
        let started = std::time::Instant::now();
        let now_ms = self.clock.now_ms();
        let alerts = self.desk_cycle(now_ms).await?;
        // The line's turn: conversations for the new alerts, deadlines, link tests.
        let stage = std::time::Instant::now();
        if let Err(e) = crate::line_api::after_cycle(self, &alerts, now_ms).await {
            tracing::error!(error = ?e.body, "line cycle failed");
        }
        self.metrics.stage(CycleStage::Line, us(stage));
        let stage = std::time::Instant::now();
        if let Err(e) = crate::incidents_api::tick(self, now_ms).await {
            tracing::error!(error = ?e.body, "incident deadlines not checked");
        }
        self.metrics.stage(CycleStage::Incidents, us(stage));
        // The cycle's accepted reports, committed to the record per party.
        let stage = std::time::Instant::now();
        if let Err(e) = crate::reports::commit_batches(self, now_ms).await {
            tracing::error!(error = ?e.body, "report batches not committed");
        }
        self.metrics.stage(CycleStage::Record, us(stage));
        self.cycle_ran(now_ms);
        self.metrics.cycle(us(started));
        Ok(alerts.len())
    }

    /// Between cycles: when tracks new to the picture wait, the core grades them now and the
    /// conflicts they open are stored, streamed and put on the line without waiting for the
    /// next cycle. Gives the number of alerts stored.
    pub async fn run_arrivals(self: &Arc<Self>) -> Result<usize, ApiError> {
        let now_ms = self.clock.now_ms();
        let alerts = self.arrivals_step(now_ms).await?;
        if !alerts.is_empty()
            && let Err(e) = crate::line_api::after_cycle(self, &alerts, now_ms).await
        {
            tracing::error!(error = ?e.body, "line messages for alerts on arrival failed");
        }
        Ok(alerts.len())
    }
}
