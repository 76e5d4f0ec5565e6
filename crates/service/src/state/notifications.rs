//! Notifications: their views, and a write (create, update, withdrawal) as its steps: the
//! revision check, the party's signed entry, the strategic check, the rows and stream events,
//! the strategic alerts, the commit.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use deconflict_desk as desk;
use deconflict_log::{Opening, SignedEntry};
use deconflict_store::{Alert, NewEvent, Notification, NotificationStatus, Write};

use super::{State, to_json};
use crate::error::ApiError;
use deconflict_client::notification_entry::EntryIn;
use deconflict_client::wire::*;

impl State {
    // ---- notifications ---------------------------------------------------------------

    pub fn notification_view(&self, viewer: &str, n: &NotificationStored) -> NotificationView {
        let own = viewer == n.party;
        let shows = |field: &str| {
            own || self
                .terms
                .party(&n.party)
                .is_some_and(|p| p.disclose_notification.contains(field))
        };
        let b = &n.notification;
        let window = shows("time_window");
        let band = shows("altitude_band");
        NotificationView {
            id: n.id.clone(),
            party: n.party.clone(),
            revision: n.revision,
            status: n.status.clone(),
            area: shows("area").then(|| b.area.clone()),
            alt_min_m: band.then_some(b.alt_min_m),
            alt_max_m: band.then_some(b.alt_max_m),
            start_unix_ms: window.then_some(b.start_unix_ms),
            end_unix_ms: window.then_some(b.end_unix_ms),
            callsigns: shows("callsigns").then(|| b.callsigns.clone()),
            aircraft_count: if shows("aircraft_count") {
                b.aircraft_count
            } else {
                None
            },
            aircraft_type: if shows("aircraft_type") {
                b.aircraft_type.clone()
            } else {
                None
            },
            remarks: if shows("remarks") {
                b.remarks.clone()
            } else {
                None
            },
            strike_warning: b.strike_warning,
        }
    }

    pub(super) fn stored_from(n: &Notification) -> Option<NotificationStored> {
        serde_json::from_str(&n.body).ok()
    }

    /// Every notification visible to `viewer` (all parties', with disclosure applied).
    pub async fn notifications_for(
        self: &Arc<Self>,
        viewer: &str,
    ) -> Result<Vec<NotificationView>, ApiError> {
        let all = self.with_store(|s| s.notifications(None)).await??;
        Ok(all
            .iter()
            .filter_map(Self::stored_from)
            .map(|n| self.notification_view(viewer, &n))
            .collect())
    }

    pub async fn notification_for(
        self: &Arc<Self>,
        viewer: &str,
        id: String,
    ) -> Result<NotificationView, ApiError> {
        let idc = id.clone();
        let n = self
            .with_store(move |s| s.notification(&idc))
            .await??
            .and_then(|n| Self::stored_from(&n))
            .ok_or_else(|| ApiError::not_found("notification", &id))?;
        Ok(self.notification_view(viewer, &n))
    }

    /// Creates, updates (`revision` = the one replaced) or withdraws (`body` = None).
    pub async fn write_notification(
        self: &Arc<Self>,
        party: &str,
        id: String,
        expected_revision: u64,
        body: Option<NotificationIn>,
        entry: EntryIn,
    ) -> Result<NotificationAccepted, ApiError> {
        self.require_in_force()?;
        if let Some(b) = &body {
            b.validate()?;
        }
        // One notification at a time from the read of what is stored to its commit: the
        // strategic check sees every notification accepted before it.
        let _gate = self.notify_gate.lock().await;
        let idc = id.clone();
        let stored = self.with_store(move |s| s.notification(&idc)).await??;
        let previous = stored.as_ref().and_then(Self::stored_from);
        if let Some(retried) = check_revision(&id, party, expected_revision, &previous, &body)? {
            return Ok(retried);
        }
        let stored_revision = previous.as_ref().map_or(0, |p| p.revision);
        let now = self.clock.now_ms();
        let (status, content) = match body {
            Some(b) => (NotificationStatus::Active, b),
            None => match &previous {
                Some(p) => (NotificationStatus::Withdrawn, p.notification.clone()),
                None => return Err(ApiError::not_found("notification", &id)),
            },
        };
        let record = NotificationStored {
            id: id.clone(),
            party: party.to_string(),
            revision: stored_revision + 1,
            status: match status {
                NotificationStatus::Active => "active".into(),
                NotificationStatus::Withdrawn => "withdrawn".into(),
            },
            recorded_unix_ms: now,
            notification: content,
        };
        let (authored, openings) =
            self.authored_notification_entry(&record, status, &entry, now)?;
        // The strategic check against every other party's active notification, through the
        // core's index; the core holds the new revision from here, and lets it go again if the
        // commit below fails.
        let (conflicts, undo) = if status == NotificationStatus::Active {
            let (others, undo) = self.strategic_check(party, &record).await?;
            (others, Some(undo))
        } else {
            (Vec::new(), None)
        };
        let mut writes = self.notification_writes(party, &record, status, now);
        let conflict_views = self.strategic_alerts(party, &record, &conflicts, now, &mut writes);
        if let Err(e) = self.commit_authored(vec![authored], openings, writes).await {
            if let Some(undo) = undo {
                self.undo_notify(undo);
            }
            return Err(e);
        }
        if status == NotificationStatus::Withdrawn
            && let (Ok(mut d), Ok(nid)) = (
                self.desk(),
                deconflict_airspace::NotificationId::new(id.clone()),
            )
        {
            d.withdraw(&nid);
        }
        self.metrics
            .notifications_accepted_total
            .fetch_add(1, Ordering::Relaxed);
        Ok(NotificationAccepted {
            notification: record,
            conflicts: conflict_views,
        })
    }

