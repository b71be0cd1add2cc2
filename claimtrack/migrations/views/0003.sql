-- The research views as migration 0003 created them (restored by 0004's downgrade): 0002's, with
-- retraction. Retracted links and statements stay in claim_links_readable, event_timeline and speaker_claims,
-- marked; contested_claims leaves them out of the figures.
-- Frozen: a later change to a view goes into a new file for a new migration.

-- fragment live_counts(relation, prefix):
    $live_answers(count(*), $relation) AS ${prefix}_statements,
    $live_answers(count(DISTINCT o.speaker_id), $relation) AS ${prefix}_speakers

-- fragment counts:
$live_counts(contradicts, contradicting),
$live_counts(supports, supporting),
$live_counts(qualifies, qualifying)

-- fragment link_retraction:
,
    -- retracted: the link, or either of its statements, was retracted (it stays here, marked).
    ($link_retracted_looked_up) AS retracted,
$link_retracted_reason_looked_up

$claim_links_looked_up($source_list_0002, $link_retraction);

$contested_claims_looked_up($counts, $live_answered);

$event_timeline_looked_up($source_list_0002, $claim_retraction);

$speaker_claims_looked_up($source_list_0002, $claim_retraction);
