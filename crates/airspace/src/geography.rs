//! Agreed geography: dividing lines that some parties' aircraft must not cross, and zones
//! closed to some parties or open to them only under an active notification. Versioned: each
//! change is published as a new version with the instant it takes effect, and every earlier
//! version stays available so that any period can be replayed against the rules then in force.

use std::collections::BTreeSet;

use crate::error::{Error, Rule};
use crate::volume::{AltitudeBand, Footprint, LonLat, PartyId};

/// Most points in one dividing line.
pub const LINE_POINTS_MAX: usize = 100_000;
/// Most dividing lines plus zones in one version.
pub const FEATURES_MAX: usize = 10_000;
/// Most versions kept (each is needed for replay, so none is ever dropped silently).
pub const VERSIONS_MAX: usize = 100_000;

/// A polyline (straight segments in longitude/latitude) that the parties in `closed_to` must
/// not cross.
#[derive(Debug, Clone, PartialEq)]
pub struct DividingLine {
    id: String,
    points: Vec<LonLat>,
    closed_to: BTreeSet<PartyId>,
}

impl DividingLine {
    pub fn new(
        id: impl Into<String>,
        points: Vec<LonLat>,
        closed_to: BTreeSet<PartyId>,
    ) -> Result<Self, Rule> {
        if points.len() < 2 {
            return Err(Rule::LineTooShort {
                count: points.len(),
            });
        }
        if points.len() > LINE_POINTS_MAX {
            return Err(Rule::TooManyVertices {
                count: points.len(),
                max: LINE_POINTS_MAX,
            });
        }
        if points.windows(2).any(|w| w[0] == w[1]) {
            return Err(Rule::Other("dividing line repeats a point".into()));
        }
        Ok(DividingLine {
            id: id.into(),
            points,
            closed_to,
        })
    }
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn points(&self) -> &[LonLat] {
        &self.points
    }
    pub fn closed_to(&self) -> &BTreeSet<PartyId> {
        &self.closed_to
    }
}

/// A zone: closed to the parties in `closed_to`; open to those in `notification_required`
/// only while they are inside one of their own active notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    id: String,
    footprint: Footprint,
    band: AltitudeBand,
    closed_to: BTreeSet<PartyId>,
    notification_required: BTreeSet<PartyId>,
}

impl Zone {
    pub fn new(
        id: impl Into<String>,
        footprint: Footprint,
        band: AltitudeBand,
        closed_to: BTreeSet<PartyId>,
        notification_required: BTreeSet<PartyId>,
    ) -> Self {
        Zone {
            id: id.into(),
            footprint,
            band,
            closed_to,
            notification_required,
        }
    }
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn footprint(&self) -> &Footprint {
        &self.footprint
    }
    pub fn band(&self) -> AltitudeBand {
        self.band
    }
    pub fn closed_to(&self) -> &BTreeSet<PartyId> {
        &self.closed_to
    }
    pub fn notification_required(&self) -> &BTreeSet<PartyId> {
        &self.notification_required
    }
}

/// One version's lines and zones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Geography {
    lines: Vec<DividingLine>,
    zones: Vec<Zone>,
}

impl Geography {
    pub fn new(lines: Vec<DividingLine>, zones: Vec<Zone>) -> Result<Self, Rule> {
        if lines.len() + zones.len() > FEATURES_MAX {
            return Err(Rule::Other(format!(
                "{} lines and zones; at most {FEATURES_MAX} are accepted",
                lines.len() + zones.len()
            )));
        }
        let mut ids = BTreeSet::new();
        for id in lines
            .iter()
            .map(|l| &l.id)
            .chain(zones.iter().map(|z| &z.id))
        {
            if !ids.insert(id) {
                return Err(Rule::Other(format!("id {id:?} is used twice")));
            }
        }
        Ok(Geography { lines, zones })
    }
    pub fn lines(&self) -> &[DividingLine] {
        &self.lines
    }
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GeographyVersion {
    version: u32,
    effective_from_ms: i64,
    geography: Geography,
}

impl GeographyVersion {
    pub fn version(&self) -> u32 {
        self.version
    }
    pub fn effective_from_ms(&self) -> i64 {
        self.effective_from_ms
    }
    pub fn geography(&self) -> &Geography {
        &self.geography
    }
}

/// Every version ever published, in order. Append-only.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GeographyHistory {
    versions: Vec<GeographyVersion>,
}

