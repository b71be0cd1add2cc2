-- The research views as migration 0002 created them (restored by 0003's downgrade).
-- Frozen: a later change to a view goes into a new file for a new migration.
--
-- How the views are written, and why: see the docstring of migration 0002. In short, each view scans ONE
-- table in primary-key (or index) order and looks everything else up in correlated subqueries, which SQLite
-- evaluates only for the rows it returns, so Datasette's offset paging costs the same at any offset.

-- Every link between two statements, ready to read: same columns as in 0001, one row per claim_links row.
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
    (SELECT group_concat(
            coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')
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
    (SELECT group_concat(
            coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = l.from_claim_id) AS other_sources,
    (SELECT ev.name FROM claims c JOIN events ev ON ev.id = c.event_id
        WHERE c.id = l.to_claim_id) AS event,
    l.note,
    l.created_at
FROM claim_links l;

-- One row per statement that at least one other statement answers (contradicts, supports or qualifies),
-- with how many statements answer it each way and how many distinct speakers made them. "c.id IN (...)"
-- rather than EXISTS: SQLite walks the sorted list of answered ids, so a page costs the same (~0.2 s on a
-- million claims) at any offset, and a count is ~0.2 s instead of ~2 s.
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
    (SELECT count(*) FROM claim_links l
        WHERE l.to_claim_id = c.id AND l.relation = 'contradicts') AS contradicting_statements,
    (SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'contradicts') AS contradicting_speakers,
    (SELECT count(*) FROM claim_links l
        WHERE l.to_claim_id = c.id AND l.relation = 'supports') AS supporting_statements,
    (SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'supports') AS supporting_speakers,
    (SELECT count(*) FROM claim_links l
        WHERE l.to_claim_id = c.id AND l.relation = 'qualifies') AS qualifying_statements,
    (SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'qualifies') AS qualifying_speakers
FROM claims c
WHERE c.id IN (SELECT l.to_claim_id FROM claim_links l);

-- Every statement about an event, with who said it and whom they speak for. Datasette shows it in date
-- order (sort: stated_on, served by ix_claims_stated_on_event_verdict; by event id, ix_claims_event_stated).
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
    (SELECT group_concat(
            coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id) AS sources
FROM claims c
WHERE c.event_id IS NOT NULL;

-- One row per statement: the speaker, the organisation they speak for, the statement, its verdict, its sources.
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
    (SELECT s.outlet FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id ORDER BY cs.id LIMIT 1) AS first_outlet,
    (SELECT group_concat(
            coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id) AS sources
FROM claims c;
