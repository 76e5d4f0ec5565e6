//! `deconflict line send`: a message from a file or from a typed form, its envelope filled in.

use super::*;

// --- Message forms -----------------------------------------------------------------------------

/// The envelope flags every typed form shares.
#[derive(clap::Args, Debug, Clone)]
pub struct EnvelopeArgs {
    /// Message id; default: a new unique id starting with the party's. Give the same id to
    /// resend after a lost answer: the service accepts a message exactly once.
    #[arg(long, value_name = "ID", value_parser = parse_message_id)]
    pub(super) id: Option<MessageId>,
    /// The conversation the message belongs to, KIND:ID (kinds: alert, notification,
    /// incident, link_test, general). Default: see each form.
    #[arg(long, value_name = "KIND:ID", value_parser = parse_subject)]
    pub(super) subject: Option<Subject>,
}

/// Where an operation takes place: a circle (--lat, --lon and a radius) or a polygon
/// (--vertex, three or more times).
#[derive(clap::Args, Debug, Clone)]
pub struct AreaArgs {
    /// Circle centre latitude, decimal degrees (north positive).
    #[arg(long, value_name = "DEG", value_parser = parse_latitude, allow_negative_numbers = true,
          requires = "lon", conflicts_with = "vertex")]
    pub(super) lat: Option<Latitude>,
    /// Circle centre longitude, decimal degrees (east positive).
    #[arg(long, value_name = "DEG", value_parser = parse_longitude, allow_negative_numbers = true,
          requires = "lat")]
    pub(super) lon: Option<Longitude>,
    /// Circle radius, metres.
    #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true,
          conflicts_with = "radius_nm")]
    pub(super) radius_m: Option<f64>,
    /// Circle radius, nautical miles.
    #[arg(long, value_name = "NM", value_parser = parse_finite, allow_negative_numbers = true)]
    pub(super) radius_nm: Option<f64>,
    /// A polygon vertex, LAT,LON in decimal degrees, in order (3 to 64 of them).
    #[arg(long, value_name = "LAT,LON", value_parser = parse_position, allow_hyphen_values = true)]
    pub(super) vertex: Vec<Position>,
}

impl AreaArgs {
    pub(super) fn area(&self) -> Result<Area, Failure> {
        if !self.vertex.is_empty() {
            if self.radius_m.is_some() || self.radius_nm.is_some() {
                return Err(Failure::usage("--vertex", "a polygon has no radius"));
            }
            return Area::polygon(self.vertex.clone()).map_err(|e| Failure::usage("--vertex", e));
        }
        let (Some(lat), Some(lon)) = (self.lat, self.lon) else {
            return Err(Failure::usage(
                "--lat/--lon",
                "give a circle (--lat, --lon, --radius-m or --radius-nm) or a polygon (--vertex three or more times)",
            ));
        };
        let (flag, radius) = match (self.radius_m, self.radius_nm) {
            (Some(m), _) => ("--radius-m", Distance::from_m(m)),
            (None, Some(nm)) => ("--radius-nm", Distance::from_nm(nm)),
            (None, None) => {
                return Err(Failure::usage(
                    "--radius-m/--radius-nm",
                    "a circle needs a radius",
                ));
            }
        };
        let radius = radius.map_err(|_| Failure::usage(flag, "must be a positive distance"))?;
        let centre = Position {
            lat_udeg: lat,
            lon_udeg: lon,
        };
        Area::circle(centre, radius).map_err(|e| Failure::usage(flag, e))
    }
}

/// An altitude block, in feet or metres above mean sea level.
#[derive(clap::Args, Debug, Clone)]
pub struct BlockArgs {
    /// Lower bound of the altitude block, feet above mean sea level.
    #[arg(
        long,
        value_name = "FT",
        allow_negative_numbers = true,
        conflicts_with = "floor_m"
    )]
    pub(super) floor_ft: Option<i64>,
    /// Upper bound of the altitude block, feet above mean sea level.
    #[arg(
        long,
        value_name = "FT",
        allow_negative_numbers = true,
        conflicts_with = "ceiling_m"
    )]
    pub(super) ceiling_ft: Option<i64>,
    /// Lower bound of the altitude block, metres above mean sea level.
    #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true)]
    pub(super) floor_m: Option<f64>,
    /// Upper bound of the altitude block, metres above mean sea level.
    #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true)]
    pub(super) ceiling_m: Option<f64>,
}

