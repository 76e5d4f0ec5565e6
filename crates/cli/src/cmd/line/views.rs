//! What a duty officer reads and does at the service: pending, ack, show, conversations,
//! reachability.

use super::*;

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct PendingArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// Print the service's answer as JSON ({"to_acknowledge", "awaiting_others", "overdue"},
    /// each a list of line message views) instead of text.
    #[arg(long)]
    pub(super) json: bool,
    /// Show times at this offset from UTC, e.g. +03:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true, value_parser = parse_offset, value_name = "±HH:MM")]
    pub(super) utc_offset: UtcOffset,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct AckArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// The message acknowledged (addressed to my party).
    #[arg(value_name = "ID", value_parser = parse_message_id)]
    pub(super) id: MessageId,
    /// The duty officer acknowledging, exactly as on my party's roster.
    #[arg(long, value_name = "NAME", value_parser = parse_officer)]
    pub(super) officer: OfficerName,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ShowArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// The subject's kind: alert, notification, incident, link_test or general.
    #[arg(value_name = "KIND", value_parser = parse_subject_kind)]
    pub(super) kind: SubjectKind,
    /// The subject's id (an alert, notification or incident id; a link test's id).
    #[arg(value_name = "ID", value_parser = parse_subject_id)]
    pub(super) id: SubjectId,
    /// The reader's language (en, ru); default: my party's language in the agreement.
    #[arg(long, value_parser = parse_language)]
    pub(super) lang: Option<Language>,
    /// The reader's local time as a fixed offset from UTC, e.g. +03:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true, value_parser = parse_offset, value_name = "±HH:MM")]
    pub(super) utc_offset: UtcOffset,
    /// Coordinate style: decimal (35.333611° N) or dms (35°20′01.0″ N).
    #[arg(long, value_enum, default_value_t = Coords::Decimal)]
    pub(super) coords: Coords,
    /// Print the service's answer as JSON (subject, language, the messages with where each
    /// stands, and the rendered text) instead of the text alone.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ListArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// Print the service's answer as JSON instead of a table.
    #[arg(long)]
    pub(super) json: bool,
    /// Show times at this offset from UTC, e.g. +03:00.
    #[arg(long, default_value = "+00:00", allow_hyphen_values = true, value_parser = parse_offset, value_name = "±HH:MM")]
    pub(super) utc_offset: UtcOffset,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ReachabilityArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// Print the service's answer as JSON instead of a table.
    #[arg(long)]
    pub(super) json: bool,
}

pub(super) fn parse_offset(s: &str) -> Result<UtcOffset, String> {
    UtcOffset::parse(s).map_err(|e| e.to_string())
}
pub(super) fn parse_language(s: &str) -> Result<Language, String> {
    Language::parse(s).map_err(|e| e.to_string())
}

pub(super) fn pending(a: PendingArgs) -> Result<(), Failure> {
    if a.json {
        return print_raw_json(&a.connect, "/v1/line/pending".into());
    }
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let p = client.line_pending().await?;
        print!("{}", pending_text(&p, now_ms(), a.utc_offset));
        Ok(())
    })
}

/// The three lists an officer works from, each message with its deadline and time left.
pub(super) fn pending_text(
    p: &deconflict_service::line::LinePending,
    now_ms: i64,
    offset: UtcOffset,
) -> String {
    let mut out = String::new();
    let sections = [
        ("To acknowledge (addressed to us)", &p.to_acknowledge),
        (
            "Awaiting the other party's acknowledgement",
            &p.awaiting_others,
        ),
        ("Overdue (either side)", &p.overdue),
    ];
    for (title, list) in sections {
        out.push_str(&format!("{title}: {}\n", list.len()));
        for v in list {
            out.push_str(&view_text(v, now_ms, offset));
        }
    }
    out
}

/// One message and where it stands, two or three lines.
pub(super) fn view_text(
    v: &deconflict_service::line::LineMessageView,
    now_ms: i64,
    o: UtcOffset,
) -> String {
    let s = v.message.subject();
    let mut out = format!(
        "  {}  {} from {} to {}, subject {}:{}\n    sent {}",
        v.message.id(),
        v.kind,
        v.from,
        v.to,
        s.kind.tag(),
        s.id,
        format_time(v.sent_unix_ms, o)
    );
    match (&v.acknowledged, v.overdue_unix_ms, v.deadline_unix_ms) {
        (Some(a), _, _) => out.push_str(&format!(
            "; acknowledged by {} at {}{}",
            a.officer,
            format_time(a.at_unix_ms, o),
            if a.late { " (late)" } else { " (in time)" }
        )),
        (None, Some(since), _) => out.push_str(&format!(
            "; OVERDUE since {}, {} ago",
            format_time(since, o),
            format_span(now_ms - since)
        )),
        (None, None, Some(d)) if d > now_ms => out.push_str(&format!(
            "; deadline {}, {} left",
            format_time(d, o),
            format_span(d - now_ms)
        )),
        (None, None, Some(d)) => out.push_str(&format!(
            "; deadline {}, passed {} ago",
            format_time(d, o),
            format_span(now_ms - d)
        )),
        (None, None, None) => out.push_str("; no acknowledgement required"),
    }
    out.push('\n');
    if v.acknowledged.is_none()
        && let Some(h) = &v.holder
    {
        out.push_str(&format!("    with {h} (escalation level {})", v.level));
        if let Some(d) = v.holder_deadline_unix_ms {
            if d > now_ms {
                out.push_str(&format!(
                    ", to acknowledge by {} ({} left)",
                    format_time(d, o),
                    format_span(d - now_ms)
                ));
            } else {
                out.push_str(&format!(
                    ", whose deadline {} passed {} ago",
                    format_time(d, o),
                    format_span(now_ms - d)
                ));
            }
        }
        for e in &v.escalations {
            out.push_str(&format!(
                "; escalated to {} at {}",
                e.to,
                format_time(e.at_unix_ms, o)
            ));
        }
        out.push('\n');
    }
    out
}

