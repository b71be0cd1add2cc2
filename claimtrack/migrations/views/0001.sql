-- The research views as migration 0001 created them (restored by 0002's downgrade).
-- Frozen: a later change to a view goes into a new file for a new migration.

-- The sources of a claim as 0001 wrote them.
-- fragment sources_0001(claim):
(SELECT group_concat(
        coalesce(s.outlet || ': ', '') || coalesce(s.title, '') || coalesce(' <' || s.url || '>', ''), '; ')
     FROM claim_sources cs JOIN sources s ON s.id = cs.source_id WHERE cs.claim_id = $claim)

-- fragment link_joins_0001:
JOIN claims c ON c.id = l.to_claim_id
JOIN speakers csp ON csp.id = c.speaker_id
LEFT JOIN speakers caf ON caf.id = csp.affiliation_id
JOIN claims o ON o.id = l.from_claim_id
JOIN speakers osp ON osp.id = o.speaker_id
LEFT JOIN speakers oaf ON oaf.id = osp.affiliation_id
LEFT JOIN events ev ON ev.id = c.event_id

-- Every link between two statements, ready to read: the statement answered (claim_*) and the one answering
-- it (other_*), with speakers, sources and event, by joins.
$claim_links_readable(c.id, $claim_joined, $sources_0001(c.id), o.id, $other_joined, $sources_0001(o.id), ev.name, , $link_joins_0001);
