//! `deconflict line …`: the deconfliction line offline — render stored messages and
//! conversations in a reader's language, list the message catalogue, check a message's
//! canonical form, and run the scripted simulation.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use deconflict_line::lang::{CoordFormat, Language, ReaderProfile};
use deconflict_line::message::{Document, MessageKind, parse_document};
use deconflict_line::render::{render_conversation, render_message};
use deconflict_line::units::UtcOffset;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Render a stored message (JSON object) or conversation (JSON array) in a language.
    Render(RenderArgs),
    /// List the message types and their fields.
    Catalogue(CatalogueArgs),
    /// Check a message file and print its canonical JSON (RFC 8785): the bytes that are signed.
    Canonical(CanonicalArgs),
    /// Run the scripted day on the line (link tests, an alert conversation, a late
    /// acknowledgement that escalates) and print it in every language, or in one.
    Simulate(SimulateArgs),
}

#[derive(clap::Args)]
pub struct ReaderArgs {
    /// Reader's language (a `locales/<code>.ftl` of the line crate: en, ru).
    #[arg(long, default_value = "en")]
    lang: String,
    /// Reader's local time as a fixed offset from UTC, e.g. +03:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true)]
    utc_offset: String,
    /// Coordinate style: decimal (35.333611° N) or dms (35°20′01.0″ N).
    #[arg(long, value_enum, default_value_t = Coords::Decimal)]
    coords: Coords,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Coords {
    Decimal,
    Dms,
}

impl ReaderArgs {
    fn profile(&self) -> anyhow::Result<ReaderProfile> {
        let lang = Language::parse(&self.lang).context("--lang")?;
        let offset = UtcOffset::parse(&self.utc_offset).context("--utc-offset")?;
        let coords = match self.coords {
            Coords::Decimal => CoordFormat::Decimal,
            Coords::Dms => CoordFormat::Dms,
        };
        Ok(ReaderProfile::new(lang, offset, coords))
    }
}

#[derive(clap::Args)]
pub struct RenderArgs {
    #[command(flatten)]
    reader: ReaderArgs,
    /// A message or conversation file (JSON).
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct CatalogueArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct CanonicalArgs {
    /// A message file (JSON).
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Print in one language only (default: every language).
    #[arg(long)]
    lang: Option<String>,
    /// Reader's local time offset when --lang is given.
    #[arg(long, default_value = "+03:00", allow_hyphen_values = true)]
    utc_offset: String,
    /// Coordinate style when --lang is given.
    #[arg(long, value_enum, default_value_t = Coords::Decimal)]
    coords: Coords,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Render(a) => render(a),
        Command::Catalogue(a) => catalogue(a),
        Command::Canonical(a) => canonical(a),
        Command::Simulate(a) => simulate(a),
    }
}

fn read_document(path: &PathBuf) -> anyhow::Result<Document> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_document(&bytes).with_context(|| format!("{}", path.display()))
}

fn render(a: RenderArgs) -> anyhow::Result<ExitCode> {
    let reader = a.reader.profile()?;
    let text = match read_document(&a.file)? {
        Document::Message(m) => render_message(&reader, &m),
        Document::Conversation(list) => render_conversation(&reader, &list),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn catalogue(a: CatalogueArgs) -> anyhow::Result<ExitCode> {
    if a.json {
        println!("{}", deconflict_line::message::catalogue_json());
    } else {
        println!("Every message: id, from, to, sent_at_ms, subject {{kind, id}}, body {{type, …}}");
        for k in MessageKind::ALL {
            println!("\n{}", k.tag());
            for (f, d) in k.fields() {
                println!("  {f:<22} {d}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn canonical(a: CanonicalArgs) -> anyhow::Result<ExitCode> {
    match read_document(&a.file)? {
        Document::Message(m) => {
            println!("{}", String::from_utf8(m.canonical_json())?);
            Ok(ExitCode::SUCCESS)
        }
        Document::Conversation(_) => {
            anyhow::bail!(
                "{}: a conversation; canonical form is per message",
                a.file.display()
            )
        }
    }
}

fn simulate(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let story = deconflict_line::story::run();
    match a.lang {
        None => print!("{}", story.render_all()),
        Some(lang) => {
            let reader = ReaderArgs {
                lang,
                utc_offset: a.utc_offset,
                coords: a.coords,
            }
            .profile()?;
            print!("{}", story.render(&reader));
        }
    }
    Ok(ExitCode::SUCCESS)
}