pub(super) fn ack(a: AckArgs) -> Result<(), Failure> {
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let r = client.line_ack(a.id.as_str(), a.officer.as_str()).await?;
        print!("{}", ack_text(&r, a.officer.as_str()));
        Ok(())
    })
}

pub(super) fn ack_text(r: &deconflict_service::line::LineAckResult, officer: &str) -> String {
    let when = format_time(r.acknowledged_unix_ms, UtcOffset::UTC);
    let timing = if r.late {
        format!(
            "late, after {} escalation{}",
            r.escalations,
            if r.escalations == 1 { "" } else { "s" }
        )
    } else {
        "in time".to_string()
    };
    if r.duplicate {
        format!(
            "{} was already acknowledged by {officer} at {when} ({timing}): a repeat, counted once\n",
            r.message_id
        )
    } else {
        format!(
            "acknowledged {} as {officer} at {when} ({timing})\n",
            r.message_id
        )
    }
}

pub(super) fn show(a: ShowArgs) -> Result<(), Failure> {
    let kind = a.kind.tag();
    let offset = a.utc_offset.to_string();
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let lang = match a.lang {
            Some(l) => l.code().to_string(),
            None => party_language(&client).await?,
        };
        if a.json {
            let path = format!(
                "/v1/line/conversations/{}/{}?lang={}&utc_offset={}&coords={}",
                encode(kind),
                encode(a.id.as_str()),
                encode(&lang),
                encode(&offset),
                a.coords.wire()
            );
            return print_raw_json_with(&client, &path).await;
        }
        let v = client
            .line_conversation(kind, a.id.as_str(), &lang, &offset, a.coords.wire())
            .await?;
        print!("{}", conversation_text(&v, now_ms(), a.utc_offset));
        Ok(())
    })
}

/// A conversation as `show` prints it: the rendered text, then where each message stands
/// (acknowledged in time or late, overdue, with whom after escalations), as `pending` says it.
pub(super) fn conversation_text(
    v: &deconflict_service::line::ConversationView,
    now_ms: i64,
    o: UtcOffset,
) -> String {
    let mut out = v.text.clone();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if !v.messages.is_empty() {
        out.push_str("\nWhere each message stands\n");
        for m in &v.messages {
            out.push_str(&view_text(m, now_ms, o));
        }
    }
    out
}

/// The calling party's language, as the agreement names it.
async fn party_language(client: &deconflict_client::PartyClient) -> Result<String, Failure> {
    let view: deconflict_client::wire::AgreementView =
        client.call::<(), _>("GET", "/v1/agreement", None).await?;
    view.parties
        .into_iter()
        .find(|p| p.id == client.party())
        .map(|p| p.language)
        .ok_or_else(|| {
            Failure::Connection(format!(
                "the agreement lists no party {}; give --lang",
                client.party()
            ))
        })
}

pub(super) fn conversations(a: ListArgs) -> Result<(), Failure> {
    if a.json {
        return print_raw_json(&a.connect, "/v1/line/conversations".into());
    }
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let list = client.line_conversations().await?;
        println!(
            "{:<13} {:<40} {:>8}  last message",
            "kind", "id", "messages"
        );
        for c in &list {
            println!(
                "{:<13} {:<40} {:>8}  {}",
                c.subject_kind,
                c.subject_id,
                c.messages,
                format_time(c.last_unix_ms, a.utc_offset)
            );
        }
        Ok(())
    })
}

pub(super) fn reachability(a: ReachabilityArgs) -> Result<(), Failure> {
    if a.json {
        return print_raw_json(&a.connect, "/v1/line/reachability".into());
    }
    let client = a.connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let list = client.line_reachability().await?;
        println!("Link tests over the last 7 days");
        println!(
            "{:<24} {:>8} {:>6} {:>7} {:>8}",
            "party", "in time", "late", "missed", "pending"
        );
        for r in &list {
            println!(
                "{:<24} {:>8} {:>6} {:>7} {:>8}",
                r.party, r.in_time, r.late, r.missed, r.pending
            );
        }
        Ok(())
    })
}