impl BlockArgs {
    pub(super) fn given(&self) -> bool {
        self.floor_ft.is_some()
            || self.ceiling_ft.is_some()
            || self.floor_m.is_some()
            || self.ceiling_m.is_some()
    }
    pub(super) fn block(&self) -> Result<AltitudeBlock, Failure> {
        let lower = block_bound(
            self.floor_ft,
            self.floor_m,
            ["--floor-ft", "--floor-m"],
            "lower",
        )?;
        let upper = block_bound(
            self.ceiling_ft,
            self.ceiling_m,
            ["--ceiling-ft", "--ceiling-m"],
            "upper",
        )?;
        let flag = if self.ceiling_ft.is_some() {
            "--ceiling-ft"
        } else {
            "--ceiling-m"
        };
        AltitudeBlock::new(lower, upper).map_err(|_| {
            Failure::usage(
                flag,
                format!(
                    "the ceiling ({} m) must be above the floor ({} m)",
                    upper.m(),
                    lower.m()
                ),
            )
        })
    }
}

/// One bound of an altitude block from its feet flag or, failing that, its metres flag.
fn block_bound(
    ft: Option<i64>,
    m: Option<f64>,
    [flag_ft, flag_m]: [&str; 2],
    which: &str,
) -> Result<Altitude, Failure> {
    match (ft, m) {
        (Some(ft), _) => Altitude::from_ft(ft).map_err(|e| Failure::usage(flag_ft, e)),
        (None, Some(m)) => Altitude::from_m(m).map_err(|e| Failure::usage(flag_m, e)),
        (None, None) => Err(Failure::usage(
            &format!("{flag_ft}/{flag_m}"),
            format!("the altitude block needs a {which} bound"),
        )),
    }
}

/// A time window.
#[derive(clap::Args, Debug, Clone)]
pub struct WindowArgs {
    /// Start of the window (TIME, see below).
    #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    pub(super) start: Option<TimeArg>,
    /// End of the window (TIME); after the start, at most 7 days later.
    #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    pub(super) end: Option<TimeArg>,
}

impl WindowArgs {
    pub(super) fn given(&self) -> bool {
        self.start.is_some() || self.end.is_some()
    }
    pub(super) fn window(&self, now_ms: i64) -> Result<TimeWindow, Failure> {
        let start = self
            .start
            .ok_or_else(|| Failure::usage("--start", "the time window needs a start"))?
            .resolve("--start", now_ms)?;
        let end = self
            .end
            .ok_or_else(|| Failure::usage("--end", "the time window needs an end"))?
            .resolve_end("--end", now_ms)?;
        if end <= start {
            return Err(Failure::usage(
                "--end",
                format!(
                    "the window ends ({}) before or when it starts ({}): a negative or empty window",
                    format_time(end.unix_ms(), UtcOffset::UTC),
                    format_time(start.unix_ms(), UtcOffset::UTC)
                ),
            ));
        }
        TimeWindow::new(start, end).map_err(|e| Failure::usage("--end", e))
    }
}

/// A proposed change: a new altitude block, or a new time window (exactly one).
#[derive(clap::Args, Debug, Clone)]
pub struct AlterationArgs {
    #[command(flatten)]
    pub(super) block: BlockArgs,
    #[command(flatten)]
    pub(super) window: WindowArgs,
}

