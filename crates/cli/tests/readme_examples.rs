//! Every `deconflict …` command that README.md's command-line section shows in a fenced block,
//! run against the real binary. Most lines there are synopses (`FILE`, `[--json]`, `CONNECT`), so
//! each has one concrete instance below, in the order a new user would run them: the demo makes a
//! data directory, the offline commands read it, `serve` serves it on loopback, and the online
//! commands talk to that service as the demo's parties. An instance may use only flags its
//! synopsis shows, and must name the same subcommand; it is run with an expected exit code and a
//! fragment its output must contain. Every example runs offline (the service is the local one). A README command that no instance covers fails the test, and
//! so does an instance whose README line is gone.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::{BIN, Server, TempDir};

/// README.md, as the binary's users read it.
const README: &str = include_str!("../../../README.md");

/// One README command: the start of its README text (whitespace collapsed, continuation lines
/// joined, the comment dropped), and how it is tried.
struct Example {
    readme: &'static str,
    run: Run,
}

enum Run {
    /// Arguments after `deconflict`, with `{D}` (the demo's data directory), `{T}` (a scratch
    /// directory), `{URL}`, `{C}`/`{R}` (`--service URL --party coalition|russia --key …`),
    /// `{LOGKEY}` (the demo's log key), `{LINEDATA}` (the line crate's test data), `{SINCE}`
    /// (the tree size `log follow` saved) and `{LAST}` (a file holding the previous example's
    /// stdout) filled in; the exit code expected, and a fragment of the output.
    Args {
        args: &'static str,
        code: i32,
        has: &'static str,
    },
    /// `deconflict serve --data-dir {D}` on loopback, for the online examples after it.
    Serve,
}

use Run::*;

const fn run(args: &'static str, code: i32, has: &'static str) -> Run {
    Args { args, code, has }
}

