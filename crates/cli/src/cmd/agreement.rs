//! `deconflict agreement …`: write a template, check a file, sign it, show its status from a
//! directory of detached signatures; make a signed lifecycle statement offline; and, against a
//! running service, suspend, reactivate or terminate the agreement and show its signed history.
//! The rules live in `deconflict-agreement`; this module reads and writes files, talks to the
//! service through the party's signed client, and prints.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use deconflict_agreement::lifecycle::{
    Action, Event, History, RECORD_JSON_BYTES_MAX, SignedStatement, Statement,
};
use deconflict_client::ClientError;
use deconflict_client::wire::AgreementView;

use crate::cmd::connect::{ConnectArgs, runtime};
use deconflict_agreement::parse::AGREEMENT_BYTES_MAX;
use deconflict_agreement::signature::SIGNATURE_FILE_BYTES_MAX;
use deconflict_agreement::{Agreement, AgreementSignature, SecretKey, TEMPLATE_TOML, parse_toml};

/// Largest secret key file read, in bytes (the format is one 91-byte line).
const SECRET_KEY_FILE_BYTES_MAX: usize = 1024;
/// Most signature files read from one directory.
const SIGNATURE_FILES_MAX: usize = 1024;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write the documented example agreement (two parties, a dividing line, a zone).
    Init {
        /// Where to write it; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Validate an agreement file and print its id and summary.
    Check {
        /// The agreement file (TOML).
        file: PathBuf,
    },
    /// Print the canonical bytes (RFC 8785 JSON) that parties sign.
    Canonical {
        /// The agreement file (TOML).
        file: PathBuf,
    },
    /// Sign an agreement with a party's secret key; writes a detached signature file.
    Sign {
        /// The party's secret key file (`deconflict-ed25519-secret:<hex>`).
        #[arg(long)]
        key: PathBuf,
        /// Where to write the signature; default `<FILE>.<party>.sig` beside the agreement.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The agreement file (TOML).
        file: PathBuf,
    },
    /// Make a signed lifecycle statement offline (e.g. on an air-gapped machine) and print it
    /// as JSON; submit it later with `suspend|reactivate|terminate --statement FILE`.
    Statement(StatementArgs),
    /// Show who has signed and the status: from a directory of signature files (offline), or
    /// from a running service (`--service URL --party ID --key FILE`: the signed history,
    /// pending reactivation signatures, and the parties' reachability, separately).
    Status(StatusArgs),
    /// Suspend the agreement (any one party, with a reason) on a running service.
    Suspend {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        why: ReasonArgs,
    },
    /// Sign a reactivation on a running service; in force again once every party has signed
    /// the same conditions on the same basis.
    Reactivate {
        #[command(flatten)]
        connect: ConnectArgs,
        /// Conditions attached to the reactivation (every party must sign the same text).
        #[arg(long)]
        conditions: Option<String>,
        /// Submit this statement (signed offline) instead of signing one now.
        #[arg(long, value_name = "FILE", conflicts_with = "conditions")]
        statement: Option<PathBuf>,
    },
    /// Terminate the agreement (any one party, with a reason; final) on a running service.
    Terminate {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        why: ReasonArgs,
    },
}

