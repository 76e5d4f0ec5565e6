//! Offline: render stored messages in a reader's language, the catalogue, the canonical form,
//! the scripted simulation.

use super::*;

#[derive(clap::Args)]
pub struct ReaderArgs {
    /// Reader's language (a `locales/<code>.ftl` of the line crate: en, ru).
    #[arg(long, default_value = "en")]
    pub(super) lang: String,
    /// Reader's local time as a fixed offset from UTC, e.g. +03:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true)]
    pub(super) utc_offset: String,
    /// Coordinate style: decimal (35.333611° N) or dms (35°20′01.0″ N).
    #[arg(long, value_enum, default_value_t = Coords::Decimal)]
    pub(super) coords: Coords,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(super) enum Coords {
    Decimal,
    Dms,
}

impl Coords {
    pub(super) fn wire(self) -> &'static str {
        match self {
            Coords::Decimal => "decimal",
            Coords::Dms => "dms",
        }
    }
}

impl ReaderArgs {
    pub(super) fn profile(&self) -> anyhow::Result<ReaderProfile> {
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
    pub(super) reader: ReaderArgs,
    /// A message or conversation file (JSON).
    pub(super) file: PathBuf,
}

#[derive(clap::Args)]
pub struct CatalogueArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(clap::Args)]
pub struct CanonicalArgs {
    /// A message file (JSON).
    pub(super) file: PathBuf,
}

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Print in one language only (default: every language).
    #[arg(long)]
    pub(super) lang: Option<String>,
    /// Reader's local time offset when --lang is given (default UTC, as everywhere else).
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true)]
    pub(super) utc_offset: String,
    /// Coordinate style when --lang is given.
    #[arg(long, value_enum, default_value_t = Coords::Decimal)]
    pub(super) coords: Coords,
}

pub(super) fn read_document(path: &PathBuf) -> anyhow::Result<Document> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_document(&bytes).with_context(|| format!("{}", path.display()))
}

pub(super) fn render(a: RenderArgs) -> anyhow::Result<ExitCode> {
    let reader = a.reader.profile()?;
    let text = match read_document(&a.file)? {
        Document::Message(m) => render_message(&reader, &m),
        Document::Conversation(list) => render_conversation(&reader, &list),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn catalogue(a: CatalogueArgs) -> anyhow::Result<ExitCode> {
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

pub(super) fn canonical(a: CanonicalArgs) -> anyhow::Result<ExitCode> {
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

pub(super) fn simulate(a: SimulateArgs) -> anyhow::Result<ExitCode> {
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
