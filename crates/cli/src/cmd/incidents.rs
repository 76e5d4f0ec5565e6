//! `deconflict incidents file|account|assess|list|show`: incidents before the working group, on
//! a running service, with the party's signed client. The party signs the log entry of its
//! filing and of its account itself; a working-group member signs its assessment with its own
//! key (`--member-key`), sent by its party.

use std::path::PathBuf;
use std::process::ExitCode;

use deconflict_client::line_entry::sign_entry;
use deconflict_log::ExportLineKind;
use deconflict_service::datadir;
use deconflict_service::incidents::{
    AccountGiven, AccountIn, AssessmentGiven, FigureIn, FilingIn, IncidentAccount, IncidentAssess,
    IncidentFile, IncidentView, account_entry, assessment_entry, filing_entry,
};

use super::connect::ConnectArgs;
use super::line::{EXIT_CODES, Failure, TIME_HELP, TimeArg, finish, parse_time_arg};

#[derive(clap::Subcommand)]
pub enum Command {
    /// File an incident about a window: the service finds the aircraft pairs of the window and
    /// computes their closest approach from the recorded reports; the party's account is the
    /// first.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    File(FileArgs),
    /// Give the party's account of an incident it is a party to.
    #[command(after_help = EXIT_CODES)]
    Account(AccountArgs),
    /// A working-group member's assessment: risk category A-E, contributory factors, remarks.
    #[command(after_help = EXIT_CODES)]
    Assess(AssessArgs),
    /// The incidents the party is a party to, newest first.
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),
    /// One incident: the computed closest approach, the accounts side by side, the assessments.
    #[command(after_help = EXIT_CODES)]
    Show(ShowArgs),
}

/// A party's account, as flags.
#[derive(clap::Args)]
pub struct AccountFlags {
    /// What happened, in the party's words.
    #[arg(long, value_name = "TEXT")]
    account: String,
    /// ISO 639 code of the account's language.
    #[arg(long, default_value = "en")]
    language: String,
    /// What the aircraft saw: visual, radar, told or nothing.
    #[arg(long, default_value = "radar")]
    seen: String,
    /// What the aircraft did: none, turned, climbed, descended, speed or called_line.
    #[arg(long, default_value = "none")]
    action: String,
    /// The party's own figure of the horizontal closest approach, metres, when it disputes the
    /// computed one.
    #[arg(long, value_name = "M")]
    figure_horizontal_m: Option<u32>,
    /// Its own figure of the vertical separation then, metres.
    #[arg(long, value_name = "M", requires = "figure_horizontal_m")]
    figure_vertical_m: Option<u32>,
}

impl AccountFlags {
    fn to_wire(&self) -> AccountIn {
        AccountIn {
            language: self.language.clone(),
            text: self.account.clone(),
            seen: self.seen.clone(),
            action: self.action.clone(),
            figure: self.figure_horizontal_m.map(|h| FigureIn {
                horizontal_m: h,
                vertical_m: self.figure_vertical_m,
            }),
        }
    }
}

