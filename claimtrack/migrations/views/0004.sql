-- The research views from migration 0004 on (restored by the next migration's downgrade, if it changes them).
-- 0003's views, with every computed integer column a researcher filters or facets on (retracted, the counts)
-- CAST to INTEGER: an expression has no type affinity, so Datasette's ?retracted=0, which compares with the
-- text '0', matched no row. Columns taken straight from a table, or a subquery returning one, keep the
-- table's affinity and need no CAST. contested_claims gains a retracted column (always 0).
--
-- Each view scans ONE table and looks everything else up in correlated subqueries, so that Datasette's offset
-- paging costs the same at any offset (see migration 0002).
--
-- Fragments, expanded where $name appears below (claimtrack/migrations/viewsql.py):
-- A link counts (is "live") when neither it nor the statement answering (o) is retracted.
-- define live_link: l.retracted = 0 AND o.retracted = 0
-- A claim's sources as one readable cell, "Outlet: Title <url>; ...", over claim_sources cs JOIN sources s.
-- define source_list: group_concat(coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')

-- Every link between two statements, ready to read; retracted links and statements stay, marked.
CREATE VIEW claim_links_readable AS
SELECT
    l.id AS link_id,
    l.relation,
    l.to_claim_id AS claim_id,
    (SELECT c.text FROM claims c WHERE c.id = l.to_claim_id) AS claim_text,
    (SELECT sp.name FROM claims c JOIN speakers sp ON sp.id = c.speaker_id
        WHERE c.id = l.to_claim_id) AS claim_speaker,
    (SELECT af.name FROM claims c JOIN speakers sp ON sp.id = c.speaker_id JOIN speakers af ON af.id = sp.affiliation_id
        WHERE c.id = l.to_claim_id) AS claim_speaker_affiliation,
    (SELECT c.stated_on FROM claims c WHERE c.id = l.to_claim_id) AS claim_stated_on,
    (SELECT $source_list
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = l.to_claim_id) AS claim_sources,
    l.from_claim_id AS other_id,
    (SELECT o.text FROM claims o WHERE o.id = l.from_claim_id) AS other_text,
    (SELECT sp.name FROM claims o JOIN speakers sp ON sp.id = o.speaker_id
        WHERE o.id = l.from_claim_id) AS other_speaker,
    (SELECT sp.kind FROM claims o JOIN speakers sp ON sp.id = o.speaker_id
        WHERE o.id = l.from_claim_id) AS other_speaker_kind,
    (SELECT af.name FROM claims o JOIN speakers sp ON sp.id = o.speaker_id JOIN speakers af ON af.id = sp.affiliation_id
        WHERE o.id = l.from_claim_id) AS other_speaker_affiliation,
    (SELECT o.verbatim FROM claims o WHERE o.id = l.from_claim_id) AS other_verbatim,
    (SELECT o.stated_on FROM claims o WHERE o.id = l.from_claim_id) AS other_stated_on,
    (SELECT $source_list
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = l.from_claim_id) AS other_sources,
    (SELECT ev.name FROM claims c JOIN events ev ON ev.id = c.event_id
        WHERE c.id = l.to_claim_id) AS event,
    l.note,
    l.created_at,
    -- retracted: the link, or either of its statements, was retracted (it stays here, marked).
    -- CAST: an OR has no type affinity, and Datasette's ?retracted=0 compares with the text '0'.
    CAST(l.retracted OR (SELECT c.retracted FROM claims c WHERE c.id = l.to_claim_id)
        OR (SELECT o.retracted FROM claims o WHERE o.id = l.from_claim_id) AS INTEGER) AS retracted,
    coalesce(l.retracted_reason,
        (SELECT 'statement retracted: ' || c.retracted_reason FROM claims c WHERE c.id = l.to_claim_id AND c.retracted),
        (SELECT 'statement retracted: ' || o.retracted_reason FROM claims o WHERE o.id = l.from_claim_id AND o.retracted)
    ) AS retracted_reason
FROM claim_links l;

-- One row per statement (not retracted) that a live link answers, with how many live links answer it each
-- way and how many distinct speakers made them; "c.id IN (...)" rather than EXISTS (see views/0002.sql).
-- CAST: a count has no type affinity, and Datasette's ?contradicting_statements=5 compares with the text '5'.
CREATE VIEW contested_claims AS
SELECT
    c.id AS claim_id,
    c.text AS claim_text,
    c.speaker_id,
    (SELECT sp.name FROM speakers sp WHERE sp.id = c.speaker_id) AS speaker,
    (SELECT sp.kind FROM speakers sp WHERE sp.id = c.speaker_id) AS speaker_kind,
    (SELECT af.name FROM speakers sp JOIN speakers af ON af.id = sp.affiliation_id
        WHERE sp.id = c.speaker_id) AS speaker_affiliation,
    c.event_id,
    (SELECT ev.name FROM events ev WHERE ev.id = c.event_id) AS event,
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
WHERE c.retracted = 0 AND c.id IN (
    SELECT l.to_claim_id FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
    WHERE $live_link);

-- Every statement about an event, in date order by default; retracted ones stay, marked.
CREATE VIEW event_timeline AS
SELECT
    c.event_id,
    (SELECT ev.name FROM events ev WHERE ev.id = c.event_id) AS event,
    c.stated_on,
    c.stated_time,
    c.id AS claim_id,
    c.speaker_id,
    (SELECT sp.name FROM speakers sp WHERE sp.id = c.speaker_id) AS speaker,
    (SELECT sp.kind FROM speakers sp WHERE sp.id = c.speaker_id) AS speaker_kind,
    (SELECT af.name FROM speakers sp JOIN speakers af ON af.id = sp.affiliation_id
        WHERE sp.id = c.speaker_id) AS speaker_affiliation,
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
WHERE c.event_id IS NOT NULL;

-- One row per statement with its speaker and the organisation they speak for; retracted ones stay, marked.
CREATE VIEW speaker_claims AS
SELECT
    c.speaker_id,
    (SELECT sp.name FROM speakers sp WHERE sp.id = c.speaker_id) AS speaker,
    (SELECT sp.kind FROM speakers sp WHERE sp.id = c.speaker_id) AS speaker_kind,
    (SELECT sp.anonymous FROM speakers sp WHERE sp.id = c.speaker_id) AS speaker_anonymous,
    (SELECT af.name FROM speakers sp JOIN speakers af ON af.id = sp.affiliation_id
        WHERE sp.id = c.speaker_id) AS organisation,
    c.id AS claim_id,
    c.text AS claim_text,
    c.verbatim,
    c.stated_on,
    c.event_id,
    (SELECT ev.name FROM events ev WHERE ev.id = c.event_id) AS event,
    c.verdict,
    c.verdict_rationale,
    c.retracted,
    c.retracted_reason,
    (SELECT s.outlet FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id ORDER BY cs.id LIMIT 1) AS first_outlet,
    (SELECT $source_list
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id) AS sources
FROM claims c;
