//! What a probe of the picture looks for: the lookahead, the two separation minima and which
//! pairs, each checked against its limit.

/// Longest lookahead accepted, seconds. It bounds the broad phase's reach (with [`crate::kinematics::GS_MPS_MAX`]).
pub const LOOKAHEAD_S_MAX: f64 = 600.0;
/// Largest horizontal minimum accepted, metres.
pub const H_SEP_M_MAX: f64 = 100_000.0;
/// Largest vertical minimum accepted, metres.
pub const V_SEP_M_MAX: f64 = 10_000.0;

/// Which pairs are probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PairPolicy {
    /// Only pairs of tracks of different parties (the agreement's concern).
    #[default]
    DifferentParties,
    /// Every pair, including two tracks of the same party.
    AllPairs,
}

/// Why a probe configuration was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value is NaN, infinite or outside its range.
    #[error("{field} = {value} is not in [{min}, {max}]")]
    OutOfRange {
        /// The field, with its unit.
        field: &'static str,
        /// The value.
        value: f64,
        /// Smallest accepted.
        min: f64,
        /// Largest accepted.
        max: f64,
    },
}

/// What a probe looks for: the minima, the lookahead, which pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeConfig {
    lookahead_s: f64,
    h_sep_m: f64,
    v_sep_m: f64,
    pairs: PairPolicy,
}

fn in_range(
    field: &'static str,
    value: f64,
    min: f64,
    max: f64,
    min_open: bool,
) -> Result<f64, ConfigError> {
    let ok = value.is_finite() && value <= max && if min_open { value > min } else { value >= min };
    if ok {
        Ok(value)
    } else {
        Err(ConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

impl ProbeConfig {
    /// Lookahead in [0, [`LOOKAHEAD_S_MAX`]] s (0 finds only losses of separation now), horizontal
    /// minimum in (0, [`H_SEP_M_MAX`]] m, vertical minimum in (0, [`V_SEP_M_MAX`]] m.
    pub fn new(
        lookahead_s: f64,
        h_sep_m: f64,
        v_sep_m: f64,
        pairs: PairPolicy,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            lookahead_s: in_range("lookahead_s", lookahead_s, 0.0, LOOKAHEAD_S_MAX, false)?,
            h_sep_m: in_range("h_sep_m", h_sep_m, 0.0, H_SEP_M_MAX, true)?,
            v_sep_m: in_range("v_sep_m", v_sep_m, 0.0, V_SEP_M_MAX, true)?,
            pairs,
        })
    }
    /// Lookahead, seconds.
    #[must_use]
    pub fn lookahead_s(&self) -> f64 {
        self.lookahead_s
    }
    /// Horizontal minimum, metres.
    #[must_use]
    pub fn h_sep_m(&self) -> f64 {
        self.h_sep_m
    }
    /// Vertical minimum, metres.
    #[must_use]
    pub fn v_sep_m(&self) -> f64 {
        self.v_sep_m
    }
    /// Which pairs are probed.
    #[must_use]
    pub fn pairs(&self) -> PairPolicy {
        self.pairs
    }
}

impl Default for ProbeConfig {
    /// 120 s lookahead, 5 NM (9260 m) and 1000 ft (304.8 m), different parties only.
    fn default() -> Self {
        Self {
            lookahead_s: 120.0,
            h_sep_m: 9_260.0,
            v_sep_m: 304.8,
            pairs: PairPolicy::DifferentParties,
        }
    }
}
