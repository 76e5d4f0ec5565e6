# Русские шаблоны линии деконфликтации. Каждое сообщение из locales/en.ftl должно быть здесь
# (иначе сборка не проходит). Формы множественного числа — по правилам CLDR для «ru».

meta-language-name = Русский
meta-decimal-separator = ,

## Величины

hemi-n = с. ш.
hemi-s = ю. ш.
hemi-e = в. д.
hemi-w = з. д.
fmt-position = { $lat }, { $lon }
fmt-altitude = { $ft } фт ({ $m } м)
# Дробное число (три цифры после запятой) требует родительного падежа единственного числа.
fmt-distance = { $nm } мор. мили ({ $km } км)
fmt-time = { $utc } UTC (местное { $local }, UTC{ $offset })
fmt-block = от { $lower } до { $upper }
fmt-window = с { $start } по { $end }
# Именительный падеж («срок 2 минуты») и винительный после «через» («через 1 минуту»).
dur-hours = { $n } { $n ->
    [one] час
    [few] часа
   *[many] часов
}
dur-minutes = { $n } { $n ->
    [one] минута
    [few] минуты
   *[many] минут
}
dur-seconds = { $n } { $n ->
    [one] секунда
    [few] секунды
   *[many] секунд
}
dur-hours-acc = { $n } { $n ->
    [one] час
    [few] часа
   *[many] часов
}
dur-minutes-acc = { $n } { $n ->
    [one] минуту
    [few] минуты
   *[many] минут
}
dur-seconds-acc = { $n } { $n ->
    [one] секунду
    [few] секунды
   *[many] секунд
}
area-circle = круг радиусом { $radius } с центром { $centre }
area-polygon = многоугольник с вершинами { $vertices }
callsigns-none = нет

## Заголовок

# Стороны — в именительном падеже (названия из соглашения не склоняются), поэтому после двоеточия.
msg-header = Сообщение { $id }, отправитель: { $from }, получатель: { $to }, отправлено { $sent }
msg-subject = Тема: { $subject }
subject-alert = оповещение { $id }
subject-notification = уведомление { $id }
subject-incident = инцидент { $id }
subject-link-test = проверка связи { $id }
subject-general = { $id }

## Тексты сообщений, по одному на тип

body-link-test = ПРОВЕРКА СВЯЗИ, запланированная на { $scheduled }. Подтвердите получение: так проверяется работа линии.
body-notification-of-operations = УВЕДОМЛЕНИЕ О ДЕЯТЕЛЬНОСТИ { $notification }. Район: { $area }; высоты: { $block }; время: { $window }; позывные: { $callsigns }.
body-strike-warning = { $activity ->
    [strike] ПРЕДУПРЕЖДЕНИЕ ОБ УДАРЕ
   *[other] ПРЕДУПРЕЖДЕНИЕ О ДЕЯТЕЛЬНОСТИ
}. Район: { $area }; высоты: { $block }; время: { $window }.
body-conflict-alert = ОПОВЕЩЕНИЕ О КОНФЛИКТЕ { $alert }, { $level ->
        [1] предупредительное
        [2] корректирующее
       *[3] предупреждение об опасности
    }: борт { $track_a } ({ $party_a }) и борт { $track_b } ({ $party_b }). Потеря эшелонирования через { $time_to_los }. Прогноз наибольшего сближения: { $cpa_h } по горизонтали, { $cpa_v } по вертикали.
advice-own = РЕКОМЕНДАЦИЯ борту { $track } ({ $party }): { $manoeuvre }.
advice-other = Рекомендация борту { $track } ({ $party }): { $manoeuvre }.
adv-manoeuvre = { $vertical }; { $turn }
adv-climb-to = набор высоты до FL{ $fl } или выше
adv-descend-to = снижение до FL{ $fl } или ниже
adv-climb = набор высоты
adv-descend = снижение
adv-turn-right-to = отворот вправо на курс { $deg }° или более
adv-turn-left-to = отворот влево на курс { $deg }° или менее
adv-turn-right = отворот вправо
adv-turn-left = отворот влево
body-request-to-alter = ЗАПРОС НА ИЗМЕНЕНИЕ деятельности из сообщения { $regarding }: { $proposal }.
proposal-altitude-block = новый блок высот { $block }
proposal-time-window = новое время { $window }
body-reply = ОТВЕТ на сообщение { $in_reply_to }: { $answer }.
answer-accept = ПРИНЯТО
answer-reject = ОТКЛОНЕНО
answer-counter = ВСТРЕЧНОЕ ПРЕДЛОЖЕНИЕ: { $proposal }
body-incident-report = ДОКЛАД ОБ ИНЦИДЕНТЕ { $incident }: { $at }, в районе { $position }, борт { $track_a } ({ $party_a }) и борт { $track_b } ({ $party_b }) сблизились до { $closest_h } по горизонтали и { $closest_v } по вертикали.
body-investigation-request = ЗАПРОС НА РАССЛЕДОВАНИЕ инцидента { $incident }. Просим ответить до { $reply_by }.
body-acknowledgement = ПОДТВЕРЖДЕНИЕ получения сообщения { $of }. Дежурный офицер: { $officer }.
body-acknowledgement-by-role = ПОДТВЕРЖДЕНИЕ получения сообщения { $of }. Дежурный офицер.
role-duty-officer = Дежурный офицер
# Командование стороны, последний в её списке дежурных. Сторона названа рядом (в заголовке
# или в скобках), поэтому здесь не повторяется (выбор по $party только её принимает).
officer-command = { $party ->
   *[other] командование
}
# Сама служба деконфликтации как отправитель и получатель (проверки связи, оповещения).
party-service = служба деконфликтации
body-free-text = СВОБОДНЫЙ ТЕКСТ (без перевода, язык оригинала: { $written_in }): { $text }

## Что сделала линия

fx-deliver = { $at }: сообщение { $id } доставлено ({ $party }), дежурный офицер: { $officer }
fx-overdue = { $at }: сообщение { $id } ПРОСРОЧЕНО: получение не подтверждено ({ $party }, срок { $deadline })
fx-escalated = { $at }: сообщение { $id } ЭСКАЛИРОВАНО ({ $party }, уровень { $level }): { $from_officer } → { $to_officer }
fx-acknowledged = { $at }: получение сообщения { $id } подтверждено: { $officer } ({ $party }), через { $latency }{ $late ->
    [yes] , С ОПОЗДАНИЕМ
   *[no] {""}
}
fx-unanswered = { $at }: сообщение { $id } БЕЗ ОТВЕТА: получение не подтвердил никто, включая командование ({ $party })

## Отчёты

reach-line = Доступность линии ({ $party }) с { $start } по { $end }: вовремя { $in_time }, с опозданием { $late }, пропущено { $missed }, ожидается { $pending }
agreement-state = Состояние соглашения (объявленное): { $state }. Состояние линии (измеренное): { $reachable ->
    [yes] отвечает
   *[no] не отвечает
}.
conv-header = Переписка: { $subject }, { $count } { $count ->
    [one] сообщение
    [few] сообщения
   *[many] сообщений
}
story-title = Линия деконфликтации в работе ({ $language }, местное время UTC{ $offset })
story-link-test = 1. Плановая проверка связи
story-alert = 2. Переписка по оповещению о конфликте
story-escalation = 3. Предупреждение об ударе подтверждено с опозданием: эскалация
story-reachability = 4. Доступность линии и состояние соглашения
agreement-in-force = действует
agreement-suspended = приостановлено
agreement-not-in-force = ещё не вступило в силу
story-overdue-both-sides = Просроченные сообщения, как их видит { $party }: { $items }