impl AlterationArgs {
    pub(super) fn given(&self) -> bool {
        self.block.given() || self.window.given()
    }
    pub(super) fn alteration(&self, now_ms: i64) -> Result<Alteration, Failure> {
        match (self.block.given(), self.window.given()) {
            (true, false) => Ok(Alteration::AltitudeBlock {
                altitude_block: self.block.block()?,
            }),
            (false, true) => Ok(Alteration::TimeWindow {
                window: self.window.window(now_ms)?,
            }),
            (true, true) => Err(Failure::usage(
                "--start/--end",
                "propose either an altitude block or a time window, not both",
            )),
            (false, false) => Err(Failure::usage(
                "--floor-ft/--ceiling-ft or --start/--end",
                "propose a new altitude block or a new time window",
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(super) enum ActivityArg {
    Strike,
    Activity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum DecisionArg {
    Accept,
    Reject,
    Counter,
}

/// `deconflict line send`: from a file, or one of the typed forms.
#[derive(clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = EXIT_CODES
)]
pub struct SendArgs {
    #[command(subcommand)]
    pub(super) form: Option<SendForm>,
    /// A message in the line's JSON form (`deconflict line catalogue`); "from" must be
    /// --party. Its id, time and subject are sent as written.
    #[arg(long, value_name = "FILE", required = true)]
    pub(super) file: Option<PathBuf>,
    #[command(flatten)]
    pub(super) connect: Option<ConnectArgs>,
}

#[derive(clap::Subcommand)]
pub(super) enum SendForm {
    /// A strike or other activity about to take place: area, altitude block, time window.
    /// Default subject: general:<message id>.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    StrikeWarning {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party warned.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// What takes place.
        #[arg(long, value_enum, default_value_t = ActivityArg::Strike)]
        activity: ActivityArg,
        #[command(flatten)]
        area: AreaArgs,
        #[command(flatten)]
        block: BlockArgs,
        #[command(flatten)]
        window: WindowArgs,
        #[command(flatten)]
        envelope: EnvelopeArgs,
    },
    /// Text as written, in the language it was written in (never translated).
    /// Default subject: general:<message id>.
    #[command(after_help = EXIT_CODES)]
    FreeText {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party addressed.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// The text (at most 4096 bytes, no control characters but newlines).
        #[arg(long, value_parser = parse_text)]
        text: Text,
        /// The language the text is written in (en, ru, …).
        #[arg(long, value_name = "TAG", value_parser = parse_lang_tag)]
        lang: LangTag,
        #[command(flatten)]
        envelope: EnvelopeArgs,
    },
    /// Ask a party to change an operation: a new altitude block (--floor-ft/--ceiling-ft) or
    /// a new time window (--start/--end). Default subject: that of the --regarding message.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    RequestToAlter {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party asked.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// The message announcing the operation to change.
        #[arg(long, value_name = "ID", value_parser = parse_message_id)]
        regarding: MessageId,
        #[command(flatten)]
        proposal: AlterationArgs,
        #[command(flatten)]
        envelope: EnvelopeArgs,
    },
    /// Answer a request: accept, reject, or counter with a new altitude block or time window.
    /// Goes to the request's sender; default subject: the request's.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    Reply {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The message answered (its sender receives the reply).
        #[arg(long = "to", value_name = "ID", value_parser = parse_message_id)]
        in_reply_to: MessageId,
        /// accept, reject, or counter (with --floor-ft/--ceiling-ft or --start/--end).
        #[arg(value_enum)]
        decision: DecisionArg,
        #[command(flatten)]
        proposal: AlterationArgs,
        #[command(flatten)]
        envelope: EnvelopeArgs,
    },
    /// A loss of separation that happened, as my party measured it. Subject: incident:<ID>.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    Incident {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party told.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// The incident's id (the conversation threads on it).
        #[arg(long, value_name = "ID", value_parser = parse_subject_id)]
        incident_id: SubjectId,
        /// When it happened (TIME).
        #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
        at: TimeArg,
        /// Where it happened: latitude, decimal degrees.
        #[arg(long, value_name = "DEG", value_parser = parse_latitude, allow_negative_numbers = true)]
        lat: Latitude,
        /// Where it happened: longitude, decimal degrees.
        #[arg(long, value_name = "DEG", value_parser = parse_longitude, allow_negative_numbers = true)]
        lon: Longitude,
        /// One aircraft, PARTY=TRACK (e.g. coalition=CLT-7).
        #[arg(long, value_name = "PARTY=TRACK", value_parser = parse_track_ref)]
        track_a: TrackRef,
        /// The other aircraft, PARTY=TRACK.
        #[arg(long, value_name = "PARTY=TRACK", value_parser = parse_track_ref)]
        track_b: TrackRef,
        /// Closest approach measured, horizontal, metres.
        #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true,
              required_unless_present = "closest_horizontal_ft", conflicts_with = "closest_horizontal_ft")]
        closest_horizontal_m: Option<f64>,
        /// Closest approach measured, horizontal, feet.
        #[arg(long, value_name = "FT", allow_negative_numbers = true)]
        closest_horizontal_ft: Option<i64>,
        /// Closest approach measured, vertical, metres.
        #[arg(long, value_name = "M", value_parser = parse_finite, allow_negative_numbers = true,
              required_unless_present = "closest_vertical_ft", conflicts_with = "closest_vertical_ft")]
        closest_vertical_m: Option<f64>,
        /// Closest approach measured, vertical, feet.
        #[arg(long, value_name = "FT", allow_negative_numbers = true)]
        closest_vertical_ft: Option<i64>,
        /// Message id (default: a new unique id).
        #[arg(long, value_name = "ID", value_parser = parse_message_id)]
        id: Option<MessageId>,
    },
    /// Ask a party to investigate an incident and answer by a date. Subject: incident:<ID>.
    #[command(after_help = format!("{TIME_HELP}\n\n{EXIT_CODES}"))]
    InvestigationRequest {
        #[command(flatten)]
        connect: ConnectArgs,
        /// The party asked.
        #[arg(long, value_name = "PARTY", value_parser = parse_party)]
        to: PartyId,
        /// The incident.
        #[arg(long, value_name = "ID", value_parser = parse_subject_id)]
        incident_id: SubjectId,
        /// Answer expected by (TIME).
        #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
        reply_by: TimeArg,
        /// Message id (default: a new unique id).
        #[arg(long, value_name = "ID", value_parser = parse_message_id)]
        id: Option<MessageId>,
    },
}