#[derive(clap::Args)]
pub struct FileArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The incident's id (default: PARTY-inc-<from, unix ms>).
    #[arg(long)]
    id: Option<String>,
    /// Start of the window.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    from: TimeArg,
    /// End of the window.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    to: TimeArg,
    /// The party's own aircraft (its track id), when it names one.
    #[arg(long, value_name = "TRACK")]
    own: Option<String>,
    /// The other party, when it names one.
    #[arg(long, value_name = "PARTY")]
    other_party: Option<String>,
    #[command(flatten)]
    account: AccountFlags,
    /// Print the incident as the API returns it.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct AccountArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The incident's id.
    id: String,
    #[command(flatten)]
    account: AccountFlags,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct AssessArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The incident's id.
    id: String,
    /// The working-group member's id, as the agreement names it under --party.
    #[arg(long)]
    member: String,
    /// The member's secret key file.
    #[arg(long, value_name = "FILE")]
    member_key: PathBuf,
    /// Risk category: A, B, C, D or E (as the UK Airprox Board uses them).
    #[arg(long)]
    category: String,
    /// A contributory factor by name (repeatable).
    #[arg(long = "factor", value_name = "FACTOR")]
    factors: Vec<String>,
    /// Free remarks.
    #[arg(long, default_value = "")]
    remarks: String,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The incident's id.
    id: String,
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    finish(match command {
        Command::File(a) => file(&a),
        Command::Account(a) => account(&a),
        Command::Assess(a) => assess(&a),
        Command::List(a) => list(&a),
        Command::Show(a) => show(&a),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    super::connect::runtime().map_err(Failure::Usage)
}

fn signature(
    entry: deconflict_log::Entry,
    key: &deconflict_log::SigningKey,
) -> Result<String, Failure> {
    sign_entry(entry, key).map_err(|e| Failure::usage("entry", e))
}

fn file(a: &FileArgs) -> Result<(), Failure> {
    let c = a.connect.client().map_err(Failure::Usage)?;
    let now = c.clock().now_ms();
    let from = a.from.resolve("--from", now)?.unix_ms();
    let to = a.to.resolve_end("--to", now)?.unix_ms();
    let filing = FilingIn {
        id: a
            .id
            .clone()
            .unwrap_or_else(|| format!("{}-inc-{from}", a.connect.party)),
        from_unix_ms: from,
        to_unix_ms: to,
        own_track: a.own.clone(),
        other_party: a.other_party.clone(),
        account: a.account.to_wire(),
        time_unix_ms: now,
    };
    let entry = filing_entry(c.party(), &filing).map_err(|e| Failure::usage("--id", e))?;
    let body = IncidentFile {
        entry_signature: signature(entry, c.signing_key())?,
        filing,
    };
    let v: IncidentView = runtime()?.block_on(c.call("POST", "/v1/incidents", Some(&body)))?;
    print_incident(&v, a.json)
}

fn account(a: &AccountArgs) -> Result<(), Failure> {
    let c = a.connect.client().map_err(Failure::Usage)?;
    let now = c.clock().now_ms();
    let given = AccountGiven {
        incident_id: a.id.clone(),
        account: a.account.to_wire(),
        time_unix_ms: now,
    };
    let entry = account_entry(c.party(), &given).map_err(|e| Failure::usage("--account", e))?;
    let body = IncidentAccount {
        entry_signature: signature(entry, c.signing_key())?,
        account: given.account,
        time_unix_ms: now,
    };
    let path = format!("/v1/incidents/{}/accounts", a.id);
    let v: IncidentView = runtime()?.block_on(c.call("POST", &path, Some(&body)))?;
    print_incident(&v, a.json)
}

fn assess(a: &AssessArgs) -> Result<(), Failure> {
    let c = a.connect.client().map_err(Failure::Usage)?;
    let secret =
        datadir::read_secret_key(&a.member_key).map_err(|e| Failure::usage("--member-key", e))?;
    let member_key = datadir::signing_key(&secret)
        .ok_or_else(|| Failure::usage("--member-key", "not an Ed25519 secret key"))?;
    let now = c.clock().now_ms();
    let given = AssessmentGiven {
        incident_id: a.id.clone(),
        member: a.member.clone(),
        category: a.category.clone(),
        factors: a.factors.clone(),
        remarks: a.remarks.clone(),
        time_unix_ms: now,
    };
    // Signed on behalf of the connecting party, whose member this must be.
    let entry = assessment_entry(c.party(), &given).map_err(|e| Failure::usage("--remarks", e))?;
    let body = IncidentAssess {
        entry_signature: signature(entry, &member_key)?,
        member: given.member,
        category: given.category,
        factors: given.factors,
        remarks: given.remarks,
        time_unix_ms: now,
    };
    let path = format!("/v1/incidents/{}/assessments", a.id);
    let v: IncidentView = runtime()?.block_on(c.call("POST", &path, Some(&body)))?;
    print_incident(&v, a.json)
}

fn list(a: &ListArgs) -> Result<(), Failure> {
    let c = a.connect.client().map_err(Failure::Usage)?;
    let all: Vec<IncidentView> =
        runtime()?.block_on(c.call::<(), _>("GET", "/v1/incidents", None))?;
    if a.json {
        return print_json(&all);
    }
    for v in &all {
        println!(
            "{:<24} {:<18} filed by {:<12} {}  {}",
            v.id,
            v.status,
            v.filed_by,
            super::line::format_time(v.filed_unix_ms, deconflict_line::UtcOffset::UTC),
            closest_text(v)
        );
    }
    if all.is_empty() {
        println!("no incidents");
    }
    Ok(())
}

fn show(a: &ShowArgs) -> Result<(), Failure> {
    let c = a.connect.client().map_err(Failure::Usage)?;
    let path = format!("/v1/incidents/{}", a.id);
    let v: IncidentView = runtime()?.block_on(c.call::<(), _>("GET", &path, None))?;
    print_incident(&v, a.json)
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    let text = serde_json::to_string(v).map_err(|e| Failure::Connection(e.to_string()))?;
    println!("{text}");
    Ok(())
}

fn closest_text(v: &IncidentView) -> String {
    match &v.closest_approach {
        Some(c) => format!(
            "closest approach: {:.0} m horizontal, {:.0} m vertical at {}",
            c.horizontal_m,
            c.vertical_m,
            super::line::format_time(c.time_unix_ms, deconflict_line::UtcOffset::UTC)
        ),
        None => "closest approach: not computed (the tracks' reports do not overlap)".into(),
    }
}

fn print_incident(v: &IncidentView, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(v);
    }
    let t = |ms| super::line::format_time(ms, deconflict_line::UtcOffset::UTC);
    println!("incident {}: {}", v.id, v.status);
    if let Some(c) = &v.category {
        println!("agreed risk category: {c}");
    }
    println!(
        "filed by {} at {}; window {} to {}; accounts due {}",
        v.filed_by,
        t(v.filed_unix_ms),
        t(v.from_unix_ms),
        t(v.to_unix_ms),
        t(v.accounts_due_unix_ms)
    );
    for p in &v.pairs {
        let c = match &p.closest_approach {
            Some(c) => format!(
                "{:.0} m horizontal, {:.0} m vertical at {} ({} ms from the nearest report)",
                c.horizontal_m,
                c.vertical_m,
                t(c.time_unix_ms),
                c.gap_ms
            ),
            None => "no overlapping reports".into(),
        };
        println!(
            "  pair {}/{} - {}/{}: {c}",
            p.a_party, p.a_track, p.b_party, p.b_track
        );
    }
    for r in &v.records {
        println!("  {} {} {} ({})", t(r.time_unix_ms), r.kind, r.id, r.label);
    }
    for a in &v.accounts {
        let figure = match &a.account.figure {
            Some(f) => format!(
                "; its figure {} m horizontal{}",
                f.horizontal_m,
                f.vertical_m
                    .map(|v| format!(", {v} m vertical"))
                    .unwrap_or_default()
            ),
            None => String::new(),
        };
        println!(
            "  account of {} at {}{} (saw: {}; did: {}{figure}) [{}]: {}",
            a.party,
            t(a.at_unix_ms),
            if a.late { ", late" } else { "" },
            a.account.seen,
            a.account.action,
            a.account.language,
            a.account.text
        );
    }
    for p in &v.waiting {
        let overdue = if v.overdue.contains(p) {
            " (overdue)"
        } else {
            ""
        };
        println!("  waiting for the account of {p}{overdue}");
    }
    for a in &v.views {
        println!(
            "  assessment of {} by {}: category {}{}{}",
            a.party,
            a.member,
            a.category,
            if a.factors.is_empty() {
                String::new()
            } else {
                format!("; factors {}", a.factors.join(", "))
            },
            if a.remarks.is_empty() {
                String::new()
            } else {
                format!("; {}", a.remarks)
            }
        );
    }
    println!("{}", closest_text(v));
    Ok(())
}

