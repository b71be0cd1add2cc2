-- The research views as migration 0003 created them (restored by 0004's downgrade): 0002's, with
-- retraction. Retracted links and statements stay in claim_links_readable, event_timeline and speaker_claims,
-- marked; contested_claims leaves them out of the figures.
-- Frozen: a later change to a view goes into a new file for a new migration.

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
    l.created_at,
    -- retracted: the link, or either of its statements, was retracted (it stays here, marked).
    (l.retracted OR (SELECT c.retracted FROM claims c WHERE c.id = l.to_claim_id)
        OR (SELECT o.retracted FROM claims o WHERE o.id = l.from_claim_id)) AS retracted,
    coalesce(l.retracted_reason,
        (SELECT 'statement retracted: ' || c.retracted_reason FROM claims c WHERE c.id = l.to_claim_id AND c.retracted),
        (SELECT 'statement retracted: ' || o.retracted_reason FROM claims o WHERE o.id = l.from_claim_id AND o.retracted)
    ) AS retracted_reason
FROM claim_links l;

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
    (SELECT count(*) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'contradicts' AND l.retracted = 0 AND o.retracted = 0) AS contradicting_statements,
    (SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'contradicts' AND l.retracted = 0 AND o.retracted = 0) AS contradicting_speakers,
    (SELECT count(*) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'supports' AND l.retracted = 0 AND o.retracted = 0) AS supporting_statements,
    (SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'supports' AND l.retracted = 0 AND o.retracted = 0) AS supporting_speakers,
    (SELECT count(*) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'qualifies' AND l.retracted = 0 AND o.retracted = 0) AS qualifying_statements,
    (SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = 'qualifies' AND l.retracted = 0 AND o.retracted = 0) AS qualifying_speakers
FROM claims c
WHERE c.retracted = 0 AND c.id IN (
    SELECT l.to_claim_id FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
    WHERE l.retracted = 0 AND o.retracted = 0);

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
    (SELECT group_concat(
            coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id) AS sources
FROM claims c
WHERE c.event_id IS NOT NULL;

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
    (SELECT group_concat(
            coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id) AS sources
FROM claims c;