impl GeographyHistory {
    pub fn new() -> Self {
        GeographyHistory::default()
    }

    /// Publishes a new version taking effect at `effective_from_ms`, which may not be earlier
    /// than the latest version's (history is not rewritten). Returns its number (from 1).
    pub fn publish(&mut self, effective_from_ms: i64, geography: Geography) -> Result<u32, Error> {
        if let Some(last) = self.versions.last()
            && effective_from_ms < last.effective_from_ms
        {
            return Err(Error::VersionOutOfOrder {
                effective_from_ms,
                last_version: last.version,
                last_from_ms: last.effective_from_ms,
            });
        }
        if self.versions.len() >= VERSIONS_MAX {
            return Err(Error::Format {
                place: "geography".into(),
                message: format!("{VERSIONS_MAX} versions (VERSIONS_MAX) already published"),
            });
        }
        let version = self.versions.len() as u32 + 1;
        self.versions.push(GeographyVersion {
            version,
            effective_from_ms,
            geography,
        });
        Ok(version)
    }

    /// The version in force at `t_ms`: the latest published one effective at or before it.
    pub fn at(&self, t_ms: i64) -> Option<&GeographyVersion> {
        let after = self
            .versions
            .partition_point(|v| v.effective_from_ms <= t_ms);
        after.checked_sub(1).map(|i| &self.versions[i])
    }

    pub fn version(&self, version: u32) -> Option<&GeographyVersion> {
        (version as usize)
            .checked_sub(1)
            .and_then(|i| self.versions.get(i))
    }

    pub fn latest(&self) -> Option<&GeographyVersion> {
        self.versions.last()
    }

    pub fn len(&self) -> usize {
        self.versions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, lon: f64) -> DividingLine {
        DividingLine::new(
            id,
            vec![
                LonLat::new(lon, 40.0).unwrap(),
                LonLat::new(lon, 41.0).unwrap(),
            ],
            BTreeSet::new(),
        )
        .unwrap()
    }

    #[test]
    fn old_versions_stay_queryable_by_time() {
        let mut h = GeographyHistory::new();
        let g1 = Geography::new(vec![line("river", 8.0)], vec![]).unwrap();
        let g2 = Geography::new(vec![line("river", 8.5)], vec![]).unwrap();
        assert_eq!(h.publish(1_000, g1.clone()).unwrap(), 1);
        assert_eq!(h.publish(5_000, g2.clone()).unwrap(), 2);
        assert!(h.at(999).is_none());
        assert_eq!(h.at(1_000).unwrap().geography(), &g1);
        assert_eq!(h.at(4_999).unwrap().geography(), &g1);
        assert_eq!(h.at(5_000).unwrap().geography(), &g2);
        assert_eq!(h.version(1).unwrap().geography(), &g1);
        assert!(h.version(0).is_none());
        assert!(h.version(3).is_none());
    }

    #[test]
    fn a_version_may_not_take_effect_before_the_latest() {
        let mut h = GeographyHistory::new();
        h.publish(5_000, Geography::default()).unwrap();
        let err = h.publish(4_000, Geography::default()).unwrap_err();
        assert!(matches!(err, Error::VersionOutOfOrder { .. }), "{err}");
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let err = Geography::new(vec![line("a", 8.0), line("a", 9.0)], vec![]).unwrap_err();
        assert!(err.to_string().contains("\"a\""), "{err}");
    }
}