/// In the order they are run. Arguments are split on spaces; `~` stands for a space inside one.
const EXAMPLES: &[Example] = &[
    Example {
        readme: "deconflict demo",
        run: run(
            "demo --data-dir {D}",
            0,
            "two parties, one sky, one agreement",
        ),
    },
    Example {
        readme: "deconflict keygen --out PREFIX",
        run: run("keygen --out {T}/k", 0, "ed25519:"),
    },
    Example {
        readme: "deconflict log export --data-dir DIR --out",
        run: run(
            "log export --data-dir {D} --out {T}/log.export",
            0,
            "exported",
        ),
    },
    Example {
        readme: "deconflict verify log.export --agreement DIR/agreement.toml --log-key",
        run: run(
            "verify {T}/log.export --agreement {D}/agreement.toml --log-key {LOGKEY}",
            0,
            ": OK",
        ),
    },
    Example {
        readme: "deconflict verify FILE",
        run: run(
            "verify {T}/log.export --agreement {D}/agreement.toml --log-key {LOGKEY} --threads 2",
            0,
            ": OK",
        ),
    },
    Example {
        readme: "deconflict verify FILE [--log-key HEX] [--agreement",
        run: run(
            "verify {D}/evidence-demo-incident-1.json --log-key {LOGKEY} --agreement {D}/agreement.toml",
            0,
            "closest approach: ",
        ),
    },
    Example {
        readme: "deconflict verify --data-dir DIR",
        run: run(
            "verify --data-dir {D} --agreement {D}/agreement.toml",
            0,
            ": OK",
        ),
    },
    Example {
        readme: "deconflict agreement init",
        run: run("agreement init --out {T}/agreement.toml", 0, "wrote"),
    },
    Example {
        readme: "deconflict agreement check FILE",
        run: run(
            "agreement check {D}/agreement.toml",
            0,
            "agreement  sha256:",
        ),
    },
    Example {
        readme: "deconflict agreement canonical FILE",
        run: run(
            "agreement canonical {D}/agreement.toml",
            0,
            "\"format\":\"deconflict.agreement.v1\"",
        ),
    },
    Example {
        readme: "deconflict agreement sign --key SECRET",
        run: run(
            "agreement sign --key {D}/keys/coalition.key --out {T}/a.sig {D}/agreement.toml",
            0,
            "coalition signed sha256:",
        ),
    },
    Example {
        readme: "deconflict agreement status FILE --signatures DIR",
        run: run(
            "agreement status {D}/agreement.toml --signatures {D}",
            0,
            "status    in_force",
        ),
    },
    Example {
        readme: "deconflict agreement statement --key SECRET",
        run: run(
            "agreement statement --key {D}/keys/coalition.key --agreement {D}/agreement.toml --basis-seq 2 --out {T}/statement.json suspend --reason drill",
            0,
            "wrote",
        ),
    },
    Example {
        readme: "deconflict log proof --data-dir DIR --index I",
        run: run("log proof --data-dir {D} --index 0", 0, "index 0 size "),
    },
    Example {
        readme: "deconflict log open FILE --openings",
        run: run(
            "log open {T}/log.export --openings {D}/log-openings.jsonl",
            0,
            "callsigns = ",
        ),
    },
    Example {
        readme: "deconflict log recover --data-dir DIR",
        run: run("log recover --data-dir {D}", 0, "nothing to recover"),
    },
    Example {
        readme: "deconflict report --data-dir DIR",
        run: run(
            "report --data-dir {D} --out {T}/report.html --lang ru",
            0,
            "report written to",
        ),
    },
    Example {
        readme: "deconflict replay --data-dir DIR --tracks FILE",
        run: run(
            "replay --data-dir {D} --tracks {T}/tracks.jsonl --out {T}/replay",
            0,
            "replayed 3 reports",
        ),
    },
    Example {
        readme: "deconflict line render",
        run: run(
            "line render --lang ru {LINEDATA}/conversation.json",
            0,
            "Переписка: оповещение A-1",
        ),
    },
    Example {
        readme: "deconflict line catalogue",
        run: run("line catalogue --json", 0, "strike_warning"),
    },
    Example {
        readme: "deconflict line canonical FILE.json",
        run: run(
            "line canonical {LINEDATA}/strike_warning.json",
            0,
            "\"type\":\"strike_warning\"",
        ),
    },
    Example {
        readme: "deconflict line simulate",
        run: run(
            "line simulate --lang ru --utc-offset +03:00 --coords dms",
            0,
            "UTC+03:00",
        ),
    },
    Example {
        readme: "deconflict serve --data-dir DIR",
        run: Serve,
    },
    Example {
        readme: "deconflict agreement status --service URL",
        run: run("agreement status {C}", 0, "status    in_force"),
    },
    Example {
        readme: "deconflict notifications create CONNECT",
        run: run(
            "notifications create {C} --agreement {D}/agreement.toml rx-1 --lat 35.2 --lon 39.3 --radius-m 5000 --floor-m 3000 --ceiling-m 6000 --start now+1h --end now+2h --keep-openings {T}/openings.jsonl",
            0,
            "notification rx-1 revision 1 active",
        ),
    },
    Example {
        readme: "deconflict notifications update CONNECT",
        run: run(
            "notifications update {C} --revision 1 --agreement {D}/agreement.toml rx-1 --lat 35.2 --lon 39.3 --radius-m 5000 --floor-m 3000 --ceiling-m 7000 --start now+1h --end now+2h",
            0,
            "notification rx-1 revision 2 active",
        ),
    },
    Example {
        readme: "deconflict notifications list CONNECT",
        run: run("notifications list {C}", 0, "rx-1"),
    },
    Example {
        readme: "deconflict notifications show CONNECT ID",
        run: run("notifications show {C} rx-1", 0, "\"revision\": 2"),
    },
    Example {
        readme: "deconflict notifications withdraw CONNECT ID",
        run: run(
            "notifications withdraw {C} rx-1 --revision 2",
            0,
            "revision 3 withdrawn",
        ),
    },
    Example {
        readme: "deconflict tracks push CONNECT --file FILE",
        run: run(
            "tracks push {C} --file {T}/tracks.jsonl --batch 2",
            0,
            "3 of 3 reports accepted",
        ),
    },
    Example {
        readme: "deconflict tracks list CONNECT",
        run: run("tracks list {C} --json", 0, "c1"),
    },
    Example {
        readme: "deconflict events CONNECT",
        run: run("events {C} --after 0", 0, "\"seq\":1"),
    },
    Example {
        readme: "deconflict incidents list CONNECT",
        run: run("incidents list {C}", 0, "demo-incident-1"),
    },
    Example {
        readme: "deconflict incidents show CONNECT INCIDENT",
        run: run(
            "incidents show {R} demo-incident-1 --json",
            0,
            "\"closest_approach\":{\"horizontal_m\"",
        ),
    },
    Example {
        readme: "deconflict incidents file CONNECT",
        run: run(
            "incidents file {C} --from 2017-04-12T08:05:00Z --to 2017-04-12T08:07:00Z --own coalition-01 --other-party russia --account Turned~right~on~the~warning. --figure-horizontal-m 700 --id readme-inc-1",
            0,
            "closest approach: ",
        ),
    },
    Example {
        readme: "deconflict incidents account CONNECT INCIDENT",
        run: run(
            "incidents account {R} readme-inc-1 --account Цель~видели~на~радаре. --language ru --json",
            0,
            "\"status\":\"accounts_complete\"",
        ),
    },
    Example {
        readme: "deconflict incidents assess CONNECT INCIDENT",
        run: run(
            "incidents assess {C} readme-inc-1 --member coalition-wg --member-key {D}/keys/coalition-wg.key --category B --factor late_sighting --remarks Seen~late.",
            0,
            "assessment of coalition by coalition-wg: category B",
        ),
    },
    Example {
        readme: "deconflict evidence INCIDENT CONNECT",
        run: run(
            "evidence readme-inc-1 {C} --out {T}/readme-inc-1.json",
            0,
            "written to",
        ),
    },
    Example {
        readme: "deconflict line send --file MESSAGE.json",
        run: run("line send --file {T}/message.json {C}", 0, "sent rx-file-1"),
    },
    Example {
        readme: "deconflict line send strike-warning",
        run: run(
            "line send strike-warning --to russia --activity strike --lat 35.2 --lon 39.3 --radius-nm 3 --floor-ft 10000 --ceiling-ft 20000 --start now+1h --end now+2h --id rx-sw-1 {C}",
            0,
            "sent rx-sw-1 (strike_warning to russia",
        ),
    },
    Example {
        readme: "deconflict line send free-text",
        run: run(
            "line send free-text --to russia --text handover~at~0600 --lang en --subject general:handover --id rx-ft-1 {C}",
            0,
            "sent rx-ft-1 (free_text to russia",
        ),
    },
    Example {
        readme: "deconflict line send request-to-alter",
        run: run(
            "line send request-to-alter --to russia --regarding rx-sw-1 --floor-ft 21000 --ceiling-ft 25000 --id rx-rq-1 {C}",
            0,
            "sent rx-rq-1 (request_to_alter to russia",
        ),
    },
    Example {
        readme: "deconflict line send reply --to MSG_ID",
        run: run(
            "line send reply --to rx-rq-1 accept --id rx-rp-1 {R}",
            0,
            "sent rx-rp-1 (reply to coalition",
        ),
    },
    Example {
        readme: "deconflict line send incident",
        run: run(
            "line send incident --to russia --incident-id inc-1 --at now-1h --lat 35.2 --lon 39.3 --track-a coalition=c1 --track-b russia=r1 --closest-horizontal-m 500 --closest-vertical-ft 300 --id rx-inc-1 {C}",
            0,
            "sent rx-inc-1 (incident_report to russia",
        ),
    },
    Example {
        readme: "deconflict line send investigation-request",
        run: run(
            "line send investigation-request --to russia --incident-id inc-1 --reply-by now+24h --id rx-ir-1 {C}",
            0,
            "sent rx-ir-1 (investigation_request to russia",
        ),
    },
    Example {
        readme: "deconflict line pending",
        run: run(
            "line pending --utc-offset +03:00 {R}",
            0,
            "To acknowledge (addressed to us): ",
        ),
    },
    Example {
        readme: "deconflict line ack MSG_ID --officer NAME",
        run: run(
            "line ack rx-sw-1 --officer Russian~Federation~command {R}",
            0,
            "acknowledged rx-sw-1 as Russian Federation command",
        ),
    },
    Example {
        readme: "deconflict line show KIND ID",
        run: run(
            "line show general handover --lang ru --utc-offset +03:00 --coords dms {R}",
            0,
            "Сообщение rx-ft-1, отправитель: Коалиция, получатель: Российская Федерация",
        ),
    },
    Example {
        readme: "deconflict line conversations",
        run: run("line conversations --utc-offset +03:00 {C}", 0, "handover"),
    },
    Example {
        readme: "deconflict line reachability",
        run: run("line reachability --json {C}", 0, "russia"),
    },
    Example {
        readme: "deconflict login --service http://127.0.0.1:8440 --party russia --key DIR/keys/russia.key",
        run: run(
            "login --service {URL} --party russia --key {D}/keys/russia.key",
            0,
            "/console/login?token=",
        ),
    },
    Example {
        readme: "deconflict log follow --service URL",
        run: run(
            "log follow --service {URL} --party coalition --key {D}/keys/coalition.key --state {T}/state.json --trust-on-first-use --agreement {D}/agreement.toml",
            0,
            "saved",
        ),
    },
    // The log file's latest head with its consistency proof from the head `log follow` saved,
    // then checked against that state.
    Example {
        readme: "deconflict log tree-head --data-dir DIR",
        run: run(
            "log tree-head --data-dir {D} --since {SINCE}",
            0,
            "\"consistency",
        ),
    },
    Example {
        readme: "deconflict log check-head --state STATE.json",
        run: run(
            "log check-head --state {T}/state.json --log-key {LOGKEY} --log service {LAST}",
            0,
            "is consistent with the verified size",
        ),
    },
    Example {
        readme: "deconflict agreement suspend",
        run: run(
            "agreement suspend {C} --reason drill",
            0,
            "status    suspended",
        ),
    },
    Example {
        readme: "deconflict agreement reactivate",
        run: run(
            "agreement reactivate {R} --conditions none",
            0,
            "reactivation pending",
        ),
    },
    // Last: a terminated agreement takes no new line messages or notifications.
    Example {
        readme: "deconflict agreement terminate",
        run: run(
            "agreement terminate {C} --reason end~of~drill",
            0,
            "status    terminated",
        ),
    },
];

