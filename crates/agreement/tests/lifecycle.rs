//! The lifecycle: scripted stories, and random event sequences against an independent oracle.

use std::collections::BTreeSet;

use deconflict_agreement::lifecycle::*;
use deconflict_agreement::*;
use proptest::prelude::*;

/// The template with a third party (key seed 0x03…03), so reactivation needs three signatures.
fn three_party_agreement() -> Agreement {
    let third = SecretKey::from_seed([3; 32]).public_key();
    let text = format!(
        "{TEMPLATE_TOML}\n[[party]]\nid = \"observer\"\nname = \"Observer\"\nlanguage = \"fr\"\n\
         public_key = \"{third}\"\ndisclose_track = []\ndisclose_notification = []\n\
         [[party.contact]]\nname = \"Officier de permanence\"\nrole = \"duty officer\"\n\
         shift_utc = \"00:00-24:00\"\n"
    );
    parse_toml(&text).unwrap()
}

fn key(i: usize) -> SecretKey {
    SecretKey::from_seed([i as u8 + 1; 32])
}

fn pid(a: &Agreement, i: usize) -> PartyId {
    a.parties()[i].id().clone()
}

fn sign(a: &Agreement, i: usize) -> Event {
    Event::Sign(AgreementSignature::sign(a, &pid(a, i), &key(i)).unwrap())
}

fn statement(a: &Agreement, i: usize, basis: u64, action: Action) -> Event {
    Event::Statement(
        Statement::new(a.id(), pid(a, i), basis, action)
            .unwrap()
            .sign(&key(i)),
    )
}

fn suspend(reason: &str) -> Action {
    Action::Suspend {
        reason: reason.into(),
    }
}

fn reactivate(conditions: &str) -> Action {
    Action::Reactivate {
        conditions: conditions.into(),
    }
}

#[test]
fn april_2017_story() {
    let a = three_party_agreement();
    let mut h = History::new(a.clone());
    let mut now = 1_491_000_000_000;
    let mut step = |h: &mut History, e: Event| {
        now += 1000;
        h.apply(e, now).map(|r| r.seq())
    };
    assert_eq!(step(&mut h, sign(&a, 0)), Ok(1));
    assert_eq!(step(&mut h, sign(&a, 1)), Ok(2));
    assert_eq!(h.state().status(), Status::Draft);
    assert_eq!(
        h.state().unsigned(&a).cloned().collect::<Vec<_>>(),
        vec![pid(&a, 2)]
    );
    assert_eq!(step(&mut h, sign(&a, 2)), Ok(3));
    assert_eq!(h.state().status(), Status::InForce);
    assert_eq!(h.state().basis_seq(), 3);

    // Russia suspends after the Shayrat strike.
    assert_eq!(
        step(&mut h, statement(&a, 1, 3, suspend("Shayrat strike"))),
        Ok(4)
    );
    assert_eq!(h.state().status(), Status::Suspended);
    assert_eq!(h.state().suspension().unwrap().by, pid(&a, 1));
    // A second suspension is not a transition.
    assert_eq!(
        step(&mut h, statement(&a, 0, 4, suspend("again"))),
        Err(LifecycleError::NotAllowed {
            action: "suspend",
            status: Status::Suspended
        })
    );
    // Reactivation: two sign "A", then a counter-proposal "B" restarts the round.
    assert_eq!(step(&mut h, statement(&a, 1, 4, reactivate("A"))), Ok(5));
    assert_eq!(step(&mut h, statement(&a, 0, 4, reactivate("A"))), Ok(6));
    assert_eq!(
        step(&mut h, statement(&a, 0, 4, reactivate("A"))),
        Err(LifecycleError::AlreadySigned { party: pid(&a, 0) })
    );
    assert_eq!(step(&mut h, statement(&a, 2, 4, reactivate("B"))), Ok(7));
    assert_eq!(h.state().status(), Status::Suspended);
    assert_eq!(h.state().reactivation().unwrap().conditions, "B");
    assert_eq!(step(&mut h, statement(&a, 0, 4, reactivate("B"))), Ok(8));
    assert_eq!(step(&mut h, statement(&a, 1, 4, reactivate("B"))), Ok(9));
    assert_eq!(h.state().status(), Status::InForce);
    assert_eq!(h.state().conditions(), Some("B"));
    assert_eq!(h.state().basis_seq(), 9);

    // The old suspension replayed after reactivation is stale.
    let old = h.records()[3].event().clone();
    assert_eq!(
        step(&mut h, old),
        Err(LifecycleError::StaleBasis {
            expected: 9,
            found: 3
        })
    );
    assert_eq!(step(&mut h, statement(&a, 1, 9, suspend("June"))), Ok(10));
    assert_eq!(
        step(
            &mut h,
            statement(
                &a,
                0,
                10,
                Action::Terminate {
                    reason: "end".into()
                }
            )
        ),
        Ok(11)
    );
    assert_eq!(h.state().status(), Status::Terminated);
    assert_eq!(
        step(&mut h, statement(&a, 1, 11, reactivate(""))),
        Err(LifecycleError::NotAllowed {
            action: "reactivate",
            status: Status::Terminated
        })
    );

    // The stored records replay to the same state, through their JSON form too.
    let stored: Vec<Vec<u8>> = h.records().iter().map(Record::to_json).collect();
    let back: Vec<Record> = stored
        .iter()
        .map(|b| Record::from_json(b).unwrap())
        .collect();
    assert_eq!(back, h.records());
    assert_eq!(&fold(&a, &back).unwrap(), h.state());
}