/// What a typed form asks for, before the envelope is filled in (the sender, the time, and for
/// a reply or request the subject of the message referred to, which may need the service).
#[derive(Debug)]
pub(super) struct Draft {
    pub(super) to: Recipient,
    pub(super) id: Option<MessageId>,
    pub(super) subject: SubjectChoice,
    pub(super) body: Body,
}

#[derive(Debug)]
pub(super) enum Recipient {
    Party(PartyId),
    /// The sender of this message (a reply goes back to whoever asked).
    SenderOf(MessageId),
}

#[derive(Debug)]
pub(super) enum SubjectChoice {
    Given(Subject),
    /// `general:<message id>`.
    OwnId,
    /// The subject of the message referred to.
    SameAs(MessageId),
}

impl SendForm {
    pub(super) fn connect(&self) -> &ConnectArgs {
        match self {
            SendForm::StrikeWarning { connect, .. }
            | SendForm::FreeText { connect, .. }
            | SendForm::RequestToAlter { connect, .. }
            | SendForm::Reply { connect, .. }
            | SendForm::Incident { connect, .. }
            | SendForm::InvestigationRequest { connect, .. } => connect,
        }
    }

    /// Checks every flag and builds the body; `now_ms` resolves relative times.
    pub(super) fn draft(&self, now_ms: i64) -> Result<Draft, Failure> {
        let given = |e: &EnvelopeArgs, default: SubjectChoice| {
            e.subject.clone().map_or(default, SubjectChoice::Given)
        };
        Ok(match self {
            SendForm::StrikeWarning {
                to,
                activity,
                area,
                block,
                window,
                envelope,
                ..
            } => Draft {
                to: Recipient::Party(to.clone()),
                id: envelope.id.clone(),
                subject: given(envelope, SubjectChoice::OwnId),
                body: Body::StrikeWarning {
                    activity: match activity {
                        ActivityArg::Strike => Activity::Strike,
                        ActivityArg::Activity => Activity::Activity,
                    },
                    area: area.area()?,
                    altitude_block: block.block()?,
                    window: window.window(now_ms)?,
                },
            },
            SendForm::FreeText {
                to,
                text,
                lang,
                envelope,
                ..
            } => Draft {
                to: Recipient::Party(to.clone()),
                id: envelope.id.clone(),
                subject: given(envelope, SubjectChoice::OwnId),
                body: Body::FreeText {
                    written_in: lang.clone(),
                    text: text.clone(),
                },
            },
            SendForm::RequestToAlter {
                to,
                regarding,
                proposal,
                envelope,
                ..
            } => Draft {
                to: Recipient::Party(to.clone()),
                id: envelope.id.clone(),
                subject: given(envelope, SubjectChoice::SameAs(regarding.clone())),
                body: Body::RequestToAlter {
                    regarding: regarding.clone(),
                    proposal: proposal.alteration(now_ms)?,
                },
            },
            SendForm::Reply {
                in_reply_to,
                decision,
                proposal,
                envelope,
                ..
            } => Draft {
                to: Recipient::SenderOf(in_reply_to.clone()),
                id: envelope.id.clone(),
                subject: given(envelope, SubjectChoice::SameAs(in_reply_to.clone())),
                body: Body::Reply {
                    in_reply_to: in_reply_to.clone(),
                    answer: reply_answer(decision, proposal, now_ms)?,
                },
            },
            SendForm::Incident {
                to,
                incident_id,
                at,
                lat,
                lon,
                track_a,
                track_b,
                closest_horizontal_m,
                closest_horizontal_ft,
                closest_vertical_m,
                closest_vertical_ft,
                id,
                ..
            } => {
                if track_a == track_b {
                    return Err(Failure::usage(
                        "--track-b",
                        "the same aircraft as --track-a",
                    ));
                }
                Draft {
                    to: Recipient::Party(to.clone()),
                    id: id.clone(),
                    subject: SubjectChoice::Given(Subject::new(
                        SubjectKind::Incident,
                        incident_id.clone(),
                    )),
                    body: Body::IncidentReport {
                        incident_id: incident_id.clone(),
                        at_ms: at.resolve("--at", now_ms)?,
                        position: Position {
                            lat_udeg: *lat,
                            lon_udeg: *lon,
                        },
                        track_a: track_a.clone(),
                        track_b: track_b.clone(),
                        closest_horizontal_mm: flag_distance(
                            *closest_horizontal_m,
                            *closest_horizontal_ft,
                            "--closest-horizontal-m",
                            "--closest-horizontal-ft",
                        )?,
                        closest_vertical_mm: flag_distance(
                            *closest_vertical_m,
                            *closest_vertical_ft,
                            "--closest-vertical-m",
                            "--closest-vertical-ft",
                        )?,
                    },
                }
            }
            SendForm::InvestigationRequest {
                to,
                incident_id,
                reply_by,
                id,
                ..
            } => Draft {
                to: Recipient::Party(to.clone()),
                id: id.clone(),
                subject: SubjectChoice::Given(Subject::new(
                    SubjectKind::Incident,
                    incident_id.clone(),
                )),
                body: Body::InvestigationRequest {
                    incident_id: incident_id.clone(),
                    reply_by_ms: reply_by.resolve_end("--reply-by", now_ms)?,
                },
            },
        })
    }
}

