//! The one alert level every output carries, as DO-365 names it.

use deconflict_wellclear::conf::{Config, Region};

/// How urgent a tactical alert is, in DO-365's words; the numbers are DaidalusAlerting's for
/// the DO-365 alerters (0 none, 1 preventive, 2 corrective, 3 warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// No alert (or the alert ended).
    #[default]
    None,
    /// DO-365 preventive: a caution that separation will be tight.
    Preventive,
    /// DO-365 corrective: act to remain well clear.
    Corrective,
    /// DO-365 warning: act now.
    Warning,
}

impl Level {
    /// DaidalusAlerting's number of this level under a DO-365 alerter.
    pub fn number(self) -> u8 {
        match self {
            Level::None => 0,
            Level::Preventive => 1,
            Level::Corrective => 2,
            Level::Warning => 3,
        }
    }

    /// `none`, `preventive`, `corrective` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Preventive => "preventive",
            Level::Corrective => "corrective",
            Level::Warning => "warning",
        }
    }

    /// The level of a name [`Self::as_str`] gives.
    pub fn from_name(name: &str) -> Option<Level> {
        [
            Level::None,
            Level::Preventive,
            Level::Corrective,
            Level::Warning,
        ]
        .into_iter()
        .find(|l| l.as_str() == name)
    }

    /// The DO-365 name of level `alert_level` (1-based) of alerter `alerter_index` (1-based),
    /// from the guidance region the configuration gives it: no region or the far region is
    /// preventive, the mid region corrective, the near region a warning. So a single-level
    /// alerter such as CD3D (near region) gives warnings; 0 or an unknown level is none.
    pub fn of(config: &Config, alerter_index: usize, alert_level: u32) -> Level {
        let Some(level) = alerter_index
            .checked_sub(1)
            .and_then(|i| config.alerters().get(i))
            .and_then(|a| a.levels().get((alert_level as usize).checked_sub(1)?))
        else {
            return Level::None;
        };
        match level.region() {
            Region::None | Region::Far => Level::Preventive,
            Region::Mid => Level::Corrective,
            Region::Near => Level::Warning,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_by_urgency() {
        for l in [
            Level::None,
            Level::Preventive,
            Level::Corrective,
            Level::Warning,
        ] {
            assert_eq!(Level::from_name(l.as_str()), Some(l));
        }
        assert!(Level::Warning > Level::Corrective && Level::Corrective > Level::Preventive);
        assert_eq!(Level::from_name("caution"), None);
    }
}
