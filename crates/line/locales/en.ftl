# English templates for the deconfliction line. Every message here must exist in every other
# locales/*.ftl file (the build fails otherwise). Variables are filled by src/render.rs.

meta-language-name = English
meta-decimal-separator = .

## Quantities

hemi-n = N
hemi-s = S
hemi-e = E
hemi-w = W
fmt-position = { $lat }, { $lon }
fmt-altitude = { $ft } ft ({ $m } m)
fmt-distance = { $nm } NM ({ $km } km)
fmt-time = { $utc } UTC ({ $local } local, UTC{ $offset })
fmt-block = from { $lower } to { $upper }
fmt-window = from { $start } to { $end }
# Durations: nominative ("deadline 2 minutes") and after "in"/"after" (accusative in Russian).
dur-hours = { $n } { $n ->
    [one] hour
   *[other] hours
}
dur-minutes = { $n } { $n ->
    [one] minute
   *[other] minutes
}
dur-seconds = { $n } { $n ->
    [one] second
   *[other] seconds
}
dur-hours-acc = { $n } { $n ->
    [one] hour
   *[other] hours
}
dur-minutes-acc = { $n } { $n ->
    [one] minute
   *[other] minutes
}
dur-seconds-acc = { $n } { $n ->
    [one] second
   *[other] seconds
}
area-circle = circle of radius { $radius } centred on { $centre }
area-polygon = polygon with vertices { $vertices }
callsigns-none = none

## Envelope

msg-header = Message { $id } from { $from } to { $to }, sent { $sent }
msg-subject = Subject: { $subject }
subject-alert = alert { $id }
subject-notification = notification { $id }
subject-incident = incident { $id }
subject-link-test = link test { $id }
subject-general = { $id }

## Bodies, one per message kind

body-link-test = LINK TEST scheduled for { $scheduled }. Acknowledge to confirm that the line is answered.
body-notification-of-operations = NOTIFICATION OF OPERATIONS { $notification }. Area: { $area }. Altitudes: { $block }. Time: { $window }. Callsigns: { $callsigns }.
body-strike-warning = { $activity ->
    [strike] STRIKE WARNING
   *[other] ACTIVITY WARNING
}. Area: { $area }. Altitudes: { $block }. Time: { $window }.
body-conflict-alert = CONFLICT ALERT { $alert }, { $level ->
        [1] preventive
        [2] corrective
       *[3] warning
    }: { $party_a } track { $track_a } and { $party_b } track { $track_b }. Loss of separation in { $time_to_los }. Predicted closest approach: { $cpa_h } horizontally, { $cpa_v } vertically.
advice-own = ADVICE for { $party } track { $track }: { $manoeuvre }.
advice-other = Advice for { $party } track { $track }: { $manoeuvre }.
adv-manoeuvre = { $vertical }; { $turn }
adv-climb-to = climb to FL{ $fl } or above
adv-descend-to = descend to FL{ $fl } or below
adv-climb = climb
adv-descend = descend
adv-turn-right-to = turn right to { $deg }° or more
adv-turn-left-to = turn left to { $deg }° or less
adv-turn-right = turn right
adv-turn-left = turn left
body-request-to-alter = REQUEST TO ALTER the operation of message { $regarding }: { $proposal }.
proposal-altitude-block = new altitude block { $block }
proposal-time-window = new time { $window }
body-reply = REPLY to message { $in_reply_to }: { $answer }.
answer-accept = ACCEPTED
answer-reject = REJECTED
answer-counter = COUNTER-PROPOSAL: { $proposal }
body-incident-report = INCIDENT REPORT { $incident }: at { $at }, near { $position }, { $party_a } track { $track_a } and { $party_b } track { $track_b } came within { $closest_h } horizontally and { $closest_v } vertically.
body-investigation-request = REQUEST FOR INVESTIGATION of incident { $incident }. Please answer by { $reply_by }.
body-acknowledgement = ACKNOWLEDGEMENT of message { $of }. Duty officer: { $officer }.
body-acknowledgement-by-role = ACKNOWLEDGEMENT of message { $of }. Duty officer.
role-duty-officer = Duty officer
# A party's command, the last officer on its roster.
officer-command = { $party } command
# The deconfliction service itself as a sender or recipient (link tests, conflict alerts).
party-service = deconfliction service
body-free-text = FREE TEXT (untranslated, written in { $written_in }): { $text }

## What the line did (effects)

fx-deliver = { $at }: message { $id } delivered to { $party } duty officer { $officer }
fx-overdue = { $at }: message { $id } is OVERDUE: { $party } did not acknowledge it (deadline { $deadline })
fx-escalated = { $at }: message { $id } ESCALATED from { $from_officer } to { $to_officer } ({ $party }, level { $level })
fx-acknowledged = { $at }: message { $id } acknowledged by { $officer } ({ $party }) after { $latency }{ $late ->
    [yes] , LATE
   *[no] {""}
}
fx-unanswered = { $at }: message { $id } UNANSWERED: nobody at { $party }, up to its command, acknowledged it

## Reports

reach-line = Line reachability of { $party } from { $start } to { $end }: { $in_time } answered in time, { $late } late, { $missed } missed, { $pending } pending
agreement-state = Agreement state (declared): { $state }. Line state (measured): { $reachable ->
    [yes] answering
   *[no] not answering
}.
conv-header = Conversation on { $subject }: { $count } { $count ->
    [one] message
   *[other] messages
}
story-title = The deconfliction line at work ({ $language }, local time UTC{ $offset })
story-link-test = 1. Scheduled link test
story-alert = 2. Conflict alert conversation
story-escalation = 3. Strike warning acknowledged late: escalation
story-reachability = 4. Reachability and agreement state
agreement-in-force = in force
agreement-suspended = suspended
agreement-not-in-force = not yet in force
story-overdue-both-sides = Overdue as { $party } sees it: { $items }
