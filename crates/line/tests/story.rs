//! The scripted day that `deconflict line simulate` and the demo print: link tests, an alert
//! conversation, a strike warning that escalates and is acknowledged late, in both languages.

use deconflict_line::story;
use deconflict_line::*;

#[test]
fn the_story_shows_escalation_and_late_acknowledgement_in_both_languages() {
    let s = story::run();
    let text = s.render_all();
    for want in [
        // English, worked out by hand: deadline 120 s from 09:30:00, next contact, then command.
        "2017-04-12 09:32:00 UTC (2017-04-12 12:32:00 local, UTC+03:00): message M-111 is OVERDUE: russia did not acknowledge it (deadline 2 minutes)",
        "2017-04-12 09:32:00 UTC (2017-04-12 12:32:00 local, UTC+03:00): message M-111 ESCALATED from подполковник Петров to майор Иванов (russia, level 1)",
        "2017-04-12 09:34:00 UTC (2017-04-12 12:34:00 local, UTC+03:00): message M-111 ESCALATED from майор Иванов to Командование Хмеймим (russia, level 2)",
        "message M-111 acknowledged by Командование Хмеймим (russia) after 5 minutes 10 seconds, LATE",
        "Overdue as coalition sees it: M-111",
        "Overdue as russia sees it: M-111",
        "Loss of separation in 1 minute 35 seconds",
        "FREE TEXT (untranslated, written in ru): Борт RUS-31 набирает эшелон 280.",
        "1 answered in time, 1 late, 0 missed, 0 pending",
        "2 answered in time, 0 late, 0 missed, 0 pending",
        "Agreement state (declared): suspended. Line state (measured): answering.",
        // Russian.
        "2017-04-12 09:32:00 UTC (местное 2017-04-12 12:32:00, UTC+03:00): сообщение M-111 ПРОСРОЧЕНО: получение не подтверждено (russia, срок 2 минуты)",
        "сообщение M-111 ЭСКАЛИРОВАНО (russia, уровень 2): майор Иванов → Командование Хмеймим",
        "получение сообщения M-111 подтверждено: Командование Хмеймим (russia), через 5 минут 10 секунд, С ОПОЗДАНИЕМ",
        "Потеря эшелонирования через 1 минуту 35 секунд",
        "вовремя 2, с опозданием 0, пропущено 0, ожидается 0",
        "Состояние соглашения (объявленное): приостановлено. Состояние линии (измеренное): отвечает.",
    ] {
        assert!(text.contains(want), "story lacks:\n{want}");
    }
    // The line it ran is consistent: everything needing acknowledgement got one.
    assert!(s.line.messages().all(|t| !t.is_pending()));
    let m111 = s.line.get(&MessageId::new("M-111").unwrap()).unwrap();
    assert_eq!(m111.escalations().len(), 2);
    assert!(m111.ack().unwrap().late);
    // Russia's measured responsiveness over the day: M-111 took 310 s and two escalations.
    let day = TimeWindow::new(
        Timestamp::from_unix_ms(1_491_955_200_000).unwrap(),
        Timestamp::from_unix_ms(1_491_955_200_000 + 86_400_000).unwrap(),
    )
    .unwrap();
    let lat = s.line.ack_latencies(&PartyId::new("russia").unwrap(), day);
    let m111 = lat
        .iter()
        .find(|l| l.message_id.as_str() == "M-111")
        .unwrap();
    assert_eq!(
        (m111.latency_ms, m111.late, m111.escalations),
        (Some(310_000), true, 2)
    );
    assert_eq!(lat.iter().filter(|l| l.late).count(), 1);
    // The story is deterministic: the demo prints the same text every time.
    assert_eq!(story::demo_text(), text);
}