// The reason of a suspension or a termination, or the statement signed offline instead. (A
// plain comment: a flattened struct's doc comment would replace the subcommand's description.)
#[derive(clap::Args)]
pub struct ReasonArgs {
    /// Why (required unless --statement).
    #[arg(long, required_unless_present = "statement")]
    reason: Option<String>,
    /// Submit this statement (signed offline) instead of signing one now.
    #[arg(long, value_name = "FILE", conflicts_with = "reason")]
    statement: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct StatementArgs {
    /// The party's secret key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The agreement file (TOML).
    #[arg(long, value_name = "FILE")]
    agreement: PathBuf,
    /// The basis: `basis_seq` as `deconflict agreement status --service …` shows it (the event
    /// that entered the current status; 0 for a draft).
    #[arg(long = "basis-seq", value_name = "N")]
    basis_seq: u64,
    /// Where to write the JSON; standard output when absent.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(subcommand)]
    action: ActionArg,
}

#[derive(clap::Subcommand)]
enum ActionArg {
    /// Suspend (any one party).
    Suspend {
        #[arg(long)]
        reason: String,
    },
    /// Sign a reactivation (every party must sign the same conditions).
    Reactivate {
        #[arg(long, default_value = "")]
        conditions: String,
    },
    /// Terminate (final).
    Terminate {
        #[arg(long)]
        reason: String,
    },
}

impl ActionArg {
    fn action(self) -> Action {
        match self {
            ActionArg::Suspend { reason } => Action::Suspend { reason },
            ActionArg::Reactivate { conditions } => Action::Reactivate { conditions },
            ActionArg::Terminate { reason } => Action::Terminate { reason },
        }
    }
}

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The agreement file (TOML), with --signatures.
    #[arg(
        required_unless_present = "service",
        requires = "signatures",
        conflicts_with = "service"
    )]
    file: Option<PathBuf>,
    /// Directory of detached signature files (`*.sig`).
    #[arg(long, value_name = "DIR", requires = "file")]
    signatures: Option<PathBuf>,
    /// The service's base URL, e.g. http://127.0.0.1:8080 (with --party and --key).
    #[arg(long, value_name = "URL", requires_all = ["party", "key"])]
    service: Option<String>,
    /// The calling party's id, as in the agreement.
    #[arg(long, requires = "service")]
    party: Option<String>,
    /// The party's secret key file.
    #[arg(long, value_name = "FILE", requires = "service")]
    key: Option<PathBuf>,
    /// For an https:// service: trust only the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE", requires = "service")]
    ca_cert: Option<PathBuf>,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init { out, force } => init(out, force),
        Command::Check { file } => check(&file),
        Command::Canonical { file } => {
            let a = load(&file)?;
            use std::io::Write;
            crate::stdio::stdout().write_all(a.canonical_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sign { key, out, file } => sign(&key, out, &file),
        Command::Status(a) => match (a.file, a.signatures, a.service, a.party, a.key) {
            (Some(file), Some(dir), None, None, None) => status(&file, &dir),
            (None, None, Some(service), Some(party), Some(key)) => {
                online_status(&connect_args(service, party, key, a.ca_cert))
            }
            _ => bail!(
                "give either FILE --signatures DIR (offline) or --service URL --party ID --key FILE"
            ),
        },
        Command::Statement(a) => statement(a),
        Command::Suspend { connect, why } => act(
            &connect,
            "suspend",
            why.reason.map(|reason| Action::Suspend { reason }),
            why.statement,
        ),
        Command::Reactivate {
            connect,
            conditions,
            statement,
        } => act(
            &connect,
            "reactivate",
            Some(Action::Reactivate {
                conditions: conditions.unwrap_or_default(),
            }),
            statement,
        ),
        Command::Terminate { connect, why } => act(
            &connect,
            "terminate",
            why.reason.map(|reason| Action::Terminate { reason }),
            why.statement,
        ),
    }
}

