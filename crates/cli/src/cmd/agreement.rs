//! `deconflict agreement …`: write a template, check a file, sign it, and show its status from
//! a directory of detached signatures. The rules live in `deconflict-agreement`; this module
//! reads and writes files and prints.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use deconflict_agreement::lifecycle::{Action, Event, History, Statement};
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
    /// Make a signed lifecycle statement (suspend, reactivate, terminate) as JSON, to submit to
    /// the service. `--basis` is the sequence number of the event that entered the current
    /// status (the service shows it as `basis_seq`; 0 for a draft).
    Statement {
        /// The party's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// Sequence number of the event the current status was entered at.
        #[arg(long)]
        basis: u64,
        /// `suspend`, `reactivate` or `terminate`.
        #[arg(long, value_parser = ["suspend", "reactivate", "terminate"])]
        action: String,
        /// The reason (required to suspend or terminate).
        #[arg(long)]
        reason: Option<String>,
        /// Conditions of a reactivation (every party must sign the same text).
        #[arg(long, default_value = "")]
        conditions: String,
        /// Where to write the JSON; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The agreement file (TOML).
        file: PathBuf,
    },
    /// Show who has signed and whether the agreement is in force.
    Status {
        /// The agreement file (TOML).
        file: PathBuf,
        /// Directory of detached signature files (`*.sig`).
        #[arg(long)]
        signatures: PathBuf,
    },
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init { out, force } => init(out, force),
        Command::Check { file } => check(&file),
        Command::Canonical { file } => {
            let a = load(&file)?;
            use std::io::Write;
            std::io::stdout().write_all(a.canonical_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sign { key, out, file } => sign(&key, out, &file),
        Command::Status { file, signatures } => status(&file, &signatures),
        Command::Statement {
            key,
            basis,
            action,
            reason,
            conditions,
            out,
            file,
        } => statement(&key, basis, &action, reason, conditions, out, &file),
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
        s.alerter()
            .map(|a| format!(", alerter {a}"))
            .unwrap_or_default()
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

fn statement(
    key_path: &Path,
    basis: u64,
    action: &str,
    reason: Option<String>,
    conditions: String,
    out: Option<PathBuf>,
    path: &Path,
) -> anyhow::Result<ExitCode> {
    let a = load(path)?;
    let key = read_key(key_path)?;
    let party = a.party_by_key(&key.public_key()).with_context(|| {
        format!(
            "no party of {} has the key in {}",
            a.id(),
            key_path.display()
        )
    })?;
    let need_reason = || {
        reason
            .clone()
            .context("--reason is required for this action")
    };
    let action = match action {
        "suspend" => Action::Suspend {
            reason: need_reason()?,
        },
        "terminate" => Action::Terminate {
            reason: need_reason()?,
        },
        _ => Action::Reactivate { conditions },
    };
    let signed = Statement::new(a.id(), party.id().clone(), basis, action)?.sign(&key);
    let json = format!("{}\n", signed.to_value());
    match out {
        None => print!("{json}"),
        Some(p) => {
            fs::write(&p, json).with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
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
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