/// Terminating an agreement that was reactivated on conditions ends the conditions too: the
/// terminated agreement does not show them as standing.
#[test]
fn termination_ends_the_reactivation_conditions() {
    let a = three_party_agreement();
    let mut h = History::new(a.clone());
    let step = |h: &mut History, e: Event| h.apply(e, 0).map(|r| r.seq()).unwrap();
    for i in 0..3 {
        step(&mut h, sign(&a, i));
    }
    step(&mut h, statement(&a, 1, 3, suspend("strike")));
    for i in 0..3 {
        step(&mut h, statement(&a, i, 4, reactivate("daily link tests")));
    }
    assert_eq!(h.state().status(), Status::InForce);
    assert_eq!(h.state().conditions(), Some("daily link tests"));
    let basis = h.state().basis_seq();
    let seq = step(
        &mut h,
        statement(
            &a,
            0,
            basis,
            Action::Terminate {
                reason: "end".into(),
            },
        ),
    );
    assert_eq!(seq, 8);
    assert_eq!(h.state().status(), Status::Terminated);
    assert_eq!(h.state().conditions(), None);
    assert_eq!(&fold(&a, h.records()).unwrap(), h.state());
}

#[test]
fn refusals_are_clear_and_change_nothing() {
    let a = three_party_agreement();
    let mut h = History::new(a.clone());
    let s = |e| format!("{}", e);
    assert_eq!(
        s(h.apply(statement(&a, 0, 0, suspend("x")), 0).unwrap_err()),
        "cannot suspend: the agreement is draft"
    );
    // Signed by the wrong key.
    let forged = Event::Statement(
        Statement::new(
            a.id(),
            pid(&a, 0),
            0,
            Action::Terminate { reason: "x".into() },
        )
        .unwrap()
        .sign(&key(1)),
    );
    assert_eq!(
        h.apply(forged, 0).unwrap_err(),
        LifecycleError::BadStatementSignature { party: pid(&a, 0) }
    );
    // Another agreement's statement.
    let other = parse_toml(&TEMPLATE_TOML.replace("revision = 1", "revision = 2")).unwrap();
    let foreign = Event::Statement(
        Statement::new(
            other.id(),
            pid(&a, 0),
            0,
            Action::Terminate { reason: "x".into() },
        )
        .unwrap()
        .sign(&key(0)),
    );
    assert!(matches!(
        h.apply(foreign, 0),
        Err(LifecycleError::WrongAgreement { .. })
    ));
    h.apply(sign(&a, 0), 10).unwrap();
    assert_eq!(
        h.apply(sign(&a, 0), 11).unwrap_err(),
        LifecycleError::AlreadySigned { party: pid(&a, 0) }
    );
    assert_eq!(
        h.apply(sign(&a, 1), 9).unwrap_err(),
        LifecycleError::ClockWentBack {
            last_unix_ms: 10,
            now_unix_ms: 9
        }
    );
    assert_eq!(h.records().len(), 1);
    assert!(matches!(
        Statement::new(a.id(), pid(&a, 0), 0, suspend("  ")),
        Err(LifecycleError::Text {
            field: "reason",
            ..
        })
    ));
    assert!(matches!(
        Statement::new(a.id(), pid(&a, 0), 0, reactivate("bell\u{7}")),
        Err(LifecycleError::Text {
            field: "conditions",
            ..
        })
    ));
}

