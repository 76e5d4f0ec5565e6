//! An incident's course: filing, accounts with their deadline, assessments by working-group
//! members, agreed or disputed; every refusal changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use deconflict_incident::{
    Account, Action, Aircraft, Assessment, Config, Effect, Factor, Filing, Incident, IncidentError,
    Lang, OwnFigure, Pair, RecordKind, RecordRef, RiskCategory, Seen, Status, Window,
};
use proptest::prelude::*;

const T0: i64 = 1_790_000_000_000;
const DAY_MS: i64 = 86_400_000;

fn config() -> Config {
    let mut members = BTreeMap::new();
    members.insert(
        "coalition".to_string(),
        BTreeSet::from(["coalition-wg".to_string()]),
    );
    members.insert(
        "russia".to_string(),
        BTreeSet::from(["russia-wg".to_string(), "russia-wg2".to_string()]),
    );
    members.insert(
        "third".to_string(),
        BTreeSet::from(["third-wg".to_string()]),
    );
    Config {
        members,
        account_deadline_ms: None,
    }
}

fn account(party: &str, text: &str, figure: Option<u32>) -> Account {
    Account {
        party: party.into(),
        language: if party == "russia" { "ru" } else { "en" }.into(),
        text: text.into(),
        seen: Seen::Radar,
        action: Action::Turned,
        figure: figure.map(|h| OwnFigure {
            horizontal_m: h,
            vertical_m: None,
        }),
    }
}

fn filing() -> Filing {
    Filing {
        id: "inc-1".into(),
        window: Window::new(T0, T0 + 600_000).unwrap(),
        pairs: vec![Pair {
            a: Aircraft {
                party: "coalition".into(),
                track: "c1".into(),
            },
            b: Aircraft {
                party: "russia".into(),
                track: "r1".into(),
            },
            approach: None,
        }],
        records: vec![
            RecordRef {
                time_ms: T0 + 2,
                kind: RecordKind::LineMessage,
                id: "m1".into(),
                label: "conflict_alert".into(),
            },
            RecordRef {
                time_ms: T0 + 1,
                kind: RecordKind::Alert,
                id: "a1".into(),
                label: "warning".into(),
            },
        ],
        account: account("coalition", "They passed 800 m from us.", Some(800)),
    }
}

fn assess(member: &str, party: &str, category: RiskCategory) -> Assessment {
    Assessment {
        member: member.into(),
        party: party.into(),
        category,
        factors: BTreeSet::from([Factor::LateSighting]),
        remarks: String::new(),
    }
}

fn filed() -> Incident {
    Incident::file(filing(), &config(), T0 + DAY_MS).unwrap().0
}

#[test]
fn a_filing_holds_the_filers_account_and_waits_for_the_others() {
    let (i, effects) = Incident::file(filing(), &config(), T0 + DAY_MS).unwrap();
    assert_eq!(
        effects,
        vec![
            Effect::Filed,
            Effect::Account {
                party: "coalition".into(),
                late: false
            }
        ]
    );
    assert_eq!(i.status(), Status::Filed);
    assert_eq!(i.waiting(), vec!["russia".to_string()]);
    assert_eq!(i.deadline_ms(), T0 + 2 * DAY_MS);
    assert_eq!(i.poll_timeout(), Some(T0 + 2 * DAY_MS));
    // The window's entries are kept in time order.
    assert_eq!(i.records()[0].id, "a1");
    // Only members of the incident's parties are kept.
    assert_eq!(i.parties().len(), 2);
}

#[test]
fn full_course_agreed() {
    let mut i = filed();
    let e = i
        .account(
            account("russia", "Сближение было менее 500 м.", Some(480)),
            T0 + DAY_MS + 1,
        )
        .unwrap();
    assert_eq!(
        e,
        vec![
            Effect::Account {
                party: "russia".into(),
                late: false
            },
            Effect::AccountsComplete
        ]
    );
    assert_eq!(i.status(), Status::AccountsComplete);
    assert_eq!(i.poll_timeout(), None);
    i.assess(assess("coalition-wg", "coalition", RiskCategory::C), T0)
        .unwrap();
    assert_eq!(i.status(), Status::AccountsComplete);
    let e = i
        .assess(assess("russia-wg2", "russia", RiskCategory::C), T0)
        .unwrap();
    assert_eq!(
        e.last(),
        Some(&Effect::Outcome(Status::Agreed(RiskCategory::C)))
    );
    assert_eq!(i.status(), Status::Agreed(RiskCategory::C));
    // A member changes its view: the latest counts, and the incident is disputed visibly.
    let e = i
        .assess(assess("russia-wg", "russia", RiskCategory::B), T0)
        .unwrap();
    assert_eq!(e.last(), Some(&Effect::Outcome(Status::Disputed)));
    let views = i.views();
    assert_eq!(views["coalition"].assessment.category, RiskCategory::C);
    assert_eq!(views["russia"].assessment.category, RiskCategory::B);
    assert_eq!(i.assessments().len(), 3);
}