/// Synopses that stand for another's flags: `update` takes "every field again" of `create`.
const FLAGS_AS: &[(&str, &str)] = &[(
    "deconflict notifications update CONNECT",
    "deconflict notifications create CONNECT",
)];

/// The fenced `deconflict …` commands of the README's "Command line" section, one string each.
fn readme_commands() -> Vec<String> {
    let section = README
        .split_once("\n## Command line\n")
        .expect("README has a Command line section")
        .1;
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut out = Vec::new();
    let mut fenced = false;
    let mut pending: Option<String> = None;
    for line in section.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            pending = None;
            continue;
        }
        if !fenced {
            continue;
        }
        let text = match line.find(" # ") {
            Some(i) => &line[..i],
            None => line,
        };
        let (text, continues) = match text.trim_end().strip_suffix('\\') {
            Some(t) => (t, true),
            None => (text, false),
        };
        let joined = match pending.take() {
            Some(p) => format!("{p} {}", text.trim()),
            None if text.trim_start().starts_with("deconflict ") => text.trim().to_string(),
            None => continue,
        };
        if continues {
            pending = Some(joined);
        } else {
            out.push(collapse(&joined));
        }
    }
    out
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which example covers a README command: the longest `readme` prefix that matches.
fn covering(command: &str) -> Option<&'static Example> {
    EXAMPLES
        .iter()
        .filter(|e| command.starts_with(e.readme))
        .max_by_key(|e| e.readme.len())
}

