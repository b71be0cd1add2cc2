-- The research views from migration 0005 on (restored by the next migration's downgrade, if it changes them).
-- 0004's views, same columns, rows, values and types, with the lookups done once per row by joins instead of
-- one correlated subquery per column: claim_links_readable looked its two statements up eleven times a row.
-- LEFT JOIN keeps every row of the scanned table (as a subquery finding nothing gave NULL) and, being
-- evaluated in the order written, keeps that table as the outer loop, so the rows come in the same order.
-- A claim's sources stay a correlated subquery: an aggregate per row, found by the claim_sources index.
--
-- Fragments, expanded where $name appears below (claimtrack/migrations/viewsql.py):
-- A link counts (is "live") when neither it nor the statement answering (o) is retracted.
-- define live_link: l.retracted = 0 AND o.retracted = 0
-- A claim's sources as one readable cell, "Outlet: Title <url>; ...", over claim_sources cs JOIN sources s.
-- define source_list: group_concat(coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')

-- Every link between two statements, ready to read; retracted links and statements stay, marked.
-- c: the claim answered, o: the statement answering it.
CREATE VIEW claim_links_readable AS
SELECT
    l.id AS link_id,
    l.relation,
    l.to_claim_id AS claim_id,
    c.text AS claim_text,
    csp.name AS claim_speaker,
    caf.name AS claim_speaker_affiliation,
    c.stated_on AS claim_stated_on,
    (SELECT $source_list
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = l.to_claim_id) AS claim_sources,
    l.from_claim_id AS other_id,
    o.text AS other_text,
    osp.name AS other_speaker,
    osp.kind AS other_speaker_kind,
    oaf.name AS other_speaker_affiliation,
    o.verbatim AS other_verbatim,
    o.stated_on AS other_stated_on,
    (SELECT $source_list
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = l.from_claim_id) AS other_sources,
    ev.name AS event,
    l.note,
    l.created_at,
    -- retracted: the link, or either of its statements, was retracted (it stays here, marked).
    -- CAST: an OR has no type affinity, and Datasette's ?retracted=0 compares with the text '0'.
    CAST(l.retracted OR c.retracted OR o.retracted AS INTEGER) AS retracted,
    coalesce(l.retracted_reason,
        CASE WHEN c.retracted THEN 'statement retracted: ' || c.retracted_reason END,
        CASE WHEN o.retracted THEN 'statement retracted: ' || o.retracted_reason END
    ) AS retracted_reason
FROM claim_links l
LEFT JOIN claims c ON c.id = l.to_claim_id
LEFT JOIN speakers csp ON csp.id = c.speaker_id
LEFT JOIN speakers caf ON caf.id = csp.affiliation_id
LEFT JOIN events ev ON ev.id = c.event_id
LEFT JOIN claims o ON o.id = l.from_claim_id
LEFT JOIN speakers osp ON osp.id = o.speaker_id
LEFT JOIN speakers oaf ON oaf.id = osp.affiliation_id;

-- One row per statement (not retracted) that a live link answers, with how many live links answer it each
-- way and how many distinct speakers made them; "c.id IN (...)" rather than EXISTS (see views/0002.sql).
-- CAST: a count has no type affinity, and Datasette's ?contradicting_statements=5 compares with the text '5'.
CREATE VIEW contested_claims AS
SELECT
    c.id AS claim_id,
    c.text AS claim_text,
    c.speaker_id,
    sp.name AS speaker,
    sp.kind AS speaker_kind,
    af.name AS speaker_affiliation,
    c.event_id,
    ev.name AS event,
    c.stated_on,
    c.verdict,
    CAST((SELECT count(*) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'contradicts' AND $live_link) AS INTEGER) AS contradicting_statements,
    CAST((SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'contradicts' AND $live_link) AS INTEGER) AS contradicting_speakers,
    CAST((SELECT count(*) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'supports' AND $live_link) AS INTEGER) AS supporting_statements,
    CAST((SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'supports' AND $live_link) AS INTEGER) AS supporting_speakers,
    CAST((SELECT count(*) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'qualifies' AND $live_link) AS INTEGER) AS qualifying_statements,
    CAST((SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'qualifies' AND $live_link) AS INTEGER) AS qualifying_speakers,
    -- Always 0 (retracted statements are left out), so that ?retracted=0 works here as on the other views.
    c.retracted
FROM claims c
LEFT JOIN speakers sp ON sp.id = c.speaker_id
LEFT JOIN speakers af ON af.id = sp.affiliation_id
LEFT JOIN events ev ON ev.id = c.event_id
WHERE c.retracted = 0 AND c.id IN (
    SELECT l.to_claim_id FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
    WHERE $live_link);

-- Every statement about an event, in date order by default; retracted ones stay, marked.
CREATE VIEW event_timeline AS
SELECT
    c.event_id,
    ev.name AS event,
    c.stated_on,
    c.stated_time,
    c.id AS claim_id,
    c.speaker_id,
    sp.name AS speaker,
    sp.kind AS speaker_kind,
    af.name AS speaker_affiliation,
    c.text AS claim_text,
    c.verbatim,
    c.verdict,
    c.context,
    c.retracted,
    c.retracted_reason,
    (SELECT $source_list
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id) AS sources
FROM claims c
LEFT JOIN events ev ON ev.id = c.event_id
LEFT JOIN speakers sp ON sp.id = c.speaker_id
LEFT JOIN speakers af ON af.id = sp.affiliation_id
WHERE c.event_id IS NOT NULL;

-- One row per statement with its speaker and the organisation they speak for; retracted ones stay, marked.
CREATE VIEW speaker_claims AS
SELECT
    c.speaker_id,
    sp.name AS speaker,
    sp.kind AS speaker_kind,
    sp.anonymous AS speaker_anonymous,
    af.name AS organisation,
    c.id AS claim_id,
    c.text AS claim_text,
    c.verbatim,
    c.stated_on,
    c.event_id,
    ev.name AS event,
    c.verdict,
    c.verdict_rationale,
    c.retracted,
    c.retracted_reason,
    (SELECT s.outlet FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id ORDER BY cs.id LIMIT 1) AS first_outlet,
    (SELECT $source_list
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id) AS sources
FROM claims c
LEFT JOIN speakers sp ON sp.id = c.speaker_id
LEFT JOIN speakers af ON af.id = sp.affiliation_id
LEFT JOIN events ev ON ev.id = c.event_id;