/// A reply's answer; only a counter-proposal carries a block or a window.
fn reply_answer(
    decision: &DecisionArg,
    proposal: &AlterationArgs,
    now_ms: i64,
) -> Result<Decision, Failure> {
    Ok(match decision {
        DecisionArg::Counter => Decision::Counter {
            proposal: proposal.alteration(now_ms)?,
        },
        _ if proposal.given() => {
            return Err(Failure::usage(
                "--floor-ft/--ceiling-ft/--start/--end",
                "only a counter proposal carries an altitude block or a time window",
            ));
        }
        DecisionArg::Accept => Decision::Accept,
        DecisionArg::Reject => Decision::Reject,
    })
}

/// A distance given in metres or in feet (metres first); neither is an error on `flag_m`.
fn flag_distance(
    m: Option<f64>,
    ft: Option<i64>,
    flag_m: &str,
    flag_ft: &str,
) -> Result<Distance, Failure> {
    match (m, ft) {
        (Some(m), _) => {
            Distance::from_m(m).map_err(|_| Failure::usage(flag_m, "must be a distance ≥ 0"))
        }
        (None, Some(ft)) => {
            Distance::from_ft(ft).map_err(|_| Failure::usage(flag_ft, "must be a distance ≥ 0"))
        }
        (None, None) => Err(Failure::usage(flag_m, "required")),
    }
}

/// Who sent a message and on which subject.
pub(super) type Lookup<'a> = dyn FnMut(&MessageId) -> Result<(PartyId, Subject), Failure> + 'a;

/// Fills in the envelope: sender, time, id, recipient and subject (`lookup` answers who sent
/// a referenced message and on which subject, when a reply or request needs it).
pub(super) fn complete(
    draft: Draft,
    from: &PartyId,
    now_ms: i64,
    lookup: &mut Lookup<'_>,
) -> Result<Message, Failure> {
    let id = match draft.id {
        Some(id) => id,
        None => deconflict_service::line::new_message_id(from.as_str()),
    };
    let mut referenced = None;
    let mut refer = |mid: &MessageId| -> Result<(PartyId, Subject), Failure> {
        if referenced.is_none() {
            referenced = Some(lookup(mid)?);
        }
        Ok(referenced.clone().expect("just set"))
    };
    let to = match &draft.to {
        Recipient::Party(p) => p.clone(),
        Recipient::SenderOf(mid) => refer(mid)?.0,
    };
    let subject = match draft.subject {
        SubjectChoice::Given(s) => s,
        SubjectChoice::OwnId => Subject::new(
            SubjectKind::General,
            SubjectId::new(id.as_str()).map_err(|e| Failure::usage("--id", e))?,
        ),
        SubjectChoice::SameAs(mid) => refer(&mid)?.1,
    };
    let sent = Timestamp::from_unix_ms(now_ms)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("the system clock: {e}")))?;
    let flag = match draft.to {
        Recipient::Party(_) => "--to",
        Recipient::SenderOf(_) => "--to (the message answered)",
    };
    Message::new(id, from.clone(), to, sent, subject, draft.body).map_err(|e| {
        use deconflict_line::MessageError as E;
        match e {
            E::SelfAddressed { .. } => Failure::usage(flag, "a party cannot send to itself"),
            E::SubjectMismatch { .. } => Failure::usage("--subject", e),
            other => Failure::Usage(anyhow::anyhow!("{other}")),
        }
    })
}