/// `deconflict evidence INCIDENT CONNECT --out FILE`.
#[derive(clap::Args)]
pub struct EvidenceArgs {
    /// The incident's id.
    id: String,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// An openings file (`--keep-openings`' format, as `log open` reads it): the sealed fields of
    /// the bundle's entries it opens are disclosed in the bundle, for `verify` to check and show.
    #[arg(long, value_name = "OPENINGS.jsonl")]
    disclose: Option<PathBuf>,
}

/// Writes the incident's evidence bundle.
pub fn evidence(a: EvidenceArgs) -> anyhow::Result<ExitCode> {
    finish(write_evidence(&a))
}

fn write_evidence(a: &EvidenceArgs) -> Result<(), Failure> {
    let c = a.connect.client().map_err(Failure::Usage)?;
    let path = format!("/v1/incidents/{}/evidence", a.id);
    let mut bundle: deconflict_service::evidence::Bundle =
        runtime()?.block_on(c.call::<(), _>("GET", &path, None))?;
    if let Some(file) = &a.disclose {
        let openings = super::open::read_openings(file)
            .map_err(|e| Failure::usage("--disclose", format!("{e:#}")))?;
        let n = bundle
            .disclose(&openings)
            .map_err(|e| Failure::usage("--disclose", e))?;
        println!(
            "{n} sealed field{} of the bundle's entries disclosed from {}",
            if n == 1 { "" } else { "s" },
            file.display()
        );
    }
    let bytes = serde_json::to_vec(&bundle).map_err(|e| Failure::Connection(e.to_string()))?;
    std::fs::write(&a.out, &bytes).map_err(|e| Failure::usage("--out", e))?;
    println!(
        "evidence of incident {} written to {}: {} entries, {} reports, {} bytes",
        a.id,
        a.out.display(),
        bundle.entries.len(),
        bundle.reports.len(),
        bytes.len()
    );
    Ok(())
}

