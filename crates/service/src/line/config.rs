//! The line's configuration from the agreement: each party's duty roster (its contacts with
//! their shifts, then its command), the acknowledgement deadline per message kind, and the
//! scheduled link tests, which the service sends to every party.

use std::time::Duration;

use deconflict_agreement::Agreement;
use deconflict_line::lang::PartyNames;
use deconflict_line::{
    AckPolicy, DutyContact, Language, LineConfig, LinkTestSchedule, MessageKind, OfficerName,
    PartyId, Roster, Shift, Timestamp,
};

use crate::terms::Terms;

/// The service's place on the line: it sends the engine's conflict alerts and the link tests,
/// and receives their acknowledgements. No party may be called this.
pub const SERVICE_PARTY: &str = "service";
/// The service's "officer" on its own roster (it never acknowledges anything).
pub const SERVICE_OFFICER: &str = "deconfliction service";

/// The officer at the end of a party's escalation chain: its command, named after the party
/// (the agreement lists duty contacts only).
pub fn command_of(party_name: &str) -> String {
    format!("{party_name} command")
}

/// How a reader of `lang` calls each party of the agreement and its command: the agreement's
/// name in that language (`[party.names]`), else the party's name; the service by its role.
pub fn party_names(agreement: &Agreement, lang: Language) -> PartyNames {
    let mut names = PartyNames::new();
    if let Ok(service) = party(SERVICE_PARTY) {
        names = names.with_service(service);
    }
    for p in agreement.parties() {
        let (Ok(id), Ok(command)) = (party(p.id().as_str()), officer(&command_of(p.name()))) else {
            continue;
        };
        names = names.with(id, p.name_in(lang.code()), Some(command));
    }
    names
}

fn officer(name: &str) -> Result<OfficerName, String> {
    OfficerName::new(name).map_err(|e| format!("officer {name:?}: {e}"))
}

fn party(id: &str) -> Result<PartyId, String> {
    PartyId::new(id).map_err(|e| format!("party {id:?}: {e}"))
}

/// The line's configuration for the agreement in `terms`, its link tests scheduled from
/// `start`.
pub fn line_config(terms: &Terms, start: Timestamp) -> Result<LineConfig, String> {
    if terms.party(SERVICE_PARTY).is_some() {
        return Err(format!(
            "party id {SERVICE_PARTY:?} is reserved for the service on the line"
        ));
    }
    let service_roster = Roster::new(party(SERVICE_PARTY)?, Vec::new(), officer(SERVICE_OFFICER)?)
        .map_err(|e| e.to_string())?;
    let agreement = &terms.agreement;
    let mut rosters = vec![service_roster];
    for p in agreement.parties() {
        let mut contacts = Vec::new();
        for c in p.contacts() {
            let s = c.shift();
            // The agreement writes the whole day as 00:00-24:00, the line as start = end.
            let shift = Shift::new(s.start_of_day_s(), s.end_of_day_s() % 86_400)
                .map_err(|e| format!("party {}: contact {:?}: {e}", p.id(), c.name()))?;
            contacts.push(DutyContact {
                officer: officer(c.name())?,
                shift,
            });
        }
        rosters.push(
            Roster::new(
                party(p.id().as_str())?,
                contacts,
                officer(&command_of(p.name()))?,
            )
            .map_err(|e| e.to_string())?,
        );
    }
    let link = agreement.link_test();
    let mut deadlines = Vec::new();
    for (name, s) in agreement.ack_deadlines_s() {
        match MessageKind::from_agreement_name(name) {
            Some(MessageKind::LinkTest) | Some(MessageKind::Acknowledgement) => {}
            Some(kind) => deadlines.push((kind, Duration::from_secs(u64::from(*s)))),
            None => {
                tracing::warn!(kind = %name, "ack_deadline_s names no message kind of the line")
            }
        }
    }
    // The link test's own reply deadline is the one that counts for link tests.
    deadlines.push((
        MessageKind::LinkTest,
        Duration::from_secs(u64::from(link.reply_deadline_s())),
    ));
    let policy = AckPolicy::new(deadlines).map_err(|e| e.to_string())?;
    let times: Vec<u32> = (0..)
        .map(|k: u32| link.offset_s() + k * link.interval_s())
        .take_while(|t| *t < 86_400)
        .collect();
    let mut link_tests = Vec::new();
    for p in agreement.parties() {
        link_tests.push(
            LinkTestSchedule::new(
                party(SERVICE_PARTY)?,
                party(p.id().as_str())?,
                times.clone(),
            )
            .map_err(|e| e.to_string())?,
        );
    }
    LineConfig::new(rosters, policy, link_tests, start).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        let a = deconflict_agreement::parse_toml(deconflict_agreement::TEMPLATE_TOML).unwrap();
        Terms::from_agreement(&a).unwrap()
    }

    #[test]
    fn the_template_agreement_becomes_rosters_deadlines_and_link_tests() {
        let start = Timestamp::from_unix_ms(1_491_984_000_000).unwrap();
        let c = line_config(&terms(), start).unwrap();
        let coalition = c.roster(&PartyId::new("coalition").unwrap()).unwrap();
        // 08:00 UTC: the day officer, then the command.
        let chain: Vec<String> = coalition
            .chain_at(start)
            .iter()
            .map(|o| o.as_str().to_string())
            .collect();
        assert_eq!(
            chain,
            vec![
                "CAOC duty officer, day".to_string(),
                "Coalition command".into()
            ]
        );
        let russia = c.roster(&PartyId::new("russia").unwrap()).unwrap();
        assert_eq!(russia.chain_at(start).len(), 2, "00:00-24:00 covers 08:00");
        let p = c.policy();
        assert_eq!(
            p.deadline(MessageKind::StrikeWarning),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            p.deadline(MessageKind::RequestToAlter),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            p.deadline(MessageKind::LinkTest),
            Some(Duration::from_secs(60))
        );
        assert_eq!(p.deadline(MessageKind::FreeText), None);
        // Every 6 hours from 00:00, one schedule per party, sent by the service.
        assert_eq!(c.link_tests().len(), 2);
        assert_eq!(
            c.link_tests()[0].next_at_or_after(start).unix_ms(),
            1_491_984_000_000 + 4 * 3_600_000
        );
        assert_eq!(c.link_tests()[0].from().as_str(), SERVICE_PARTY);
    }
}