/// The subcommand path a README synopsis shows: its words after `deconflict` up to the first
/// flag or placeholder.
fn subcommand(readme: &str) -> Vec<&str> {
    readme
        .split(' ')
        .skip(1)
        .take_while(|w| {
            !w.starts_with('-') && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .collect()
}

#[test]
fn every_readme_command_is_covered_and_every_example_is_in_the_readme() {
    let commands = readme_commands();
    assert!(commands.len() >= 50, "{commands:#?}");
    let uncovered: Vec<&String> = commands.iter().filter(|c| covering(c).is_none()).collect();
    assert!(
        uncovered.is_empty(),
        "README commands no example runs or lists: {uncovered:#?}"
    );
    for e in EXAMPLES {
        let shown: Vec<&String> = commands
            .iter()
            .filter(|c| covering(c).is_some_and(|x| std::ptr::eq(x, e)))
            .collect();
        let flags_from: Vec<&String> = FLAGS_AS
            .iter()
            .filter(|(a, _)| e.readme.starts_with(a))
            .flat_map(|(_, b)| commands.iter().filter(move |c| c.starts_with(b)))
            .chain(shown.iter().copied())
            .collect();
        assert!(
            !shown.is_empty(),
            "{:?} is no longer a README command",
            e.readme
        );
        let Args { args, .. } = e.run else { continue };
        // Same subcommand, and no flag the README does not show for it.
        let path = subcommand(e.readme);
        assert!(!path.is_empty(), "{:?}", e.readme);
        let words: Vec<&str> = args.split(' ').take(path.len()).collect();
        assert_eq!(
            words, path,
            "{args:?} runs another command than {:?}",
            e.readme
        );
        for flag in args.split(' ').filter(|w| w.starts_with("--")) {
            assert!(
                flags_from.iter().any(|c| c
                    .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '-'))
                    .any(|w| w == flag)),
                "{flag} is not in the README's {:?}",
                shown[0]
            );
        }
    }
}

