-- The research views as migration 0001 created them (restored by 0002's downgrade).
-- Frozen: a later change to a view goes into a new file for a new migration.

-- Every link between two statements, ready to read: the statement answered (claim_*) and the one answering
-- it (other_*), with speakers, sources and event.
CREATE VIEW claim_links_readable AS
SELECT
    l.id AS link_id,
    l.relation,
    c.id AS claim_id,
    c.text AS claim_text,
    csp.name AS claim_speaker,
    caf.name AS claim_speaker_affiliation,
    c.stated_on AS claim_stated_on,
    (SELECT group_concat(
        coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')
     FROM claim_sources cs JOIN sources s ON s.id = cs.source_id WHERE cs.claim_id = c.id) AS claim_sources,
    o.id AS other_id,
    o.text AS other_text,
    osp.name AS other_speaker,
    osp.kind AS other_speaker_kind,
    oaf.name AS other_speaker_affiliation,
    o.verbatim AS other_verbatim,
    o.stated_on AS other_stated_on,
    (SELECT group_concat(
        coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')
     FROM claim_sources cs JOIN sources s ON s.id = cs.source_id WHERE cs.claim_id = o.id) AS other_sources,
    ev.name AS event,
    l.note,
    l.created_at
FROM claim_links l
JOIN claims c ON c.id = l.to_claim_id
JOIN speakers csp ON csp.id = c.speaker_id
LEFT JOIN speakers caf ON caf.id = csp.affiliation_id
JOIN claims o ON o.id = l.from_claim_id
JOIN speakers osp ON osp.id = o.speaker_id
LEFT JOIN speakers oaf ON oaf.id = osp.affiliation_id
LEFT JOIN events ev ON ev.id = c.event_id;