/// Whether `path` holds an evidence bundle (rather than a log export): a JSON object that is
/// not an export's header and names the bundle format, wherever its keys put it (a bundle
/// written again by another JSON tool may order them differently).
pub(crate) fn is_bundle(path: &std::path::Path) -> bool {
    use std::io::Read as _;
    const MARK: &[u8] = br#""format":"deconflict-evidence/"#;
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut r =
        std::io::BufReader::new(f.take(deconflict_service::evidence::BUNDLE_BYTES_MAX as u64));
    let mut chunk = vec![0u8; 1 << 16];
    let mut tail: Vec<u8> = Vec::new();
    let mut first = true;
    loop {
        let Ok(n) = r.read(&mut chunk) else {
            return false;
        };
        if n == 0 {
            return false;
        }
        if first {
            let head = &chunk[..n];
            if !head.starts_with(b"{") || ExportLineKind::of(head) == Some(ExportLineKind::Header) {
                return false;
            }
            first = false;
        }
        tail.extend_from_slice(&chunk[..n]);
        if tail.windows(MARK.len()).any(|w| w == MARK) {
            return true;
        }
        let keep = tail.len().saturating_sub(MARK.len());
        tail.drain(..keep);
    }
}

/// `deconflict verify BUNDLE [--log-key HEX] [--agreement FILE]`: every proof and signature,
/// the incident folded again, each closest approach recomputed.
pub(crate) fn verify_bundle(
    file: &std::path::Path,
    agreement: Option<&std::path::Path>,
    log_key: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    use deconflict_service::evidence::{BUNDLE_BYTES_MAX, Pins, verify};
    let mut pins = Pins::default();
    if let Some(hex) = log_key {
        pins.log_key = Some(
            deconflict_log::PublicKey::from_hex(hex.trim())
                .map_err(|e| crate::failure::usage(format!("--log-key: {e}")))?
                .0,
        );
    }
    if let Some(path) = agreement {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        let a = deconflict_agreement::parse_toml(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        pins = Pins::from_agreement(&a, pins.log_key)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    let size = std::fs::metadata(file)
        .with_context(|| format!("{}", file.display()))?
        .len();
    if size > BUNDLE_BYTES_MAX as u64 {
        return Err(crate::failure::exit(
            crate::failure::EXIT_FAILURE,
            format!(
                "{}: {size} bytes, more than the {BUNDLE_BYTES_MAX} a bundle may have",
                file.display()
            ),
        ));
    }
    let bytes = std::fs::read(file).with_context(|| format!("{}", file.display()))?;
    let v = verify(&bytes, &pins).map_err(|e| {
        crate::failure::exit(
            crate::failure::EXIT_FAILURE,
            format!("{}: NOT verified: {e}", file.display()),
        )
    })?;
    if !v.log_key_pinned {
        eprintln!(
            "deconflict: warning: the log key was not pinned (--log-key): the tree head was checked against the bundle's own key"
        );
    }
    if !v.keys_pinned {
        eprintln!(
            "deconflict: warning: the authors' keys were not pinned (--agreement): their signatures were checked against the bundle's own keys"
        );
    }
    let t = |ms| super::line::format_time(ms, deconflict_line::UtcOffset::UTC);
    println!(
        "{}: OK — incident {} ({}): {} entries and {} reports proved against a tree head of size {}; every signature and proof checked, the incident folded again from its entries, the {} alerts and line messages of its window found among them",
        file.display(),
        v.incident.id,
        v.incident.status,
        v.entries,
        v.reports,
        v.tree_size,
        v.records
    );
    for (p, a) in v.incident.pairs.iter().zip(&v.approaches) {
        let figure = match a {
            Some(a) => format!(
                "{:.0} m horizontal, {:.0} m vertical at {} (recomputed from the reports)",
                a.horizontal_m,
                a.vertical_m,
                t(a.time_unix_ms)
            ),
            None => "no overlapping reports".into(),
        };
        println!(
            "  pair {}/{} - {}/{}: {figure}",
            p.a_party, p.a_track, p.b_party, p.b_track
        );
    }
    for a in &v.incident.accounts {
        if let Some(f) = &a.account.figure {
            println!(
                "  {}'s own figure: {} m horizontal",
                a.party, f.horizontal_m
            );
        }
    }
    for o in &v.opened {
        let value = match &o.value {
            deconflict_log::FieldValue::Int(i) => i.get().to_string(),
            deconflict_log::FieldValue::Text(t) => format!("{:?}", t.as_str()),
            deconflict_log::FieldValue::Commitment(c) => c.to_hex(),
        };
        println!(
            "  disclosed: entry {} ({} by {}) {} = {value}",
            o.entry, o.kind, o.author, o.field
        );
    }
    println!("{}", closest_text(&v.incident));
    Ok(ExitCode::SUCCESS)
}
