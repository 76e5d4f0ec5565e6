//! The line's command line, parsed and printed without a service.

use super::*;
use clap::Parser as _;

#[derive(clap::Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn parse(args: &[&str]) -> Result<Command, clap::Error> {
    let mut all = vec!["deconflict"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).map(|c| c.command)
}

const CONNECT: [&str; 6] = [
    "--service",
    "http://127.0.0.1:1",
    "--party",
    "coalition",
    "--key",
    "k.key",
];

fn send_form(args: &[&str]) -> Result<SendForm, clap::Error> {
    let mut all = vec!["send"];
    all.extend_from_slice(args);
    all.extend_from_slice(&CONNECT);
    match parse(&all)? {
        Command::Send(a) => match a.form {
            Some(f) => Ok(f),
            None => panic!("not a typed send"),
        },
        _ => panic!("not a send"),
    }
}

const NOW: i64 = 1_491_990_000_000; // 2017-04-12 09:40:00 UTC

fn usage_text(f: Failure) -> String {
    match f {
        Failure::Usage(e) => format!("{e:#}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[test]
fn rfc3339_times_at_known_instants() {
    let t = |s| parse_rfc3339_ms(s).unwrap();
    assert_eq!(t("1970-01-01T00:00:00Z"), 0);
    assert_eq!(t("2017-04-12T09:40:00Z"), NOW);
    assert_eq!(t("2017-04-12T12:40:00+03:00"), NOW);
    assert_eq!(t("2017-04-12 09:40:00.250Z"), NOW + 250);
    assert_eq!(t("2017-04-12T09:40:00.123456789Z"), NOW + 123);
    assert_eq!(t("2000-02-29T12:00:00Z"), 951_825_600_000);
    for bad in [
        "2017-04-12",
        "2017-04-12T09:40:00",
        "2017-02-29T00:00:00Z",
        "2017-13-01T00:00:00Z",
        "2017-04-12T24:00:00Z",
        "2017-04-12T09:40:60Z",
        "2017-04-12T09:40:00+3:00",
        "2017-04-12T09:40:00.Z",
        "2017-0a-12T09:40:00Z",
        "2017-04-12T09:40:00Zjunk",
    ] {
        assert!(parse_rfc3339_ms(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn rfc3339_agrees_with_the_line_crates_calendar() {
    // The line crate's civil conversion is the oracle: format, parse back, same instant.
    let mut ms: i64 = 0;
    while ms < 4_102_444_800_000 {
        let t = Timestamp::from_unix_ms(ms).unwrap();
        let text = format!("{}Z", t.civil(UtcOffset::UTC)).replacen(' ', "T", 1);
        assert_eq!(parse_rfc3339_ms(&text).unwrap(), ms, "{text}");
        let moscow = UtcOffset::from_minutes(180).unwrap();
        let local = format!("{}+03:00", t.civil(moscow));
        assert_eq!(parse_rfc3339_ms(&local).unwrap(), ms, "{local}");
        ms += 86_399_000 * 7 + 12_345_000;
    }
}

/// Random and truncated flag values never panic a parser; every time accepted prints back
/// to the same instant (the line crate's calendar is the oracle).
#[test]
fn flag_parsers_survive_random_and_truncated_input() {
    let alphabet: Vec<char> = "0123456789-+:.,=/TZtz nowhmsNaé°′″\u{0}".chars().collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let seeds = [
        "2017-04-12T09:40:00.250+03:00",
        "now+1h30m",
        "35.333611,40.140833",
        "notification:N-7",
        "coalition=CLT-7",
    ];
    for i in 0..20_000 {
        let text: String = if i % 4 == 0 {
            let seed = seeds[next(seeds.len())];
            let cut = next(seed.len() + 1);
            seed.char_indices()
                .take_while(|(k, _)| *k < cut)
                .map(|(_, c)| c)
                .collect()
        } else {
            (0..next(32))
                .map(|_| alphabet[next(alphabet.len())])
                .collect()
        };
        if let Ok(TimeArg::At { down_ms: ms, .. }) = parse_time_arg(&text)
            && let Ok(t) = Timestamp::from_unix_ms(ms - ms.rem_euclid(1000))
        {
            let back = format!("{}Z", t.civil(UtcOffset::UTC)).replacen(' ', "T", 1);
            assert_eq!(parse_rfc3339_ms(&back), Ok(t.unix_ms()), "{text:?}");
        }
        let _ = parse_position(&text);
        let _ = parse_subject(&text);
        let _ = parse_track_ref(&text);
        let _ = parse_finite(&text);
    }
}

#[test]
fn absolute_times_finer_than_a_millisecond_keep_both_roundings() {
    let t = parse_time_arg("2017-04-12T09:40:00.123456Z").unwrap();
    assert_eq!(
        t,
        TimeArg::At {
            down_ms: NOW + 123,
            up_ms: NOW + 124
        }
    );
    assert_eq!(t.resolve("--start", 0).unwrap().unix_ms(), NOW + 123);
    assert_eq!(t.resolve_end("--end", 0).unwrap().unix_ms(), NOW + 124);
    let exact = parse_time_arg("2017-04-12T09:40:00.123Z").unwrap();
    assert_eq!(exact.resolve_end("--end", 0).unwrap().unix_ms(), NOW + 123);
}

#[test]
fn relative_times() {
    assert_eq!(parse_time_arg("now"), Ok(TimeArg::FromNowMs(0)));
    assert_eq!(parse_time_arg("+90s"), Ok(TimeArg::FromNowMs(90_000)));
    assert_eq!(
        parse_time_arg("now+1h30m"),
        Ok(TimeArg::FromNowMs(5_400_000))
    );
    assert_eq!(parse_time_arg("-5m"), Ok(TimeArg::FromNowMs(-300_000)));
    assert_eq!(parse_time_arg("+250ms"), Ok(TimeArg::FromNowMs(250)));
    for bad in [
        "+",
        "+10",
        "+m",
        "+10x",
        "nowish",
        "now10m",
        "+99999999999999h",
    ] {
        assert!(parse_time_arg(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn times_and_spans_print_for_an_officer() {
    assert_eq!(format_time(NOW, UtcOffset::UTC), "2017-04-12 09:40:00Z");
    assert_eq!(
        format_time(NOW, UtcOffset::from_minutes(180).unwrap()),
        "2017-04-12 12:40:00+03:00"
    );
    assert_eq!(format_span(40_900), "40 s");
    assert_eq!(format_span(-185_000), "3 min 05 s");
    assert_eq!(format_span(3_720_000), "1 h 02 min");
}

#[test]
fn strike_warning_from_flags() {
    let f = send_form(&[
        "strike-warning",
        "--to",
        "russia",
        "--lat",
        "35.333611",
        "--lon",
        "40.140833",
        "--radius-nm",
        "2",
        "--floor-ft",
        "15000",
        "--ceiling-ft",
        "25000",
        "--start",
        "+10m",
        "--end",
        "2017-04-12T10:40:00Z",
        "--subject",
        "notification:N-7",
        "--id",
        "coalition-M-111",
    ])
    .unwrap();
    let d = f.draft(NOW).unwrap();
    let from = PartyId::new("coalition").unwrap();
    let m = complete(d, &from, NOW, &mut |_| unreachable!()).unwrap();
    let json = String::from_utf8(m.canonical_json()).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"body":{"activity":"strike","altitude_block":{"lower_mm":4572000,"upper_mm":7620000},"#,
            r#""area":{"centre":{"lat_udeg":35333611,"lon_udeg":40140833},"radius_mm":3704000,"shape":"circle"},"#,
            r#""type":"strike_warning","window":{"end_ms":1491993600000,"start_ms":1491990600000}},"#,
            r#""from":"coalition","id":"coalition-M-111","sent_at_ms":1491990000000,"#,
            r#""subject":{"id":"N-7","kind":"notification"},"to":"russia"}"#
        )
    );
}

#[test]
fn latitude_200_is_refused_naming_the_flag() {
    let e = send_form(&[
        "strike-warning",
        "--to",
        "russia",
        "--lat",
        "200",
        "--lon",
        "40",
        "--radius-m",
        "1000",
        "--floor-m",
        "1000",
        "--ceiling-m",
        "2000",
        "--start",
        "now",
        "--end",
        "+1h",
    ])
    .err()
    .expect("refused");
    assert_eq!(e.exit_code(), 2);
    let text = e.to_string();
    assert!(text.contains("--lat"), "{text}");
    assert!(text.contains("outside -90..=90"), "{text}");
}

#[test]
fn negative_window_is_refused_naming_the_flag() {
    let f = send_form(&[
        "strike-warning",
        "--to",
        "russia",
        "--lat",
        "35",
        "--lon",
        "40",
        "--radius-m",
        "1000",
        "--floor-m",
        "1000",
        "--ceiling-m",
        "2000",
        "--start",
        "+1h",
        "--end",
        "+10m",
    ])
    .unwrap();
    let text = usage_text(f.draft(NOW).unwrap_err());
    assert!(text.starts_with("--end: the window ends"), "{text}");
}

#[test]
fn bad_values_name_their_flags() {
    let base = [
        "strike-warning",
        "--to",
        "russia",
        "--lat",
        "35",
        "--lon",
        "40",
        "--start",
        "now",
        "--end",
        "+1h",
    ];
    let case = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        usage_text(send_form(&args).unwrap().draft(NOW).unwrap_err())
    };
    let t = case(&["--radius-m", "-5", "--floor-m", "0", "--ceiling-m", "10"]);
    assert!(t.starts_with("--radius-m:"), "{t}");
    let t = case(&["--radius-m", "0", "--floor-m", "0", "--ceiling-m", "10"]);
    assert!(t.starts_with("--radius-m:"), "{t}");
    let t = case(&[
        "--radius-nm",
        "1",
        "--floor-ft",
        "20000",
        "--ceiling-ft",
        "10000",
    ]);
    assert!(t.starts_with("--ceiling-ft:"), "{t}");
    let t = case(&["--radius-nm", "1", "--floor-ft", "20000"]);
    assert!(t.starts_with("--ceiling-ft/--ceiling-m:"), "{t}");
    let t = case(&["--floor-ft", "0", "--ceiling-ft", "10"]);
    assert!(t.starts_with("--radius-m/--radius-nm:"), "{t}");
    // Values clap refuses itself name the flag and exit 2.
    for (flag, value) in [
        ("--to", "bad party!"),
        ("--radius-m", "NaN"),
        ("--radius-m", "inf"),
        ("--lon", "181"),
        ("--start", "yesterday"),
    ] {
        let mut args = base.to_vec();
        if let Some(i) = args.iter().position(|a| *a == flag) {
            args[i + 1] = value;
        } else {
            args.extend_from_slice(&[flag, value]);
        }
        let e = send_form(&args).err().expect("refused");
        assert_eq!(e.exit_code(), 2, "{flag} {value}");
        assert!(e.to_string().contains(flag), "{flag}: {e}");
    }
}

#[test]
fn sending_to_oneself_is_a_usage_error() {
    let f = send_form(&[
        "free-text",
        "--to",
        "coalition",
        "--text",
        "hello",
        "--lang",
        "en",
    ])
    .unwrap();
    let d = f.draft(NOW).unwrap();
    let from = PartyId::new("coalition").unwrap();
    let t = usage_text(complete(d, &from, NOW, &mut |_| unreachable!()).unwrap_err());
    assert!(t.starts_with("--to:"), "{t}");
}

#[test]
fn a_reply_goes_to_the_requests_sender_on_its_subject() {
    let f = send_form(&["reply", "--to", "russia-M-201", "accept"]).unwrap();
    let d = f.draft(NOW).unwrap();
    let from = PartyId::new("coalition").unwrap();
    let mut asked = Vec::new();
    let m = complete(d, &from, NOW, &mut |id| {
        asked.push(id.clone());
        Ok((
            PartyId::new("russia").unwrap(),
            Subject::new(SubjectKind::Alert, SubjectId::new("A-1").unwrap()),
        ))
    })
    .unwrap();
    assert_eq!(asked.len(), 1, "the referenced message is fetched once");
    assert_eq!(m.to().as_str(), "russia");
    assert_eq!(m.subject().kind, SubjectKind::Alert);
    assert_eq!(m.subject().id.as_str(), "A-1");
    assert!(m.id().as_str().starts_with("coalition-"));
    // A counter needs a proposal; accept carries none.
    let f = send_form(&["reply", "--to", "russia-M-201", "counter"]).unwrap();
    assert!(usage_text(f.draft(NOW).unwrap_err()).contains("propose"));
    let f = send_form(&["reply", "--to", "x", "accept", "--floor-ft", "1"]).unwrap();
    assert!(usage_text(f.draft(NOW).unwrap_err()).contains("only a counter"));
    let f = send_form(&[
        "reply",
        "--to",
        "x",
        "counter",
        "--floor-ft",
        "27000",
        "--ceiling-ft",
        "31000",
    ])
    .unwrap();
    assert!(f.draft(NOW).is_ok());
}

#[test]
fn an_incident_threads_on_its_id() {
    let f = send_form(&[
        "incident",
        "--to",
        "russia",
        "--incident-id",
        "I-3",
        "--at",
        "-10m",
        "--lat",
        "-35.5",
        "--lon",
        "40.1",
        "--track-a",
        "coalition=CLT-7",
        "--track-b",
        "russia=RUS-31",
        "--closest-horizontal-ft",
        "500",
        "--closest-vertical-m",
        "30",
    ])
    .unwrap();
    let d = f.draft(NOW).unwrap();
    let from = PartyId::new("coalition").unwrap();
    let m = complete(d, &from, NOW, &mut |_| unreachable!()).unwrap();
    assert_eq!(m.subject().kind, SubjectKind::Incident);
    let Body::IncidentReport {
        at_ms,
        closest_horizontal_mm,
        position,
        ..
    } = m.body()
    else {
        panic!("not an incident report")
    };
    assert_eq!(at_ms.unix_ms(), NOW - 600_000);
    assert_eq!(closest_horizontal_mm.mm(), 152_400);
    assert_eq!(position.lat_udeg.udeg(), -35_500_000);
    let e = send_form(&[
        "incident",
        "--to",
        "russia",
        "--incident-id",
        "I-3",
        "--at",
        "now",
        "--lat",
        "35",
        "--lon",
        "40",
        "--track-a",
        "CLT-7",
        "--track-b",
        "russia=RUS-31",
        "--closest-horizontal-m",
        "1",
        "--closest-vertical-m",
        "1",
    ])
    .err()
    .expect("refused");
    assert!(e.to_string().contains("--track-a"), "{e}");
}

#[test]
fn send_needs_a_file_or_a_form() {
    let e = parse(&["send"]).err().expect("refused");
    assert_eq!(e.exit_code(), 2);
    let ok = parse(&[
        "send",
        "--file",
        "m.json",
        "--service",
        "http://x",
        "--party",
        "p",
        "--key",
        "k",
    ]);
    assert!(ok.is_ok());
    let both = parse(&[
        "send",
        "--file",
        "m.json",
        "free-text",
        "--to",
        "r",
        "--text",
        "t",
        "--lang",
        "en",
    ]);
    assert!(both.is_err());
}

fn strike_view() -> deconflict_service::line::LineMessageView {
    let f = send_form(&[
        "strike-warning",
        "--to",
        "russia",
        "--lat",
        "35",
        "--lon",
        "40",
        "--radius-nm",
        "2",
        "--floor-ft",
        "15000",
        "--ceiling-ft",
        "25000",
        "--start",
        "+10m",
        "--end",
        "+40m",
        "--id",
        "coalition-sw-1",
    ])
    .unwrap();
    let from = PartyId::new("coalition").unwrap();
    let m = complete(f.draft(NOW).unwrap(), &from, NOW, &mut |_| unreachable!()).unwrap();
    deconflict_service::line::LineMessageView {
        message: m,
        kind: "strike_warning".into(),
        from: "coalition".into(),
        to: "russia".into(),
        sent_unix_ms: NOW,
        deadline_unix_ms: Some(NOW + 120_000),
        acknowledged: None,
        holder: Some("Дежурный офицер".into()),
        holder_deadline_unix_ms: Some(NOW + 120_000),
        level: 0,
        escalations: Vec::new(),
        overdue_unix_ms: None,
    }
}

#[test]
fn pending_shows_deadlines_time_left_and_escalations() {
    let fresh = strike_view();
    let mut late = strike_view();
    late.holder = Some("Russian Federation command".into());
    late.holder_deadline_unix_ms = Some(NOW + 240_000);
    late.level = 1;
    late.overdue_unix_ms = Some(NOW + 120_000);
    late.escalations = vec![deconflict_service::line::EscalationView {
        to: "Russian Federation command".into(),
        at_unix_ms: NOW + 120_000,
    }];
    let p = deconflict_service::line::LinePending {
        to_acknowledge: Vec::new(),
        awaiting_others: vec![fresh],
        overdue: vec![late],
    };
    let moscow = UtcOffset::from_minutes(180).unwrap();
    assert_eq!(
        pending_text(&p, NOW + 130_000, UtcOffset::UTC),
        "To acknowledge (addressed to us): 0\n\
         Awaiting the other party's acknowledgement: 1\n\
         \x20 coalition-sw-1  strike_warning from coalition to russia, subject general:coalition-sw-1\n\
         \x20   sent 2017-04-12 09:40:00Z; deadline 2017-04-12 09:42:00Z, passed 10 s ago\n\
         \x20   with Дежурный офицер (escalation level 0), whose deadline 2017-04-12 09:42:00Z passed 10 s ago\n\
         Overdue (either side): 1\n\
         \x20 coalition-sw-1  strike_warning from coalition to russia, subject general:coalition-sw-1\n\
         \x20   sent 2017-04-12 09:40:00Z; OVERDUE since 2017-04-12 09:42:00Z, 10 s ago\n\
         \x20   with Russian Federation command (escalation level 1), to acknowledge by 2017-04-12 09:44:00Z (1 min 50 s left); escalated to Russian Federation command at 2017-04-12 09:42:00Z\n"
    );
    let mut acked = strike_view();
    acked.acknowledged = Some(deconflict_service::line::AckView {
        officer: "Russian Federation command".into(),
        at_unix_ms: NOW + 150_000,
        late: true,
    });
    acked.holder = None;
    assert_eq!(
        view_text(&acked, NOW + 200_000, moscow),
        "  coalition-sw-1  strike_warning from coalition to russia, subject general:coalition-sw-1\n\
         \x20   sent 2017-04-12 12:40:00+03:00; acknowledged by Russian Federation command at 2017-04-12 12:42:30+03:00 (late)\n"
    );
    let overdue = strike_view();
    assert!(
        view_text(&overdue, NOW + 185_000, UtcOffset::UTC)
            .contains("deadline 2017-04-12 09:42:00Z, passed 1 min 05 s ago")
    );
}

#[test]
fn show_says_where_each_message_stands_overdue_escalated_or_late() {
    let mut overdue = strike_view();
    overdue.overdue_unix_ms = Some(NOW + 120_000);
    overdue.holder = Some("Russian Federation command".into());
    overdue.level = 1;
    overdue.escalations = vec![deconflict_service::line::EscalationView {
        to: "Russian Federation command".into(),
        at_unix_ms: NOW + 120_000,
    }];
    let mut late = strike_view();
    late.acknowledged = Some(deconflict_service::line::AckView {
        officer: "Russian Federation command".into(),
        at_unix_ms: NOW + 200_000,
        late: true,
    });
    let v = deconflict_service::line::ConversationView {
        subject_kind: "general".into(),
        subject_id: "coalition-sw-1".into(),
        lang: "en".into(),
        messages: vec![overdue, late],
        text: "rendered".into(),
    };
    let text = conversation_text(&v, NOW + 185_000, UtcOffset::UTC);
    assert!(
        text.starts_with("rendered\n\nWhere each message stands\n"),
        "{text}"
    );
    assert!(
        text.contains("OVERDUE since 2017-04-12 09:42:00Z"),
        "{text}"
    );
    assert!(
        text.contains("escalated to Russian Federation command at 2017-04-12 09:42:00Z"),
        "{text}"
    );
    assert!(
        text.contains("acknowledged by Russian Federation command at 2017-04-12 09:43:20Z (late)"),
        "{text}"
    );
}

#[test]
fn acknowledgements_print_timing_and_repeats() {
    let r = |late, escalations, duplicate| deconflict_service::line::LineAckResult {
        message_id: "coalition-sw-1".into(),
        acknowledged_unix_ms: NOW,
        late,
        escalations,
        duplicate,
    };
    assert_eq!(
        ack_text(&r(false, 0, false), "Дежурный офицер"),
        "acknowledged coalition-sw-1 as Дежурный офицер at 2017-04-12 09:40:00Z (in time)\n"
    );
    assert_eq!(
        ack_text(&r(true, 2, true), "Russian Federation command"),
        "coalition-sw-1 was already acknowledged by Russian Federation command at 2017-04-12 09:40:00Z (late, after 2 escalations): a repeat, counted once\n"
    );
}

#[test]
fn refusals_print_code_message_and_field() {
    assert_eq!(
        refusal_text(409, "already_acknowledged", "by someone", Some("officer")),
        "the service refused (HTTP 409)\n  code:    already_acknowledged\n  message: by someone\n  field:   officer"
    );
}