struct Fill {
    data: String,
    scratch: String,
    url: String,
    log_key: String,
    since: String,
}

impl Fill {
    fn args(&self, template: &str) -> Vec<String> {
        let line_data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../line/testdata");
        let connect = |party: &str| {
            format!(
                "--service {} --party {party} --key {}/keys/{party}.key",
                self.url, self.data
            )
        };
        template
            .replace("{C}", &connect("coalition"))
            .replace("{R}", &connect("russia"))
            .split(' ')
            .map(|w| {
                w.replace("{D}", &self.data)
                    .replace("{T}", &self.scratch)
                    .replace("{URL}", &self.url)
                    .replace("{LOGKEY}", &self.log_key)
                    .replace("{SINCE}", &self.since)
                    .replace("{LAST}", &format!("{}/last.out", self.scratch))
                    .replace("{LINEDATA}", &line_data.display().to_string())
                    .replace('~', " ")
            })
            .collect()
    }
}

/// Runs one example; its exit code must be `code` and its output (stdout, then stderr, where
/// some commands report what they wrote) must contain `has`.
fn check(fill: &Fill, args: &str, code: i32, has: &str) -> Output {
    let argv = fill.args(args);
    let out = Command::new(BIN).args(&argv).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "deconflict {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        argv.join(" ")
    );
    assert!(
        stdout.contains(has) || stderr.contains(has),
        "deconflict {}: {has:?} not in\nstdout:\n{stdout}\nstderr:\n{stderr}",
        argv.join(" ")
    );
    out
}

/// The tree size in the state file `log follow` saved.
fn followed_size(scratch: &Path) -> String {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scratch.join("state.json")).unwrap()).unwrap();
    state["tree_head"]["sth"]["size"].to_string()
}

#[test]
fn every_readme_command_runs_as_shown() {
    let scratch = TempDir::new("readme");
    let data = scratch.0.join("data");
    let t = scratch.0.join("t");
    std::fs::create_dir_all(&t).unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    // Files the examples name: three reports of one track, one message in the line's JSON form.
    let tracks: String = (0..3)
        .map(|i| {
            format!(
                "{{\"party\":\"coalition\",\"report\":{{\"track_id\":\"c1\",\"time_unix_ms\":{},\"lat_deg\":35.2,\"lon_deg\":39.3,\"alt_m\":3658,\"track_deg\":270,\"ground_speed_mps\":61.7}}}}\n",
                now_ms + i * 1000
            )
        })
        .collect();
    std::fs::write(t.join("tracks.jsonl"), tracks).unwrap();
    std::fs::write(
        t.join("message.json"),
        format!(
            r#"{{"id":"rx-file-1","from":"coalition","to":"russia","sent_at_ms":{now_ms},"subject":{{"kind":"general","id":"handover"}},"body":{{"type":"free_text","written_in":"en","text":"handover at 0600"}}}}"#
        ),
    )
    .unwrap();
    let mut fill = Fill {
        data: data.display().to_string(),
        scratch: t.display().to_string(),
        url: String::new(),
        log_key: String::new(),
        since: String::new(),
    };
    let mut server = None;
    for e in EXAMPLES {
        match e.run {
            Args { args, code, has } => {
                if args.contains("{SINCE}") {
                    fill.since = followed_size(&t);
                }
                let out = check(&fill, args, code, has);
                std::fs::write(t.join("last.out"), &out.stdout).unwrap();
                if e.readme == "deconflict demo" {
                    // The demo prints the log key to verify its record with.
                    let text = String::from_utf8_lossy(&out.stdout);
                    fill.log_key = text
                        .split("--log-key ")
                        .nth(1)
                        .and_then(|s| s.split_whitespace().next())
                        .expect("the demo prints --log-key")
                        .to_string();
                }
            }
            Serve => {
                let s = Server::start(&data);
                assert!(s.base.starts_with("http://127.0.0.1:"), "{}", s.base);
                fill.url = s.base.clone();
                server = Some(s);
            }
        }
    }
    if let Some(mut s) = server.take() {
        s.stop();
    }
}