#[test]
fn replay_refuses_gaps_and_forgeries() {
    let a = three_party_agreement();
    let mut h = History::new(a.clone());
    for i in 0..3 {
        h.apply(sign(&a, i), 100).unwrap();
    }
    let mut records = h.records().to_vec();
    records.remove(1);
    assert_eq!(
        fold(&a, &records).unwrap_err().error,
        ReplayErrorKind::Sequence { expected: 2 }
    );
    // A record whose signature was swapped for another party's.
    let r1 = &h.records()[1];
    assert!(matches!(r1.event(), Event::Sign(_)));
    let swapped = Record::from_parts(
        2,
        100,
        Event::Sign(AgreementSignature::from_parts(
            a.id(),
            pid(&a, 1),
            *h.records()[0].event().sign_signature(),
        )),
    );
    let mut records = h.records().to_vec();
    records[1] = swapped;
    assert!(matches!(
        fold(&a, &records).unwrap_err().error,
        ReplayErrorKind::Event(LifecycleError::Signature(
            SignatureError::BadSignature { .. }
        ))
    ));
}

trait SignOf {
    fn sign_signature(&self) -> &Signature;
}

impl SignOf for Event {
    fn sign_signature(&self) -> &Signature {
        match self {
            Event::Sign(s) => s.signature(),
            Event::Statement(s) => s.signature(),
        }
    }
}

// ---- random sequences against an oracle ----

#[derive(Debug, Clone)]
enum Op {
    /// Party `party` signs the agreement with key `key` (a forgery when they differ).
    Sign { party: usize, key: usize },
    /// Party `party` makes a statement with key `key`; `basis` is the current basis when `None`.
    Statement {
        party: usize,
        key: usize,
        basis: Option<u64>,
        action: u8,
        conditions: u8,
    },
    /// Time step in ms (negative: the clock went back).
    Wait(i64),
}

fn op() -> impl Strategy<Value = Op> {
    // Keys mostly right, sometimes another party's; bases mostly current.
    let who = (0usize..3, prop::bool::weighted(0.85), 0usize..3)
        .prop_map(|(p, right, k)| (p, if right { p } else { k }));
    prop_oneof![
        3 => who.clone().prop_map(|(party, key)| Op::Sign { party, key }),
        6 => (who, prop::option::weighted(0.15, 0u64..12), 0u8..3, 0u8..3).prop_map(
            |((party, key), basis, action, conditions)| Op::Statement {
                party,
                key,
                basis,
                action,
                conditions
            }
        ),
        1 => (-5i64..1000).prop_map(Op::Wait),
    ]
}

/// The rules written out again, independently of `State::step`.
#[derive(Debug, Clone, PartialEq)]
struct Oracle {
    status: Status,
    basis: u64,
    signed: BTreeSet<usize>,
    round: Option<(u8, BTreeSet<usize>)>,
    seq: u64,
}