pub(super) fn now_ms() -> i64 {
    use deconflict_service::Clock as _;
    deconflict_service::SystemClock.now_ms()
}

pub(super) fn send(a: SendArgs) -> Result<(), Failure> {
    let now = now_ms();
    let (connect, draft, message) = match a.form {
        Some(form) => {
            let connect = form.connect().clone();
            let draft = form.draft(now)?;
            (connect, Some(draft), None)
        }
        None => {
            let (Some(file), Some(connect)) = (a.file, a.connect) else {
                return Err(Failure::usage(
                    "--file",
                    "give --file FILE --service URL --party ID --key FILE, or a typed form (see --help)",
                ));
            };
            let bytes = std::fs::read(&file)
                .map_err(|e| Failure::usage("--file", format!("{}: {e}", file.display())))?;
            let message = Message::from_json(&bytes)
                .map_err(|e| Failure::usage("--file", format!("{}: {e}", file.display())))?;
            let party = &connect.party;
            if message.from().as_str() != party.as_str() {
                return Err(Failure::usage(
                    "--file",
                    format!(
                        "{}: \"from\" is {}, but the message is sent as --party {party}",
                        file.display(),
                        message.from()
                    ),
                ));
            }
            (connect, None, Some(message))
        }
    };
    let from = PartyId::new(&connect.party).map_err(|e| Failure::usage("--party", e))?;
    let client = connect.client().map_err(Failure::Usage)?;
    block_on(async move {
        let message = match (message, draft) {
            (Some(m), _) => m,
            (None, Some(draft)) => {
                // A reply or a request threads on the message it refers to: ask the service
                // who sent it and on which subject (it answers only if my party may read it).
                let referenced = match draft.referenced() {
                    Some(id) => {
                        let v = client.line_message(id.as_str()).await?;
                        let sender = PartyId::new(&v.from)
                            .map_err(|e| Failure::Connection(format!("message {id}: {e}")))?;
                        Some((sender, v.message.subject().clone()))
                    }
                    None => None,
                };
                complete(draft, &from, now, &mut |id| {
                    referenced.clone().ok_or_else(|| {
                        Failure::Usage(anyhow::anyhow!("message {id} was not looked up"))
                    })
                })?
            }
            (None, None) => unreachable!("either a file or a typed form"),
        };
        let accepted = client.line_send(&message).await?;
        print!("{}", sent_text(&message, &accepted));
        Ok(())
    })
}

/// What `send` prints: the id (to acknowledge, show or resend), and the deadline if any.
pub(super) fn sent_text(m: &Message, a: &deconflict_service::line::LineAccepted) -> String {
    let mut out = if a.duplicate {
        format!(
            "{} was already accepted at {}: a repeat, nothing changed\n",
            a.message_id,
            format_time(a.accepted_unix_ms, UtcOffset::UTC)
        )
    } else {
        format!(
            "sent {} ({} to {}, subject {}:{}) accepted at {}\n",
            a.message_id,
            m.kind(),
            m.to(),
            m.subject().kind.tag(),
            m.subject().id,
            format_time(a.accepted_unix_ms, UtcOffset::UTC)
        )
    };
    match a.deadline_unix_ms {
        Some(d) => out.push_str(&format!(
            "acknowledgement due by {} ({} after acceptance)\n",
            format_time(d, UtcOffset::UTC),
            format_span(d - a.accepted_unix_ms)
        )),
        None => out.push_str("no acknowledgement required\n"),
    }
    out
}

impl Draft {
    /// The message whose sender or subject this draft takes.
    pub(super) fn referenced(&self) -> Option<&MessageId> {
        match (&self.to, &self.subject) {
            (Recipient::SenderOf(id), _) | (_, SubjectChoice::SameAs(id)) => Some(id),
            _ => None,
        }
    }
}