#[test]
fn refusals_have_their_own_codes_and_change_nothing() {
    let mut i = filed();
    let before = i.clone();
    let cases: Vec<(IncidentError, &str)> = vec![
        (
            i.account(account("third", "not ours", None), T0)
                .unwrap_err(),
            "not_incident_party",
        ),
        (
            i.account(account("coalition", "again", None), T0)
                .unwrap_err(),
            "account_given",
        ),
        (
            i.account(account("russia", "  ", None), T0).unwrap_err(),
            "invalid_incident",
        ),
        (
            i.assess(assess("coalition-wg", "coalition", RiskCategory::A), T0)
                .unwrap_err(),
            "accounts_pending",
        ),
        (
            i.assess(assess("russia-wg", "coalition", RiskCategory::A), T0)
                .unwrap_err(),
            "not_working_group_member",
        ),
        (
            i.assess(assess("third-wg", "third", RiskCategory::A), T0)
                .unwrap_err(),
            "not_incident_party",
        ),
    ];
    for (e, code) in cases {
        assert_eq!(e.code(), code, "{e}");
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(i, before);
    // The filer itself must be a party of the pairs.
    let mut f = filing();
    f.account = account("third", "x", None);
    assert_eq!(
        Incident::file(f, &config(), T0).unwrap_err().code(),
        "not_incident_party"
    );
    // A pair of one party's aircraft is not a pair.
    let mut f = filing();
    f.pairs[0].b.party = "coalition".into();
    assert_eq!(
        Incident::file(f, &config(), T0).unwrap_err().code(),
        "invalid_incident"
    );
    let mut f = filing();
    f.pairs.clear();
    assert!(Incident::file(f, &config(), T0).is_err());
    let mut f = filing();
    f.account.figure = Some(OwnFigure {
        horizontal_m: 2_000_000,
        vertical_m: None,
    });
    assert!(
        Incident::file(f, &config(), T0)
            .unwrap_err()
            .to_string()
            .contains("account.figure.horizontal_m")
    );
    assert!(Window::new(T0, T0).is_err());
    assert!(Window::new(T0, T0 + DAY_MS + 1).is_err());
}

#[test]
fn a_missing_account_is_overdue_once_at_the_deadline_and_the_group_may_then_assess() {
    let mut i = filed();
    let deadline = i.deadline_ms();
    assert!(i.handle_timeout(deadline - 1).is_empty());
    assert_eq!(
        i.handle_timeout(deadline),
        vec![Effect::AccountOverdue {
            party: "russia".into()
        }]
    );
    assert!(i.handle_timeout(deadline + 5).is_empty());
    assert_eq!(i.poll_timeout(), None);
    i.assess(
        assess("coalition-wg", "coalition", RiskCategory::D),
        deadline,
    )
    .unwrap();
    // A late account is still taken, marked late.
    let e = i
        .account(account("russia", "Поздно.", None), deadline + 10)
        .unwrap();
    assert_eq!(
        e[0],
        Effect::Account {
            party: "russia".into(),
            late: true
        }
    );
    assert!(i.accounts()["russia"].late);
}

#[test]
fn categories_and_factors_round_trip_and_are_named_in_both_languages() {
    for c in RiskCategory::ALL {
        assert_eq!(RiskCategory::from_name(c.as_str()), Some(c));
        assert_ne!(c.meaning(Lang::En), c.meaning(Lang::Ru));
    }
    assert!(
        RiskCategory::D
            .meaning(Lang::En)
            .contains("conflicting evidence")
    );
    assert_eq!(RiskCategory::from_name("a"), None);
    let mut tags = BTreeSet::new();
    for f in Factor::ALL {
        assert_eq!(Factor::from_name(f.as_str()), Some(*f));
        assert!(tags.insert(f.as_str()), "tag {f} twice");
        assert_ne!(f.name(Lang::En), f.name(Lang::Ru));
    }
    assert_eq!(Factor::from_name("bogus"), None);
    for s in Seen::ALL {
        assert_eq!(Seen::from_name(s.as_str()), Some(s));
    }
    for a in Action::ALL {
        assert_eq!(Action::from_name(a.as_str()), Some(a));
    }
}

fn category() -> impl Strategy<Value = RiskCategory> {
    prop::sample::select(RiskCategory::ALL.to_vec())
}

proptest! {
    /// The outcome is a function of each party's latest assessment: agreed exactly when they
    /// all give the same category, whatever came before.
    #[test]
    fn agreed_exactly_when_the_latest_views_are_equal(
        steps in prop::collection::vec((any::<bool>(), category()), 1..20)
    ) {
        let mut i = filed();
        i.account(account("russia", "x", None), T0 + DAY_MS).unwrap();
        let mut latest: BTreeMap<&str, RiskCategory> = BTreeMap::new();
        for (russia, c) in steps {
            let (m, p) = if russia { ("russia-wg", "russia") } else { ("coalition-wg", "coalition") };
            i.assess(assess(m, p, c), T0 + DAY_MS).unwrap();
            latest.insert(p, c);
        }
        let expected = match (latest.get("coalition"), latest.get("russia")) {
            (Some(a), Some(b)) if a == b => Status::Agreed(*a),
            (Some(_), Some(_)) => Status::Disputed,
            _ => Status::AccountsComplete,
        };
        prop_assert_eq!(i.status(), expected);
    }

    /// An account is overdue exactly when the deadline has passed without it.
    #[test]
    fn overdue_exactly_at_or_after_the_deadline(offset in -DAY_MS..DAY_MS, answered in any::<bool>()) {
        let mut i = filed();
        let deadline = i.deadline_ms();
        if answered {
            i.account(account("russia", "x", None), deadline - DAY_MS).unwrap();
        }
        let effects = i.handle_timeout(deadline + offset);
        prop_assert_eq!(!effects.is_empty(), !answered && offset >= 0);
    }
}