/// Reads at most `bytes_max` bytes of UTF-8 text; larger files are an error, not truncated.
fn read_bounded(path: &Path, bytes_max: usize) -> anyhow::Result<String> {
    let f = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut buf = Vec::new();
    f.take(bytes_max as u64 + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if buf.len() > bytes_max {
        bail!("{}: larger than {bytes_max} bytes", path.display());
    }
    String::from_utf8(buf).with_context(|| format!("{}: not UTF-8 text", path.display()))
}

fn load(path: &Path) -> anyhow::Result<Agreement> {
    let text = read_bounded(path, AGREEMENT_BYTES_MAX)?;
    parse_toml(&text).with_context(|| format!("{}", path.display()))
}

fn init(out: Option<PathBuf>, force: bool) -> anyhow::Result<ExitCode> {
    match out {
        None => print!("{TEMPLATE_TOML}"),
        Some(path) => {
            if path.exists() && !force {
                bail!("{} exists; use --force to overwrite", path.display());
            }
            fs::write(&path, TEMPLATE_TOML)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let a = load(path)?;
    let s = a.separation();
    println!("agreement  {}", a.id());
    println!("title      {}", a.title());
    println!("revision   {}", a.revision());
    if let Some(prev) = a.supersedes() {
        println!("supersedes {prev}");
    }
    println!(
        "minima     horizontal {} m, vertical {} m, lookahead {} s{}",
        s.horizontal_m(),
        s.vertical_m(),
        s.lookahead_s(),
        match (s.alerter(), s.alerter_conf()) {
            (Some(a), _) => format!(", alerter {a}"),
            (None, Some(text)) => format!(
                ", alerter written into the agreement ({} lines of .conf)",
                text.lines().count()
            ),
            (None, None) => String::new(),
        }
    );
    for p in a.parties() {
        println!(
            "party      {} ({}, {}) {} — {} contact(s)",
            p.id(),
            p.name(),
            p.language(),
            p.public_key(),
            p.contacts().len()
        );
    }
    println!(
        "lines      {} dividing line(s), {} zone(s), {} frequency(ies)",
        a.dividing_lines().len(),
        a.zones().len(),
        a.frequencies().len()
    );
    Ok(ExitCode::SUCCESS)
}

fn sign(key_path: &Path, out: Option<PathBuf>, path: &Path) -> anyhow::Result<ExitCode> {
    let a = load(path)?;
    let key = read_key(key_path)?;
    let sig = AgreementSignature::sign_as_key_holder(&a, &key)?;
    let out = out.unwrap_or_else(|| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{}.sig", sig.party()));
        PathBuf::from(name)
    });
    fs::write(&out, sig.to_file_text())
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("{} signed {} → {}", sig.party(), a.id(), out.display());
    Ok(ExitCode::SUCCESS)
}

fn read_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text = read_bounded(path, SECRET_KEY_FILE_BYTES_MAX)?;
    SecretKey::from_file_text(&text)
        .with_context(|| format!("{}: not a secret key file", path.display()))
}

fn statement(args: StatementArgs) -> anyhow::Result<ExitCode> {
    let a = load(&args.agreement)?;
    let key = read_key(&args.key)?;
    let party = a.party_by_key(&key.public_key()).with_context(|| {
        format!(
            "no party of {} has the key in {}",
            a.id(),
            args.key.display()
        )
    })?;
    let signed = Statement::new(
        a.id(),
        party.id().clone(),
        args.basis_seq,
        args.action.action(),
    )?
    .sign(&key);
    let json = format!("{}\n", signed.to_value());
    match args.out {
        None => print!("{json}"),
        Some(p) => {
            fs::write(&p, json).with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a refusal by the service reads like: status, code, field, message.
fn refused(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Status { status, body } => anyhow::anyhow!(
            "the service refused it: {status} {}{}: {}",
            body.code,
            body.field
                .map(|f| format!(" (field {f})"))
                .unwrap_or_default(),
            body.message
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

/// Suspend, reactivate or terminate on a running service: signs the statement on the basis the
/// service shows now (or reads one signed offline), signs its log entry, submits both.
fn act(
    connect: &ConnectArgs,
    name: &str,
    action: Option<Action>,
    statement_file: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let client = connect.client()?;
    let view = runtime()?.block_on(async {
        match statement_file {
            Some(path) => {
                let text = read_bounded(&path, RECORD_JSON_BYTES_MAX)?;
                let signed = SignedStatement::from_json(text.trim_end().as_bytes())
                    .with_context(|| format!("{}", path.display()))?;
                let found = signed.statement().action().name();
                if found != name {
                    bail!(
                        "{}: the statement is a {found}, not a {name}",
                        path.display()
                    );
                }
                client.submit_statement(&signed).await.map_err(refused)
            }
            None => {
                let action = action.context("--reason is required")?;
                client.agreement_action(action).await.map_err(refused)
            }
        }
    })?;
    print_view(&view);
    Ok(ExitCode::SUCCESS)
}

/// The shared connection flags from `status`'s own optional ones.
#[allow(
    clippy::needless_update,
    reason = "flags added to ConnectArgs later keep their defaults here"
)]
fn connect_args(
    service: String,
    party: String,
    key: PathBuf,
    ca_cert: Option<PathBuf>,
) -> ConnectArgs {
    ConnectArgs {
        service,
        party,
        key,
        ca_cert,
        ..Default::default()
    }
}

fn online_status(connect: &ConnectArgs) -> anyhow::Result<ExitCode> {
    let client = connect.client()?;
    let view = runtime()?.block_on(async { client.agreement().await.map_err(refused) })?;
    print_view(&view);
    Ok(ExitCode::SUCCESS)
}

fn print_view(v: &AgreementView) {
    println!("agreement {} — {}", v.id, v.title);
    println!(
        "status    {} (basis_seq {}, {} events, version {})",
        v.status, v.basis_seq, v.head_seq, v.version
    );
    if let Some(s) = &v.suspension {
        println!("suspended by {} at event {}: {}", s.by, s.seq, s.reason);
    }
    if let Some(r) = &v.reactivation {
        println!(
            "reactivation pending (basis_seq {}): conditions {:?}; signed by {}; waiting for {}",
            r.basis_seq,
            r.conditions,
            r.signed_by.join(", "),
            r.waiting_for.join(", ")
        );
    }
    if let Some(c) = &v.conditions {
        println!("conditions {c}");
    }
    if let Some(t) = &v.termination {
        println!("terminated by {} at event {}: {}", t.by, t.seq, t.reason);
    }
    println!("history (signed by each party; at = service time, unix ms)");
    if v.history_omitted > 0 {
        println!("  … {} earlier events", v.history_omitted);
    }
    for i in &v.history {
        let mut line = format!(
            "  #{:<3} at {} {:<12} {:<10}",
            i.seq, i.at_unix_ms, i.party, i.kind
        );
        if let Some(b) = i.basis_seq {
            line.push_str(&format!(" basis {b}"));
        }
        if let Some(r) = &i.reason {
            line.push_str(&format!(" reason {r:?}"));
        }
        if let Some(c) = &i.conditions {
            line.push_str(&format!(" conditions {c:?}"));
        }
        println!("{line} → {}", i.status);
    }
    println!("reachability (measured; separate from the status)");
    for p in &v.reachability.line {
        let tests = v
            .reachability
            .link_tests
            .iter()
            .find(|t| t.party == p.party)
            .map(|t| {
                format!(
                    "; link tests {} in time, {} late, {} missed, {} pending",
                    t.in_time, t.late, t.missed, t.pending
                )
            })
            .unwrap_or_default();
        println!(
            "  {:<12} {}{}{}",
            p.party,
            if p.reachable {
                "reachable"
            } else {
                "not heard recently"
            },
            p.last_heard_unix_ms
                .map(|t| format!(", last heard at {t}"))
                .unwrap_or_default(),
            tests
        );
    }
}

fn status(path: &Path, dir: &Path) -> anyhow::Result<ExitCode> {
    let a = load(path)?;
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sig"))
        .collect();
    files.sort();
    if files.len() > SIGNATURE_FILES_MAX {
        bail!(
            "{}: more than {SIGNATURE_FILES_MAX} signature files",
            dir.display()
        );
    }
    let mut history = History::new(a.clone());
    let mut by_party: BTreeMap<String, String> = BTreeMap::new();
    let mut failures = 0usize;
    for f in &files {
        let outcome = read_bounded(f, SIGNATURE_FILE_BYTES_MAX).and_then(|t| {
            let sig = AgreementSignature::from_file_text(&t)?;
            if sig.agreement() != a.id() {
                // Another version's signature: not an error, just not for this one.
                return Ok(format!("for another version ({})", sig.agreement()));
            }
            let party = sig.party().to_string();
            // Time plays no part in signing; 0 keeps the fold deterministic.
            history.apply(Event::Sign(sig), 0)?;
            by_party.insert(party.clone(), f.display().to_string());
            Ok(format!("valid signature by {party}"))
        });
        match outcome {
            Ok(what) => println!("{}: {what}", f.display()),
            Err(e) => {
                failures += 1;
                println!("{}: REJECTED: {e:#}", f.display());
            }
        }
    }
    let state = history.state();
    println!("agreement {}", a.id());
    for p in a.parties() {
        match by_party.get(p.id().as_str()) {
            Some(_) => println!("  {:<24} signed", p.id()),
            None => println!("  {:<24} NOT SIGNED", p.id()),
        }
    }
    println!("status    {}", state.status());
    if failures > 0 {
        anyhow::bail!("{failures} signature file(s) rejected");
    }
    Ok(ExitCode::SUCCESS)
}
