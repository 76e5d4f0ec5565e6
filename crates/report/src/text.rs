//! The report's words in each language it is written in.

/// The language of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// The `lang` attribute of the HTML page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// `en` or `ru`.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        match tag {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The words.
    pub fn words(self) -> &'static Words {
        match self {
            Lang::En => &EN,
            Lang::Ru => &RU,
        }
    }
}

/// Every label of the report.
#[allow(missing_docs, reason = "each field is the label it names")]
pub struct Words {
    pub title: &'static str,
    pub subtitle: &'static str,
    pub source: &'static str,
    pub log: &'static str,
    pub tree_head: &'static str,
    pub size: &'static str,
    pub root: &'static str,
    pub keys_pinned: &'static str,
    pub keys_from_export: &'static str,
    pub window: &'static str,
    pub deadlines: &'static str,
    pub parties: &'static str,
    pub trust: &'static str,
    pub trust_trend: &'static str,
    pub points_per_week: &'static str,
    pub no_data: &'static str,
    pub formula_title: &'static str,
    pub formula: &'static str,
    pub definitions: &'static [&'static str],
    pub week: &'static str,
    pub party: &'static str,
    pub kind: &'static str,
    pub acks_title: &'static str,
    pub due: &'static str,
    pub on_time: &'static str,
    pub late: &'static str,
    pub unanswered: &'static str,
    pub median: &'static str,
    pub p95: &'static str,
    pub link_tests_title: &'static str,
    pub sent: &'static str,
    pub answered: &'static str,
    pub parties_title: &'static str,
    pub withdrawn: &'static str,
    pub withdrawn_late: &'static str,
    pub undetermined: &'static str,
    pub nonconformances: &'static str,
    pub geography: &'static str,
    pub alerts_title: &'static str,
    pub level: &'static str,
    pub count: &'static str,
    pub per_1000: &'static str,
    pub flight_hours: &'static str,
    pub incidents_title: &'static str,
    pub filed: &'static str,
    pub agreed: &'static str,
    pub disputed: &'static str,
    pub not_assessed: &'static str,
    pub category: &'static str,
    pub acks_chart: &'static str,
    pub change: &'static str,
}

static EN: Words = Words {
    title: "Working group report",
    subtitle: "Computed only from the record: every party gets the same figures from its own copy.",
    source: "Source",
    log: "Log",
    tree_head: "Tree head",
    size: "size",
    root: "root",
    keys_pinned: "parties' keys pinned from the agreement",
    keys_from_export: "keys taken from the export itself (integrity, not authorship)",
    window: "Window",
    deadlines: "Acknowledgement deadlines",
    parties: "Parties",
    trust: "Trust index",
    trust_trend: "Trend",
    points_per_week: "points per week",
    no_data: "no data",
    formula_title: "How the figures are computed",
    formula: "Trust index = 100 × mean of the week's shares that have data: acknowledgements on time \
              (of those due), link tests answered in time (of those sent), notifications withdrawn \
              before their window began (of withdrawals whose window is disclosed), incidents \
              agreed (of those assessed). Trend = least-squares slope of the index over the weeks \
              that have one.",
    definitions: &[
        "Weeks are ISO weeks, Monday 00:00 UTC to the next Monday.",
        "A message is acknowledged on time when the recipient's first acknowledgement in the \
         record is timed strictly before its entry time plus the deadline for its kind; late at \
         or after it; unanswered when the record holds no acknowledgement.",
        "Time to acknowledge: acknowledgement time minus message time; median and 95th \
         percentile by the nearest-rank method.",
        "A withdrawal is late when made at or after the start of the notification's window; \
         undetermined when the party did not disclose the window.",
        "Flight hours are notified flight hours: aircraft count (1 when undisclosed) × the part \
         of each disclosed window in the week, for notifications not withdrawn before they began.",
        "An incident is agreed when every party's assessment gives the same risk category, \
         disputed when two differ, otherwise not assessed; it is counted in the week of its \
         first entry.",
    ],
    week: "Week",
    party: "Party",
    kind: "Message kind",
    acks_title: "Acknowledgements",
    due: "Due",
    on_time: "On time",
    late: "Late",
    unanswered: "Unanswered",
    median: "Median",
    p95: "95th pct.",
    link_tests_title: "Link tests",
    sent: "Sent",
    answered: "Answered in time",
    parties_title: "Notifications withdrawn, nonconformances and geography events",
    withdrawn: "Withdrawn",
    withdrawn_late: "Withdrawn late",
    undetermined: "Undetermined",
    nonconformances: "Nonconformances",
    geography: "Geography events",
    alerts_title: "Alerts",
    level: "Level",
    count: "Count",
    per_1000: "Per 1,000 flight hours",
    flight_hours: "Notified flight hours",
    incidents_title: "Incidents",
    filed: "Filed",
    agreed: "Agreed",
    disputed: "Disputed",
    not_assessed: "Not assessed",
    category: "Risk category",
    acks_chart: "Acknowledgements on time, share per party",
    change: "Change",
};

