-- The research views from migration 0005 on (restored by the next migration's downgrade, if it changes them).
-- 0004's views, same columns, rows, values and types, with the lookups done once per row by joins instead of
-- one correlated subquery per column: claim_links_readable looked its two statements up eleven times a row.
-- LEFT JOIN keeps every row of the scanned table (as a subquery finding nothing gave NULL) and, being
-- evaluated in the order written, keeps that table as the outer loop, so the rows come in the same order.
-- A claim's sources stay a correlated subquery: an aggregate per row, found by the claim_sources index.

-- fragment link_retraction:
,
    -- retracted: the link, or either of its statements, was retracted (it stays here, marked).
    -- CAST: an OR has no type affinity, and Datasette's ?retracted=0 compares with the text '0'.
    CAST(l.retracted OR c.retracted OR o.retracted AS INTEGER) AS retracted,
    coalesce(l.retracted_reason,
        CASE WHEN c.retracted THEN 'statement retracted: ' || c.retracted_reason END,
        CASE WHEN o.retracted THEN 'statement retracted: ' || o.retracted_reason END
    ) AS retracted_reason

-- c: the claim answered, o: the statement answering it.
-- fragment link_joins:
LEFT JOIN claims c ON c.id = l.to_claim_id
LEFT JOIN speakers csp ON csp.id = c.speaker_id
LEFT JOIN speakers caf ON caf.id = csp.affiliation_id
LEFT JOIN events ev ON ev.id = c.event_id
LEFT JOIN claims o ON o.id = l.from_claim_id
LEFT JOIN speakers osp ON osp.id = o.speaker_id
LEFT JOIN speakers oaf ON oaf.id = osp.affiliation_id

-- fragment speaker_joins:
LEFT JOIN speakers sp ON sp.id = c.speaker_id
LEFT JOIN speakers af ON af.id = sp.affiliation_id

-- fragment speaker_then_event_joins:
$speaker_joins
LEFT JOIN events ev ON ev.id = c.event_id

-- fragment event_then_speaker_joins:
LEFT JOIN events ev ON ev.id = c.event_id
$speaker_joins

-- fragment speaker_joined:
    sp.name AS speaker,
    sp.kind AS speaker_kind,
    af.name AS speaker_affiliation,

-- fragment speaker_claims_speaker_joined:
    sp.name AS speaker,
    sp.kind AS speaker_kind,
    sp.anonymous AS speaker_anonymous,
    af.name AS organisation,

$claim_links_readable(l.to_claim_id, $claim_joined, $sources(l.to_claim_id, $source_list), l.from_claim_id, $other_joined, $sources(l.from_claim_id, $source_list), ev.name, $link_retraction, $link_joins);

$contested_claims($speaker_joined, ev.name, $live_counts_and_retracted, $speaker_then_event_joins, $live_answered);

$event_timeline($speaker_joined, ev.name, $claim_retraction, $source_list, $event_then_speaker_joins);

$speaker_claims($speaker_claims_speaker_joined, ev.name, $claim_retraction, $source_list, $speaker_then_event_joins);