    /// The strategic check of an active revision against every other party's active
    /// notification, through the core's index: the other notifications it conflicts with, and
    /// how to take the revision out of the core again if the commit fails.
    async fn strategic_check(
        self: &Arc<Self>,
        party: &str,
        record: &NotificationStored,
    ) -> Result<(Vec<NotificationStored>, desk::Undo), ApiError> {
        let n = crate::strategic::notification(record)
            .map_err(|(field, msg)| ApiError::invalid(field, msg))?;
        let (ids, undo) = self
            .desk()?
            .notify(n, record.notification.callsigns.clone())
            .map_err(|e| ApiError::invalid("notification.area", e.to_string()))?;
        let ids: Vec<String> = ids.iter().map(|i| i.as_str().to_string()).collect();
        let found = self
            .with_store(move |s| {
                let mut out = Vec::new();
                for i in &ids {
                    if let Some(n) = s.notification(i)? {
                        out.push(n);
                    }
                }
                Ok::<_, deconflict_store::StoreError>(out)
            })
            .await?;
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                self.undo_notify(undo);
                return Err(e.into());
            }
        };
        let others: Vec<NotificationStored> = found
            .iter()
            .filter_map(Self::stored_from)
            .filter(|o| o.party != party && o.status == "active")
            .collect();
        Ok((others, undo))
    }

    /// The stored revision, and the notification on every party's stream (each with what the
    /// agreement discloses to it).
    fn notification_writes(
        &self,
        party: &str,
        record: &NotificationStored,
        status: NotificationStatus,
        now: i64,
    ) -> Vec<Write> {
        let mut writes = vec![Write::Notification(Notification {
            id: record.id.clone(),
            party: party.to_string(),
            revision: record.revision,
            status,
            body: to_json(record),
            recorded_ms: now,
        })];
        // Every other party sees the notification (with its disclosure) on its stream.
        for p in &self.terms.parties {
            let data = if p.id == party {
                serde_json::to_value(record).unwrap_or_default()
            } else {
                serde_json::to_value(self.notification_view(&p.id, record)).unwrap_or_default()
            };
            writes.push(Write::Event(NewEvent {
                party: p.id.clone(),
                kind: "notification".into(),
                body: data.to_string(),
                created_ms: now,
            }));
        }
        writes
    }

    /// A strategic alert to both parties for each notification `record` conflicts with; returns
    /// those notifications as `party` sees them.
    fn strategic_alerts(
        &self,
        party: &str,
        record: &NotificationStored,
        conflicts: &[NotificationStored],
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Vec<NotificationView> {
        let parties_involved: Vec<String> = vec![party.to_string()];
        let mut conflict_views = Vec::new();
        for other in conflicts {
            let conflict_id = format!("s:{}:{}", record.id, other.id);
            let alert_id = format!("{conflict_id}:r{}:r{}", record.revision, other.revision);
            let mut parties = parties_involved.clone();
            parties.push(other.party.clone());
            parties.sort();
            parties.dedup();
            let mk = |viewer: &str, own_id: &str, other_n: &NotificationStored| AlertView {
                alert_id: alert_id.clone(),
                conflict_id: conflict_id.clone(),
                kind: "strategic".into(),
                level: "strategic".into(),
                alert_level: None,
                created_unix_ms: now,
                parties: parties.clone(),
                time_to_los_s: None,
                time_los_end_s: None,
                closest_h_m: None,
                closest_in_s: None,
                closest_v_m: None,
                own: None,
                other: None,
                own_notification: Some(own_id.to_string()),
                other_notification: Some(self.notification_view(viewer, other_n)),
                advice: None,
            };
            let to_me = mk(party, &record.id, other);
            let to_them = mk(&other.party, &other.id, record);
            writes.push(Write::Alert(Alert {
                id: alert_id.clone(),
                conflict: conflict_id.clone(),
                kind: "strategic".into(),
                parties: parties.clone(),
                // The stored alert keeps both recipients' views; each reader gets its own.
                body: to_json(&serde_json::json!({ party: &to_me, other.party.clone(): &to_them })),
                created_ms: now,
            }));
            writes.push(Write::Event(NewEvent {
                party: party.to_string(),
                kind: "alert".into(),
                body: to_json(&to_me),
                created_ms: now,
            }));
            writes.push(Write::Event(NewEvent {
                party: other.party.clone(),
                kind: "alert".into(),
                body: to_json(&to_them),
                created_ms: now,
            }));
            self.metrics.alert("strategic");
            conflict_views.push(self.notification_view(party, other));
        }
        conflict_views
    }

    fn undo_notify(&self, undo: desk::Undo) {
        if let Ok(mut d) = self.desk() {
            d.undo(undo);
        }
    }

    /// The party's own signed entry for `record` (a revision, or its withdrawal), rebuilt
    /// from what it sent and checked with its key from the agreement; and the openings of its
    /// commitments.
    fn authored_notification_entry(
        &self,
        record: &NotificationStored,
        status: NotificationStatus,
        entry: &EntryIn,
        now_ms: i64,
    ) -> Result<(SignedEntry, Vec<Opening>), ApiError> {
        use deconflict_client::notification_entry as ne;
        let field = |e: ne::NotificationEntryError| match e {
            ne::NotificationEntryError::Field { field, message } => {
                ApiError::invalid(field, message)
            }
            other => ApiError::invalid("notification", other.to_string()),
        };
        let time_ms = crate::lifecycle::entry_time(entry.time_ms, now_ms)?;
        let party = self
            .terms
            .party(&record.party)
            .ok_or_else(|| ApiError::internal(format!("{} is not a party", record.party)))?;
        let salts = ne::parse_salts(&entry.salts).map_err(field)?;
        let (unsigned, openings) = match status {
            NotificationStatus::Active => {
                ne::check_disclosure(&record.notification, &party.disclose_notification, &salts)
                    .map_err(field)?;
                ne::notification_entry(
                    &record.party,
                    &record.id,
                    record.revision,
                    &record.notification,
                    &salts,
                    time_ms,
                )
                .map_err(field)?
            }
            NotificationStatus::Withdrawn => (
                ne::withdrawal_entry(&record.party, &record.id, time_ms).map_err(field)?,
                Vec::new(),
            ),
        };
        let signed =
            deconflict_client::line_entry::signed_entry(unsigned, &entry.signature, &party.key)
                .map_err(crate::lifecycle::entry_signature_refused)?;
        Ok((signed, openings))
    }
}