static RU: Words = Words {
    title: "Отчёт рабочей группы",
    subtitle: "Рассчитан только по журналу: каждая сторона получает те же цифры из своей копии.",
    source: "Источник",
    log: "Журнал",
    tree_head: "Подписанная вершина дерева",
    size: "размер",
    root: "корень",
    keys_pinned: "ключи сторон взяты из соглашения",
    keys_from_export: "ключи взяты из самой выгрузки (целостность, но не авторство)",
    window: "Период",
    deadlines: "Сроки подтверждения",
    parties: "Стороны",
    trust: "Индекс доверия",
    trust_trend: "Тренд",
    points_per_week: "пунктов в неделю",
    no_data: "нет данных",
    formula_title: "Как рассчитаны показатели",
    formula: "Индекс доверия = 100 × среднее долей недели, по которым есть данные: подтверждения в \
              срок (из требовавших подтверждения), проверки связи с ответом в срок (из \
              отправленных), уведомления, отозванные до начала их окна (из отзывов с раскрытым \
              окном), согласованные инциденты (из оценённых). Тренд = наклон прямой наименьших \
              квадратов по неделям, где индекс есть.",
    definitions: &[
        "Недели — недели ISO, с понедельника 00:00 UTC до следующего понедельника.",
        "Сообщение подтверждено в срок, если первое подтверждение получателя в журнале имеет \
         время строго раньше времени записи сообщения плюс срок для его вида; с опозданием — в \
         этот момент или позже; без ответа — если подтверждения в журнале нет.",
        "Время до подтверждения: время подтверждения минус время сообщения; медиана и 95-й \
         процентиль методом ближайшего ранга.",
        "Отзыв считается поздним, если сделан в момент начала окна уведомления или позже; \
         неопределённым — если сторона не раскрыла окно.",
        "Лётные часы — заявленные лётные часы: число воздушных судов (1, если не раскрыто) × \
         часть каждого раскрытого окна в пределах недели, для уведомлений, не отозванных до \
         начала.",
        "Инцидент согласован, если оценки всех сторон дают одну категорию риска; спорный — если \
         две оценки расходятся; иначе не оценён. Учитывается в неделе его первой записи.",
    ],
    week: "Неделя",
    party: "Сторона",
    kind: "Вид сообщения",
    acks_title: "Подтверждения",
    due: "Требовалось",
    on_time: "В срок",
    late: "С опозданием",
    unanswered: "Без ответа",
    median: "Медиана",
    p95: "95-й проц.",
    link_tests_title: "Проверки связи",
    sent: "Отправлено",
    answered: "Ответ в срок",
    parties_title: "Отозванные уведомления, несоответствия и географические события",
    withdrawn: "Отозвано",
    withdrawn_late: "Отозвано поздно",
    undetermined: "Не определено",
    nonconformances: "Несоответствия",
    geography: "Географические события",
    alerts_title: "Предупреждения",
    level: "Уровень",
    count: "Число",
    per_1000: "На 1000 лётных часов",
    flight_hours: "Заявленные лётные часы",
    incidents_title: "Инциденты",
    filed: "Заявлено",
    agreed: "Согласовано",
    disputed: "Спорные",
    not_assessed: "Не оценены",
    category: "Категория риска",
    acks_chart: "Подтверждения в срок, доля по сторонам",
    change: "Изменение",
};
