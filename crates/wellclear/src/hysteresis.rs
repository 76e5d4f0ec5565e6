//! Alert-level filtering over time (DAIDALUS `HysteresisData` and `MofN`, DO-365B
//! alerting stability): M-of-N, persistence and hysteresis, per intruder.
//!
//! - **M-of-N**: the output is the highest level that at least M of the last N raw levels reach
//!   (a raw level `k` counts for every level ≤ `k`). After a reset the window is primed with M
//!   copies of the first raw level, so the first observation passes through unfiltered.
//! - **Persistence**: once a level is raised, a lower value is not output until the level has
//!   been held for the persistence time.
//! - **Hysteresis**: history older than the hysteresis time (or a step back in time) is forgotten.

use std::collections::VecDeque;

use crate::conf::MofN;

#[derive(Debug, Clone)]
struct Window {
    mofn: MofN,
    queue: VecDeque<Option<u32>>,
    max: Option<u32>,
}

impl Window {
    fn new(mofn: MofN, first: u32) -> Self {
        let queue = (0..mofn.n())
            .map(|i| (i < mofn.m()).then_some(first))
            .collect();
        Self {
            mofn,
            queue,
            max: Some(first),
        }
    }

    /// Adds a raw level and returns the filtered one (`None` when no level reaches M, which
    /// cannot happen once level 0 is in the window M times).
    fn push(&mut self, value: u32) -> Option<u32> {
        self.max = Some(self.max.map_or(value, |m| m.max(value)));
        self.queue.pop_front();
        self.queue.push_back(Some(value));
        let max = self.max?;
        (0..=max).rev().find(|&level| {
            let count = self
                .queue
                .iter()
                .filter(|v| v.is_some_and(|v| v >= level))
                .count();
            count >= self.mofn.m() as usize
        })
    }
}

/// Filtered alert level of one intruder over time.
#[derive(Debug, Clone)]
pub struct Hysteresis {
    hysteresis_s: f64,
    persistence_s: f64,
    mofn: Option<MofN>,
    window: Option<Window>,
    init_time_s: Option<f64>,
    last_time_s: Option<f64>,
    last_value: Option<u32>,
}

impl Hysteresis {
    /// Empty history with the given parameters (times in seconds, ≥ 0).
    pub fn new(hysteresis_s: f64, persistence_s: f64, mofn: Option<MofN>) -> Self {
        Self {
            hysteresis_s,
            persistence_s,
            mofn,
            window: None,
            init_time_s: None,
            last_time_s: None,
            last_value: None,
        }
    }

    /// Time of the last update, if any.
    pub fn last_time_s(&self) -> Option<f64> {
        self.last_time_s
    }

    /// Last output level, if any.
    pub fn last_value(&self) -> Option<u32> {
        self.last_value
    }

    fn reset(&mut self, value: u32) {
        self.window = self.mofn.map(|m| Window::new(m, value));
        self.init_time_s = None;
        self.last_time_s = None;
        self.last_value = None;
    }

    /// Feeds the raw level computed at `now_s` and returns the level to output.
    pub fn apply(&mut self, raw: u32, now_s: f64) -> u32 {
        let stale = match self.last_time_s {
            None => true,
            Some(last) => now_s <= last || now_s - last > self.hysteresis_s,
        };
        if stale {
            self.reset(raw);
        }
        let filtered = match &mut self.window {
            Some(w) => w.push(raw),
            None => Some(raw),
        };
        match filtered {
            None => {
                self.last_value = Some(raw);
                self.init_time_s = None;
            }
            Some(v) => {
                let held = match (self.init_time_s, self.last_value) {
                    (Some(init), Some(last)) => {
                        last > 0 && v < last && now_s >= init && now_s - init < self.persistence_s
                    }
                    _ => false,
                };
                if !held {
                    if v > 0 && self.last_value.is_none_or(|last| v > last) {
                        self.init_time_s = Some(now_s);
                    }
                    self.last_value = Some(v);
                }
            }
        }
        self.last_time_s = Some(now_s);
        self.last_value.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(h: &mut Hysteresis, raws: &[u32]) -> Vec<u32> {
        raws.iter()
            .enumerate()
            .map(|(t, r)| h.apply(*r, t as f64))
            .collect()
    }

    #[test]
    fn without_filters_output_equals_input() {
        let mut h = Hysteresis::new(0.0, 0.0, None);
        assert_eq!(run(&mut h, &[0, 2, 1, 3, 0]), vec![0, 2, 1, 3, 0]);
    }

    #[test]
    fn two_of_four_needs_two_raw_alerts() {
        let mut h = Hysteresis::new(5.0, 0.0, MofN::new(2, 4));
        // The first value primes the window; a single spike is filtered out; two raise it.
        assert_eq!(
            run(&mut h, &[0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
            vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]
        );
    }

    #[test]
    fn persistence_holds_a_raised_level() {
        let mut h = Hysteresis::new(5.0, 4.0, None);
        assert_eq!(
            run(&mut h, &[0, 2, 0, 0, 0, 0, 0]),
            vec![0, 2, 2, 2, 2, 0, 0]
        );
    }

    #[test]
    fn a_gap_longer_than_hysteresis_forgets() {
        let mut h = Hysteresis::new(2.0, 10.0, None);
        assert_eq!(h.apply(3, 0.0), 3);
        assert_eq!(h.apply(0, 1.0), 3);
        assert_eq!(h.apply(0, 5.0), 0);
    }
}
