//! What the working group assigns to an incident: a risk category and contributory factors,
//! each named in the agreement's languages.
//!
//! The risk categories are the UK Airprox Board's (A–E). The factors are a fixed list, so that
//! both sides count the same things under the same names; their tags are what the record
//! carries, their names are what a reader sees.

use std::fmt;

/// A language the names below are given in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// From an ISO 639 code (`en`, `ru`); other languages get English.
    pub fn from_code(code: &str) -> Lang {
        match code {
            "ru" => Lang::Ru,
            _ => Lang::En,
        }
    }
}

/// A risk category as the UK Airprox Board assigns them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskCategory {
    /// A: serious risk of collision — a collision was only narrowly avoided or was avoided by
    /// chance.
    A,
    /// B: safety not assured — the safety of the aircraft was compromised.
    B,
    /// C: no risk of collision — safety was degraded, but effective and timely action was taken
    /// to prevent the aircraft colliding.
    C,
    /// D: risk not determined — insufficient information, or conflicting evidence precluded a
    /// determination.
    D,
    /// E: normal procedures, safety standards and parameters pertained.
    E,
}

impl RiskCategory {
    /// Every category, in order.
    pub const ALL: [RiskCategory; 5] = [
        RiskCategory::A,
        RiskCategory::B,
        RiskCategory::C,
        RiskCategory::D,
        RiskCategory::E,
    ];

    /// The letter, as the record carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskCategory::A => "A",
            RiskCategory::B => "B",
            RiskCategory::C => "C",
            RiskCategory::D => "D",
            RiskCategory::E => "E",
        }
    }

    /// From its letter (`A`…`E`, upper case only).
    pub fn from_name(s: &str) -> Option<RiskCategory> {
        RiskCategory::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What the category means, in `lang`.
    pub fn meaning(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (RiskCategory::A, Lang::En) => "serious risk of collision",
            (RiskCategory::B, Lang::En) => "safety not assured",
            (RiskCategory::C, Lang::En) => "no risk of collision",
            (RiskCategory::D, Lang::En) => {
                "risk not determined: insufficient information or conflicting evidence"
            }
            (RiskCategory::E, Lang::En) => "normal procedures and safety standards pertained",
            (RiskCategory::A, Lang::Ru) => "серьёзный риск столкновения",
            (RiskCategory::B, Lang::Ru) => "безопасность не обеспечена",
            (RiskCategory::C, Lang::Ru) => "риска столкновения не было",
            (RiskCategory::D, Lang::Ru) => {
                "риск не определён: недостаточно сведений или сведения противоречат друг другу"
            }
            (RiskCategory::E, Lang::Ru) => "соблюдены обычные процедуры и нормы безопасности",
        }
    }
}

impl fmt::Display for RiskCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! factors {
    ($($variant:ident => $tag:literal, $en:literal, $ru:literal;)*) => {
        /// A contributory factor from the fixed list.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Factor {
            $(#[doc = $en] $variant,)*
        }

        impl Factor {
            /// Every factor, in list order.
            pub const ALL: &'static [Factor] = &[$(Factor::$variant,)*];

            /// The tag the record carries.
            pub fn as_str(self) -> &'static str {
                match self { $(Factor::$variant => $tag,)* }
            }

            /// From its tag.
            pub fn from_name(s: &str) -> Option<Factor> {
                match s { $($tag => Some(Factor::$variant),)* _ => None }
            }

            /// Its name in `lang`.
            pub fn name(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Factor::$variant, Lang::En) => $en, (Factor::$variant, Lang::Ru) => $ru,)*
                }
            }
        }
    };
}

factors! {
    NotNotified => "not_notified",
        "flight not notified", "полёт не был уведомлён";
    OutsideNotification => "outside_notification",
        "flown outside its notification", "полёт вне уведомлённого объёма или времени";
    DividingLineCrossed => "dividing_line_crossed",
        "dividing line crossed", "пересечена разграничительная линия";
    ZoneEntered => "zone_entered",
        "closed zone entered", "вход в закрытую зону";
    AlertNotActedOn => "alert_not_acted_on",
        "alert not acted on in time", "не приняты своевременные меры по оповещению";
    LineNotAnswered => "line_not_answered",
        "deconfliction line not answered in time", "линия предотвращения инцидентов не ответила вовремя";
    Misunderstanding => "misunderstanding",
        "message misunderstood", "сообщение понято неверно";
    LateSighting => "late_sighting",
        "late sighting or non-sighting", "позднее обнаружение или необнаружение";
    SituationalAwareness => "situational_awareness",
        "inaccurate situational awareness", "неверное представление об обстановке";
    TrackDataMissing => "track_data_missing",
        "track data missing or inaccurate", "данные о траектории отсутствуют или неточны";
    EquipmentFailure => "equipment_failure",
        "equipment unserviceable (transponder, receiver, datalink)", "отказ оборудования (ответчик, приёмник, линия передачи данных)";
    Weather => "weather",
        "weather", "метеоусловия";
    DeliberateManoeuvre => "deliberate_manoeuvre",
        "deliberate manoeuvre towards the other aircraft", "преднамеренный манёвр в сторону другого воздушного судна";
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