/// The revision a write names against the one stored: a retried create of the same content
/// answers with what is stored (`Some`); another party's notification is not found; a stale
/// revision, a second create or a write to a withdrawn notification is a conflict.
fn check_revision(
    id: &str,
    party: &str,
    expected_revision: u64,
    previous: &Option<NotificationStored>,
    body: &Option<NotificationIn>,
) -> Result<Option<NotificationAccepted>, ApiError> {
    if let Some(prev) = &previous
        && prev.party != party
    {
        // Another party's notification: indistinguishable from an absent one.
        return Err(ApiError::not_found("notification", id));
    }
    let stored_revision = previous.as_ref().map_or(0, |p| p.revision);
    if expected_revision == 0 && stored_revision > 0 {
        // A retried create: the same content answers with what is stored.
        if let (Some(prev), Some(b)) = (previous, body)
            && &prev.notification == b
            && prev.status == "active"
        {
            return Ok(Some(NotificationAccepted {
                notification: prev.clone(),
                conflicts: Vec::new(),
            }));
        }
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "duplicate",
            format!("notification {id:?} already exists; update it with its revision"),
        )
        .with_field("id"));
    }
    if expected_revision != stored_revision {
        if stored_revision == 0 {
            return Err(ApiError::not_found("notification", id));
        }
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "revision_conflict",
            format!("revision {expected_revision} is not the stored revision {stored_revision}"),
        )
        .with_field("revision"));
    }
    if previous.as_ref().is_some_and(|p| p.status == "withdrawn") {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "withdrawn",
            format!("notification {id:?} was withdrawn"),
        ));
    }
    Ok(None)
}
