//! The line's command line against the real binary: `deconflict serve` on loopback over a
//! fresh data directory (agreement, keys and signatures written as the demo writes them), and
//! `deconflict line send/pending/ack/show/…` run as subprocesses, as a duty officer would.
//! Also: `deconflict demo` shows the line at work in both languages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{BIN, Server, TempDir};

/// Writes the demo scenario's agreement, both parties' keys and their signatures into `dir`,
/// as `deconflict demo --data-dir` does, but with no store: the line starts when `serve` does.
fn prepare(dir: &Path) {
    let config = deconflict_sim::Config {
        duration_s: deconflict_sim::scenario::DURATION_S_MIN,
        ..deconflict_sim::Config::default()
    };
    let scenario = deconflict_sim::Scenario::generate(&config).unwrap();
    let data = deconflict_service::datadir::DataDir::new(dir);
    data.create().unwrap();
    std::fs::write(data.agreement(), &scenario.agreement_toml).unwrap();
    let agreement = scenario.agreement();
    for (party, key) in scenario.parties.iter().zip(scenario.keys()) {
        deconflict_service::datadir::write_key_pair(&dir.join("keys").join(&party.id), &key)
            .unwrap();
        let pid = deconflict_agreement::PartyId::new(&party.id).unwrap();
        let sig = deconflict_agreement::AgreementSignature::sign(&agreement, &pid, &key).unwrap();
        std::fs::write(
            deconflict_service::datadir::signature_path(&data.agreement(), &party.id),
            sig.to_file_text(),
        )
        .unwrap();
    }
}

fn serve(dir: &Path) -> Server {
    Server::start(dir)
}

/// One party's duty officer at the command line.
struct Officer<'a> {
    url: &'a str,
    party: &'a str,
    key: PathBuf,
}

impl Officer<'_> {
    /// `deconflict line <sub> [form] --service … --party … --key … <args>`.
    fn line(&self, sub: &[&str], args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("line")
            .args(sub)
            .args(["--service", self.url, "--party", self.party, "--key"])
            .arg(&self.key)
            .args(args)
            .output()
            .unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// The service refused: exit 1, and its status and `code` printed.
#[track_caller]
fn refused(o: &Output, status: u16) -> String {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{err}",
        stdout(o)
    );
    assert!(
        err.contains(&format!("the service refused (HTTP {status})")),
        "{err}"
    );
    let code = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("code:"))
        .map(str::trim)
        .unwrap_or_default();
    assert!(!code.is_empty() && code != "unknown", "no code in {err}");
    assert!(err.contains("  message: "), "{err}");
    assert!(err.contains("  field:   "), "{err}");
    err
}

/// A usage error: exit 2, naming the flag, nothing sent.
#[track_caller]
fn usage(o: &Output, flag: &str) -> String {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout:\n{}\nstderr:\n{err}",
        stdout(o)
    );
    assert!(err.contains(flag), "{flag} not named in {err}");
    assert!(stdout(o).is_empty(), "{}", stdout(o));
    err
}

/// The number after "<title>: " in `pending`'s text output.
fn count(pending: &str, title: &str) -> usize {
    pending
        .lines()
        .find_map(|l| l.strip_prefix(title)?.strip_prefix(": ")?.parse().ok())
        .unwrap_or_else(|| panic!("no {title:?} in {pending}"))
}

const STRIKE: [&str; 18] = [
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
    "+40m",
    "--subject",
    "notification:N-7",
];

