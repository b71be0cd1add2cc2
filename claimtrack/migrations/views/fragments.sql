-- Fragments the views files share (format: claimtrack/migrations/viewsql.py). Frozen with the versions that
-- use them: what a released version creates must not change, so a new way of writing a part is a new fragment.

-- A claim's sources as one readable cell, "Outlet: Title <url>; ...", over claim_sources cs JOIN sources s.
-- define source_list: group_concat(coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')

-- The same list as 0002 and 0003 wrote it.
-- fragment source_list_0002:
group_concat(
            coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')

-- The sources of one claim (claim: its id) as one cell, found by the claim_sources index (from 0002 on).
-- fragment sources(claim, list):
(SELECT $list
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = $claim)

-- A link counts (is "live") when neither it nor the statement answering (o) is retracted.
-- define live_link: l.retracted = 0 AND o.retracted = 0

-- The live links answering claim c with one relation: what = count(*) or count(DISTINCT o.speaker_id).
-- fragment live_answers(what, relation):
(SELECT $what FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = '$relation' AND $live_link)

-- A statement that a live link answers, itself not retracted (from 0003 on).
-- fragment live_answered:
c.retracted = 0 AND c.id IN (
    SELECT l.to_claim_id FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
    WHERE $live_link)

-- A statement's retraction, as its own columns (from 0003 on).
-- fragment claim_retraction:
    c.retracted,
    c.retracted_reason,

-- claim_links_readable, every link between two statements, ready to read: the claim answered (c, claim_*) and
-- the statement answering it (o, other_*). Versions differ in how they look the statements up, how they write
-- the source lists, in the retraction columns after created_at (none before 0003) and in the joins.
-- fragment claim_links_readable(claim_id, claim, claim_sources, other_id, other, other_sources, event, retraction, joins):
CREATE VIEW claim_links_readable AS
SELECT
    l.id AS link_id,
    l.relation,
    $claim_id AS claim_id,
$claim
    $claim_sources AS claim_sources,
    $other_id AS other_id,
$other
    $other_sources AS other_sources,
    $event AS event,
    l.note,
    l.created_at$retraction
FROM claim_links l
$joins

-- Its statements' columns by joins (0001, and from 0005 on).
-- fragment claim_joined:
    c.text AS claim_text,
    csp.name AS claim_speaker,
    caf.name AS claim_speaker_affiliation,
    c.stated_on AS claim_stated_on,

-- fragment other_joined:
    o.text AS other_text,
    osp.name AS other_speaker,
    osp.kind AS other_speaker_kind,
    oaf.name AS other_speaker_affiliation,
    o.verbatim AS other_verbatim,
    o.stated_on AS other_stated_on,

-- Its statements' columns by correlated subqueries (0002 to 0004).
-- fragment statement_value(a, id, column):
(SELECT $a.$column FROM claims $a WHERE $a.id = $id)

-- fragment statement_speaker(a, id, column):
(SELECT sp.$column FROM claims $a JOIN speakers sp ON sp.id = $a.speaker_id
        WHERE $a.id = $id)

-- fragment statement_affiliation(a, id):
(SELECT af.name FROM claims $a JOIN speakers sp ON sp.id = $a.speaker_id JOIN speakers af ON af.id = sp.affiliation_id
        WHERE $a.id = $id)

-- fragment claim_looked_up:
    $statement_value(c, l.to_claim_id, text) AS claim_text,
    $statement_speaker(c, l.to_claim_id, name) AS claim_speaker,
    $statement_affiliation(c, l.to_claim_id) AS claim_speaker_affiliation,
    $statement_value(c, l.to_claim_id, stated_on) AS claim_stated_on,

-- fragment other_looked_up:
    $statement_value(o, l.from_claim_id, text) AS other_text,
    $statement_speaker(o, l.from_claim_id, name) AS other_speaker,
    $statement_speaker(o, l.from_claim_id, kind) AS other_speaker_kind,
    $statement_affiliation(o, l.from_claim_id) AS other_speaker_affiliation,
    $statement_value(o, l.from_claim_id, verbatim) AS other_verbatim,
    $statement_value(o, l.from_claim_id, stated_on) AS other_stated_on,

-- fragment link_event_looked_up:
(SELECT ev.name FROM claims c JOIN events ev ON ev.id = c.event_id
        WHERE c.id = l.to_claim_id)

-- "retracted": the link, or either of its statements, was retracted (it stays in the view, marked). The
-- link's own reason, else its statements' (0003 and 0004).
-- fragment link_retracted_looked_up:
l.retracted OR $statement_value(c, l.to_claim_id, retracted)
        OR $statement_value(o, l.from_claim_id, retracted)

-- fragment link_retracted_reason_looked_up:
    coalesce(l.retracted_reason,
        (SELECT 'statement retracted: ' || c.retracted_reason FROM claims c WHERE c.id = l.to_claim_id AND c.retracted),
        (SELECT 'statement retracted: ' || o.retracted_reason FROM claims o WHERE o.id = l.from_claim_id AND o.retracted)
    ) AS retracted_reason

-- contested_claims (from 0002 on): one row per statement that others answer, with how many statements answer
-- it each way and how many distinct speakers made them. Versions differ in how they look the speaker and event
-- up, in what they count (counts) and which statements they list (answered).
-- fragment contested_claims(speaker, event, counts, joins, answered):
CREATE VIEW contested_claims AS
SELECT
    c.id AS claim_id,
    c.text AS claim_text,
    c.speaker_id,
$speaker
    c.event_id,
    $event AS event,
    c.stated_on,
    c.verdict,
$counts
FROM claims c
$joins
WHERE $answered

-- event_timeline (from 0002 on): every statement about an event, with who said it and whom they speak for.
-- fragment event_timeline(speaker, event, retraction, list, joins):
CREATE VIEW event_timeline AS
SELECT
    c.event_id,
    $event AS event,
    c.stated_on,
    c.stated_time,
    c.id AS claim_id,
    c.speaker_id,
$speaker
    c.text AS claim_text,
    c.verbatim,
    c.verdict,
    c.context,
$retraction
    $sources(c.id, $list) AS sources
FROM claims c
$joins
WHERE c.event_id IS NOT NULL

-- speaker_claims (from 0002 on): one row per statement, with its speaker and the organisation they speak for.
-- fragment speaker_claims(speaker, event, retraction, list, joins):
CREATE VIEW speaker_claims AS
SELECT
    c.speaker_id,
$speaker
    c.id AS claim_id,
    c.text AS claim_text,
    c.verbatim,
    c.stated_on,
    c.event_id,
    $event AS event,
    c.verdict,
    c.verdict_rationale,
$retraction
    (SELECT s.outlet FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id ORDER BY cs.id LIMIT 1) AS first_outlet,
    $sources(c.id, $list) AS sources
FROM claims c
$joins

-- A statement's speaker and event by correlated subqueries (0002 to 0004).
-- fragment speaker_of(column):
(SELECT sp.$column FROM speakers sp WHERE sp.id = c.speaker_id)

-- fragment affiliation_of:
(SELECT af.name FROM speakers sp JOIN speakers af ON af.id = sp.affiliation_id
        WHERE sp.id = c.speaker_id)

-- define event_looked_up: (SELECT ev.name FROM events ev WHERE ev.id = c.event_id)

-- fragment speaker_looked_up:
    $speaker_of(name) AS speaker,
    $speaker_of(kind) AS speaker_kind,
    $affiliation_of AS speaker_affiliation,

-- fragment speaker_claims_speaker_looked_up:
    $speaker_of(name) AS speaker,
    $speaker_of(kind) AS speaker_kind,
    $speaker_of(anonymous) AS speaker_anonymous,
    $affiliation_of AS organisation,

-- The counts of live links answering claim c with one relation, CAST: a count has no type affinity, and
-- Datasette's ?contradicting_statements=5 compares with the text '5' (from 0004 on).
-- fragment live_counts_cast(relation, prefix):
    CAST($live_answers(count(*), $relation) AS INTEGER) AS ${prefix}_statements,
    CAST($live_answers(count(DISTINCT o.speaker_id), $relation) AS INTEGER) AS ${prefix}_speakers

-- fragment live_counts_and_retracted:
$live_counts_cast(contradicts, contradicting),
$live_counts_cast(supports, supporting),
$live_counts_cast(qualifies, qualifying),
    -- Always 0 (retracted statements are left out), so that ?retracted=0 works here as on the other views.
    c.retracted

-- The four views as 0002 to 0004 write them, looking everything up by correlated subqueries: list, how the
-- source lists are written; the rest, what each version adds for retraction (nothing in 0002).
-- fragment claim_links_looked_up(list, retraction):
$claim_links_readable(l.to_claim_id, $claim_looked_up, $sources(l.to_claim_id, $list), l.from_claim_id, $other_looked_up, $sources(l.from_claim_id, $list), $link_event_looked_up, $retraction, )

-- fragment contested_claims_looked_up(counts, answered):
$contested_claims($speaker_looked_up, $event_looked_up, $counts, , $answered)

-- fragment event_timeline_looked_up(list, retraction):
$event_timeline($speaker_looked_up, $event_looked_up, $retraction, $list, )

-- fragment speaker_claims_looked_up(list, retraction):
$speaker_claims($speaker_claims_speaker_looked_up, $event_looked_up, $retraction, $list, )
