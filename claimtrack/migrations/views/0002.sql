-- The research views as migration 0002 created them (restored by 0003's downgrade).
-- Frozen: a later change to a view goes into a new file for a new migration.
--
-- How the views are written, and why: see the docstring of migration 0002. In short, each view scans ONE
-- table in primary-key (or index) order and looks everything else up in correlated subqueries, which SQLite
-- evaluates only for the rows it returns, so Datasette's offset paging costs the same at any offset.

-- How many links answer claim c with one relation, and how many distinct speakers made them.
-- fragment answer_counts(relation, prefix):
    (SELECT count(*) FROM claim_links l
        WHERE l.to_claim_id = c.id AND l.relation = '$relation') AS ${prefix}_statements,
    (SELECT count(DISTINCT o.speaker_id) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = c.id AND l.relation = '$relation') AS ${prefix}_speakers

-- fragment counts:
$answer_counts(contradicts, contradicting),
$answer_counts(supports, supporting),
$answer_counts(qualifies, qualifying)

-- Every link between two statements: same columns as in 0001, one row per claim_links row.
$claim_links_looked_up($source_list_0002, );

-- "c.id IN (...)" rather than EXISTS: SQLite walks the sorted list of answered ids, so a page costs the same
-- (~0.2 s on a million claims) at any offset, and a count is ~0.2 s instead of ~2 s.
$contested_claims_looked_up($counts, c.id IN (SELECT l.to_claim_id FROM claim_links l));

-- Datasette shows it in date order (sort: stated_on, served by ix_claims_stated_on_event_verdict; by event
-- id, ix_claims_event_stated).
$event_timeline_looked_up($source_list_0002, );

$speaker_claims_looked_up($source_list_0002, );
