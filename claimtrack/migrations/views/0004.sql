-- The research views as migration 0004 created them (restored by 0005's downgrade).
-- 0003's views, with every computed integer column a researcher filters or facets on (retracted, the counts)
-- CAST to INTEGER: an expression has no type affinity, so Datasette's ?retracted=0, which compares with the
-- text '0', matched no row. Columns taken straight from a table, or a subquery returning one, keep the
-- table's affinity and need no CAST. contested_claims gains a retracted column (always 0).
--
-- Each view scans ONE table and looks everything else up in correlated subqueries, so that Datasette's offset
-- paging costs the same at any offset (see migration 0002).

-- fragment link_retraction:
,
    -- retracted: the link, or either of its statements, was retracted (it stays here, marked).
    -- CAST: an OR has no type affinity, and Datasette's ?retracted=0 compares with the text '0'.
    CAST($link_retracted_looked_up AS INTEGER) AS retracted,
$link_retracted_reason_looked_up

$claim_links_looked_up($source_list, $link_retraction);

-- "c.id IN (...)" rather than EXISTS (see views/0002.sql).
$contested_claims_looked_up($live_counts_and_retracted, $live_answered);

$event_timeline_looked_up($source_list, $claim_retraction);

$speaker_claims_looked_up($source_list, $claim_retraction);