#[test]
fn a_strike_warning_from_the_command_line_is_pending_acknowledged_and_shown_in_russian() {
    let tmp = TempDir::new("line-cli");
    prepare(&tmp.0);
    let server = serve(&tmp.0);
    let keys = tmp.0.join("keys");
    let a = Officer {
        url: &server.base,
        party: "coalition",
        key: keys.join("coalition.key"),
    };
    let b = Officer {
        url: &server.base,
        party: "russia",
        key: keys.join("russia.key"),
    };

    // Coalition warns of a strike; the typed form needs no JSON.
    let mut args = STRIKE.to_vec();
    args.extend(["--id", "coalition-sw-7"]);
    let out = ok(&a.line(&["send", "strike-warning"], &args));
    assert!(
        out.starts_with("sent coalition-sw-7 (strike_warning to russia, subject notification:N-7)"),
        "{out}"
    );
    assert!(out.contains("acknowledgement due by"), "{out}");
    assert!(out.contains("(2 min 00 s after acceptance)"), "{out}");

    // Russia's pending list has it, with its deadline and time left; coalition waits for it.
    let pending_b = ok(&b.line(&["pending"], &[]));
    let to_ack = pending_b
        .split("Awaiting")
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        to_ack.contains(
            "coalition-sw-7  strike_warning from coalition to russia, subject notification:N-7"
        ),
        "{pending_b}"
    );
    assert!(to_ack.contains(" left"), "{pending_b}");
    assert!(
        to_ack.contains("with Дежурный офицер (escalation level 0)"),
        "{pending_b}"
    );
    let json = ok(&b.line(&["pending"], &["--json"]));
    assert!(
        json.starts_with('{') && json.contains("\"to_acknowledge\""),
        "{json}"
    );
    assert!(json.contains("\"coalition-sw-7\""), "{json}");
    let pending_a = ok(&a.line(&["pending"], &[]));
    assert_eq!(
        count(&pending_a, "Awaiting the other party's acknowledgement"),
        1,
        "{pending_a}"
    );
    assert_eq!(
        count(&pending_a, "To acknowledge (addressed to us)"),
        0,
        "{pending_a}"
    );

    // Refusals: the sender cannot acknowledge, an officer must be on the roster, the id must
    // exist. Each prints the service's code and exits 1.
    let err = refused(
        &a.line(
            &["ack", "coalition-sw-7"],
            &["--officer", "CAOC duty officer"],
        ),
        403,
    );
    assert!(err.contains("code:    not_recipient"), "{err}");
    let err = refused(
        &b.line(&["ack", "coalition-sw-7"], &["--officer", "Nobody Known"]),
        422,
    );
    assert!(err.contains("code:    unknown_officer"), "{err}");
    refused(
        &b.line(
            &["ack", "no-such-message"],
            &["--officer", "Дежурный офицер"],
        ),
        404,
    );

    // Russia's duty officer acknowledges, in time; a repeat counts once; a second officer
    // acknowledging the same message is refused.
    let out = ok(&b.line(
        &["ack", "coalition-sw-7"],
        &["--officer", "Дежурный офицер"],
    ));
    assert!(
        out.starts_with("acknowledged coalition-sw-7 as Дежурный офицер at "),
        "{out}"
    );
    assert!(out.contains("(in time)"), "{out}");
    // The same officer again (a retry after a lost answer) is counted once, as the contract
    // says; it is not an error.
    let again = ok(&b.line(
        &["ack", "coalition-sw-7"],
        &["--officer", "Дежурный офицер"],
    ));
    assert!(again.contains("a repeat, counted once"), "{again}");
    // Another officer acknowledging the same message is refused.
    let err = refused(
        &b.line(
            &["ack", "coalition-sw-7"],
            &["--officer", "Russian Federation command"],
        ),
        409,
    );
    assert!(err.contains("code:    already_acknowledged"), "{err}");
    let pending_a = ok(&a.line(&["pending"], &[]));
    assert_eq!(
        count(&pending_a, "Awaiting the other party's acknowledgement"),
        0,
        "{pending_a}"
    );

    // The conversation in Russian, Moscow time, degrees-minutes-seconds: the template's words,
    // the numbers with their units.
    let ru = ok(&b.line(
        &["show", "notification", "N-7"],
        &["--lang", "ru", "--utc-offset", "+03:00", "--coords", "dms"],
    ));
    for want in [
        "ПРЕДУПРЕЖДЕНИЕ ОБ УДАРЕ",
        "2,000 мор. мили (3,704 км)",
        "35°20′01,0″ с. ш.",
        "от 15000 фт (4572 м) до 25000 фт (7620 м)",
        "UTC+03:00",
        "ПОДТВЕРЖДЕНИЕ получения сообщения coalition-sw-7. Дежурный офицер.",
    ] {
        assert!(ru.contains(want), "{want:?} not in\n{ru}");
    }
    assert!(!ru.contains("Дежурный офицер: Дежурный офицер"), "{ru}");
    let en = ok(&a.line(&["show", "notification", "N-7"], &["--lang", "en"]));
    assert!(en.contains("STRIKE WARNING"), "{en}");
    assert!(en.contains("2.000 NM (3.704 km)"), "{en}");
    assert!(en.contains("35.333611° N"), "{en}");
    let show_json = ok(&a.line(&["show", "notification", "N-7"], &["--json"]));
    assert!(show_json.contains("\"subject_id\":\"N-7\""), "{show_json}");
    refused(&a.line(&["show", "alert", "A-none"], &[]), 404);
    let list = ok(&b.line(&["conversations"], &[]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("notification") && l.contains("N-7")),
        "{list}"
    );
    let reach = ok(&b.line(&["reachability"], &[]));
    assert!(reach.lines().any(|l| l.starts_with("coalition")), "{reach}");
    assert!(reach.lines().any(|l| l.starts_with("russia")), "{reach}");

    // Bad flags: exit 2 naming the flag, and nothing reaches the service.
    let mut bad = STRIKE.to_vec();
    bad[3] = "200";
    let err = usage(&a.line(&["send", "strike-warning"], &bad), "--lat");
    assert!(err.contains("outside -90..=90"), "{err}");
    let mut bad = STRIKE.to_vec();
    bad[13] = "+1h";
    bad[15] = "+10m";
    let err = usage(&a.line(&["send", "strike-warning"], &bad), "--end");
    assert!(err.contains("nothing was sent"), "{err}");
    let mut bad = STRIKE.to_vec();
    bad[7] = "-2";
    usage(&a.line(&["send", "strike-warning"], &bad), "--radius-nm");
    usage(
        &a.line(
            &["send", "free-text"],
            &["--to", "coalition", "--text", "x", "--lang", "en"],
        ),
        "--to",
    );
    let pending_a = ok(&a.line(&["pending"], &[]));
    assert_eq!(
        count(&pending_a, "Awaiting the other party's acknowledgement"),
        0,
        "{pending_a}"
    );
    let pending_b = ok(&b.line(&["pending"], &[]));
    assert_eq!(
        count(&pending_b, "To acknowledge (addressed to us)"),
        0,
        "{pending_b}"
    );

    // The other typed forms: a request threads on the message it is about, a reply goes back
    // to the request's sender, an incident report threads on the incident.
    let out = ok(&a.line(
        &["send", "request-to-alter"],
        &[
            "--to",
            "russia",
            "--regarding",
            "coalition-sw-7",
            "--start",
            "+20m",
            "--end",
            "+50m",
            "--id",
            "coalition-rq-7",
        ],
    ));
    assert!(
        out.starts_with(
            "sent coalition-rq-7 (request_to_alter to russia, subject notification:N-7)"
        ),
        "{out}"
    );
    assert!(out.contains("(10 min 00 s after acceptance)"), "{out}");
    let out = ok(&b.line(
        &["send", "reply"],
        &[
            "--to",
            "coalition-rq-7",
            "counter",
            "--floor-ft",
            "27000",
            "--ceiling-ft",
            "31000",
            "--id",
            "russia-re-7",
        ],
    ));
    assert!(
        out.starts_with("sent russia-re-7 (reply to coalition, subject notification:N-7)"),
        "{out}"
    );
    usage(
        &b.line(
            &["send", "reply"],
            &["--to", "coalition-rq-7", "accept", "--floor-ft", "1"],
        ),
        "--floor-ft",
    );
    let out = ok(&a.line(
        &["send", "incident"],
        &[
            "--to",
            "russia",
            "--incident-id",
            "I-1",
            "--at",
            "-5m",
            "--lat",
            "35.1",
            "--lon",
            "40.2",
            "--track-a",
            "coalition=CLT-7",
            "--track-b",
            "russia=RUS-31",
            "--closest-horizontal-ft",
            "500",
            "--closest-vertical-ft",
            "200",
        ],
    ));
    assert!(
        out.contains("(incident_report to russia, subject incident:I-1)"),
        "{out}"
    );
    // Without --lang, each party reads in its own language from the agreement.
    let ru = ok(&b.line(&["show", "incident", "I-1"], &[]));
    for want in [
        "ДОКЛАД ОБ ИНЦИДЕНТЕ I-1",
        "0,082 мор. мили (0,152 км) по горизонтали и 200 фт (61 м) по вертикали",
        // The parties by the names the agreement gives them in Russian.
        "борт CLT-7 (Коалиция) и борт RUS-31 (Российская Федерация)",
    ] {
        assert!(ru.contains(want), "{want:?} not in\n{ru}");
    }
    let en = ok(&a.line(&["show", "notification", "N-7"], &["--lang", "en"]));
    assert!(en.contains("REPLY to message coalition-rq-7: COUNTER-PROPOSAL: new altitude block from 27000 ft (8230 m) to 31000 ft (9449 m)."), "{en}");

    // A message file: accepted once; the identical bytes again are a repeat; the same id with
    // other content is refused; a file written for another party is a usage error.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let file = tmp.0.join("handover.json");
    let text = |t: &str| {
        format!(
            r#"{{"id":"coalition-file-1","from":"coalition","to":"russia","sent_at_ms":{now_ms},"subject":{{"kind":"general","id":"handover"}},"body":{{"type":"free_text","written_in":"en","text":"{t}"}}}}"#
        )
    };
    std::fs::write(&file, text("Shift handover at 18:00 UTC.")).unwrap();
    let path = file.to_str().unwrap();
    let out = ok(&a.line(&["send"], &["--file", path]));
    assert!(
        out.contains("sent coalition-file-1 (free_text to russia, subject general:handover)"),
        "{out}"
    );
    assert!(out.contains("no acknowledgement required"), "{out}");
    let out = ok(&a.line(&["send"], &["--file", path]));
    assert!(out.contains("already accepted"), "{out}");
    std::fs::write(&file, text("Shift handover at 19:00 UTC.")).unwrap();
    let err = refused(&a.line(&["send"], &["--file", path]), 409);
    assert!(err.contains("code:    id_taken"), "{err}");
    usage(&b.line(&["send"], &["--file", path]), "--file");
    let ru = ok(&b.line(&["show", "general", "handover"], &["--lang", "ru"]));
    assert!(ru.contains("Shift handover at 18:00 UTC."), "{ru}");

    // No service at that address (a loopback port just freed): a connection error, exit 2.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let gone = Officer {
        url: &closed,
        party: "coalition",
        key: keys.join("coalition.key"),
    };
    let o = gone.line(&["pending"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot reach the service"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_demo_shows_the_line_at_work_in_both_languages() {
    let out = Command::new(BIN).arg("demo").output().unwrap();
    let text = ok(&out);
    for want in [
        // The link test: answered in time by one party, late by the other, through its command.
        "link test coalition 08:00:00Z: answered by CAOC duty officer after 10 s — in time",
        "link test russia 08:00:00Z: not answered in time; passed to Russian Federation command at 08:01:00Z; answered by Russian Federation command after 90 s — late",
        "reachability: coalition 1 in time, 0 late, 0 missed; russia 0 in time, 1 late, 0 missed",
        // The strike warning escalated, and its sender saw it on its own stream.
        "strike warning coalition-strike-1 to russia at 08:04:00Z, acknowledgement due 08:06:00Z: passed to Russian Federation command at 08:06:00Z; acknowledged by Russian Federation command at 08:06:30Z — late",
        "overdue at 08:06:05Z as coalition sees it: coalition-strike-1",
        "overdue at 08:06:05Z as russia sees it: coalition-strike-1",
        "line_escalated: coalition-strike-1 passed from Дежурный офицер to Russian Federation command (level 1) at 08:06:00Z",
        // English, as the coalition reads it.
        "=== The line as coalition reads it (en, UTC+03:00, decimal) ===",
        "CONFLICT ALERT c:coalition/coalition-01:russia/russia-01:",
        "REPLY to message coalition-request-1: COUNTER-PROPOSAL: new altitude block from 27000 ft (8230 m) to 31000 ft (9449 m).",
        "message coalition-strike-1 ESCALATED from Дежурный офицер to Russian Federation command (Russian Federation, level 1)",
        "message coalition-strike-1 acknowledged by Russian Federation command (Russian Federation) after 2 minutes 30 seconds, LATE",
        "Message coalition-request-1 from Coalition to Russian Federation",
        // Russian, as Russia reads it.
        "=== The line as russia reads it (ru, UTC+03:00, dms) ===",
        "ОПОВЕЩЕНИЕ О КОНФЛИКТЕ c:coalition/coalition-01:russia/russia-01:",
        "ОТВЕТ на сообщение coalition-request-1: ВСТРЕЧНОЕ ПРЕДЛОЖЕНИЕ: новый блок высот от 27000 фт (8230 м) до 31000 фт (9449 м).",
        "Борт russia-01 набирает эшелон 280, курс прежний.",
        // Parties by the agreement's Russian names, the service and the command in Russian.
        "сообщение coalition-strike-1 ЭСКАЛИРОВАНО (Российская Федерация, уровень 1): Дежурный офицер → командование",
        "сообщение lt:service:russia:1491984000 ПРОСРОЧЕНО: получение не подтверждено (Российская Федерация, срок 1 минута)",
        "Сообщение lt:service:russia:1491984000, отправитель: служба деконфликтации, получатель: Российская Федерация",
        "Сообщение coalition-request-1, отправитель: Коалиция, получатель: Российская Федерация",
    ] {
        assert!(
            text.contains(want),
            "{want:?} not in the demo's output:\n{text}"
        );
    }
    // The engine's alert opened a conversation on both sides: its alert message, the
    // acknowledgement, and the four messages the parties exchanged, at least.
    let seen = text
        .lines()
        .find_map(|l| {
            l.split_once("opened a conversation on both sides: ")
                .map(|x| x.1)
        })
        .unwrap_or_else(|| panic!("no alert conversation in\n{text}"));
    let counts: Vec<usize> = seen
        .split(", ")
        .filter_map(|part| part.split(' ').nth(2)?.parse().ok())
        .collect();
    assert_eq!(counts.len(), 2, "{seen}");
    assert!(counts.iter().all(|n| *n >= 7), "{seen}");
    assert!(seen.starts_with("coalition sees "), "{seen}");
    assert!(seen.contains(", russia sees "), "{seen}");
    // The scripted offline story is no longer what the demo prints.
    assert!(!text.contains("M-111"), "{text}");
    // Russia's reading leaves no party's command in English.
    let ru = text
        .split("=== The line as russia reads it")
        .nth(1)
        .expect("a Russian section");
    assert!(!ru.contains(" command"), "{ru}");
}