impl Oracle {
    fn accepts(&mut self, op: &Op, parties: usize) -> bool {
        let all: BTreeSet<usize> = (0..parties).collect();
        match *op {
            Op::Wait(_) => unreachable!(),
            Op::Sign { party, key } => {
                if self.status != Status::Draft || party != key || self.signed.contains(&party) {
                    return false;
                }
                self.seq += 1;
                self.signed.insert(party);
                if self.signed == all {
                    self.status = Status::InForce;
                    self.basis = self.seq;
                }
                true
            }
            Op::Statement {
                party,
                key,
                basis,
                action,
                conditions,
            } => {
                let basis = basis.unwrap_or(self.basis);
                if party != key || self.status == Status::Terminated || basis != self.basis {
                    return false;
                }
                match (action, self.status) {
                    (0, Status::InForce) => {
                        self.seq += 1;
                        self.status = Status::Suspended;
                        self.basis = self.seq;
                        self.round = None;
                        true
                    }
                    (1, Status::Suspended) => {
                        let mut round = match self.round.take() {
                            Some((c, s)) if c == conditions => s,
                            _ => BTreeSet::new(),
                        };
                        let fresh = round.insert(party);
                        if !fresh {
                            self.round = Some((conditions, round));
                            return false;
                        }
                        self.seq += 1;
                        if round == all {
                            self.status = Status::InForce;
                            self.basis = self.seq;
                        } else {
                            self.round = Some((conditions, round));
                        }
                        true
                    }
                    (2, _) => {
                        self.seq += 1;
                        self.status = Status::Terminated;
                        self.basis = self.seq;
                        true
                    }
                    _ => false,
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_sequences_follow_the_oracle_and_the_fold(ops in prop::collection::vec(op(), 0..40)) {
        let a = three_party_agreement();
        let n = a.parties().len();
        let mut h = History::new(a.clone());
        let mut oracle = Oracle {
            status: Status::Draft,
            basis: 0,
            signed: BTreeSet::new(),
            round: None,
            seq: 0,
        };
        let mut now: i64 = 1_000_000;
        for op in &ops {
            if let Op::Wait(ms) = op {
                now += ms;
                continue;
            }
            let event = match *op {
                Op::Sign { party, key: k } => Event::Sign(AgreementSignature::from_parts(
                    a.id(),
                    pid(&a, party),
                    key(k).sign(a.canonical_bytes()),
                )),
                Op::Statement { party, key: k, basis, action, conditions } => {
                    let action = match action {
                        0 => suspend("reason"),
                        1 => reactivate(["", "A", "B"][conditions as usize]),
                        _ => Action::Terminate { reason: "end".into() },
                    };
                    let basis = basis.unwrap_or(h.state().basis_seq());
                    Event::Statement(
                        Statement::new(a.id(), pid(&a, party), basis, action)
                            .unwrap()
                            .sign(&key(k)),
                    )
                }
                Op::Wait(_) => unreachable!(),
            };
            let before = h.state().clone();
            let clock_ok = h.records().last().is_none_or(|r| now >= r.at_unix_ms());
            let result = h.apply(event, now).map(|r| r.seq());
            let expected = clock_ok && oracle.accepts(op, n);
            prop_assert_eq!(result.is_ok(), expected, "{:?} → {:?}", op, result);
            if result.is_err() {
                prop_assert_eq!(h.state(), &before);
            }
            prop_assert_eq!(h.state().status(), oracle.status);
            prop_assert_eq!(h.state().basis_seq(), oracle.basis);
            prop_assert_eq!(h.head_seq(), oracle.seq);
            // Never in force (nor suspended) without every party's signature. (A draft may be
            // terminated — withdrawn — before everyone signed.)
            if matches!(h.state().status(), Status::InForce | Status::Suspended) {
                prop_assert_eq!(h.state().signed().len(), n);
            }
            // The state is always the fold of the records.
            prop_assert_eq!(&fold(&a, h.records()).unwrap(), h.state());
        }
    }
}
