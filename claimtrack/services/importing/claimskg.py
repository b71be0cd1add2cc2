"""The flattened ClaimReview CSV that the ClaimsKG extractor writes (``claimReview_*``, ``rating_*`` columns).

In PolitiFact rows ``creativeWork_author_name`` is the staff writer, not the claimant: the claimant is the
slug in the review URL (``/factchecks/2021/jul/22/bobby-scott/...``) and ``claimReview_datePublished`` is the
day the claim was made. In other sources' rows ``creativeWork_author_name`` is the claimant.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

from claimtrack.services.importing.claimreview import UNKNOWN_SPEAKER
from claimtrack.services.importing.records import FormatError, Record, Rejected, blank, day, humanize_slug

REQUIRED = {"claimReview_claimReviewed", "rating_alternateName", "claimReview_url"}
_POLITIFACT = re.compile(r"politifact\.com/factchecks/([0-9]{4})/([a-z]{3})/([0-9]{1,2})/([^/]+)/", re.IGNORECASE)
_MONTHS = {
    m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
}


def looks_like(path: Path, head: str) -> bool:
    first = head.lstrip("\ufeff").splitlines()[0] if head else ""
    return set(next(csv.reader([first]), [])) >= REQUIRED


def read(path: Path) -> Iterator[Record | Rejected]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = REQUIRED - set(reader.fieldnames or [])
        if missing:
            raise FormatError(f"{path.name} is not a ClaimsKG CSV: missing column(s) {', '.join(sorted(missing))}")
        for row in reader:
            number = reader.line_num
            url = blank(row.get("claimReview_url")) or ""
            politifact = _POLITIFACT.search(url)
            review_date = None
            if politifact:
                year, month, dd, slug = politifact.groups()
                speaker = humanize_slug(slug)
                month_no = _MONTHS.get(month.lower())
                if month_no:
                    review_date = dt.date(int(year), month_no, int(dd)).isoformat()
            else:
                speaker = blank(row.get("creativeWork_author_name")) or UNKNOWN_SPEAKER
            text = blank(row.get("claimReview_claimReviewed"))
            if text is None:
                yield Rejected(number, "no claimReview_claimReviewed (the statement)")
                continue
            tags = []
            for tag in (row.get("extra_tags") or "").split(","):
                if tag.strip() and tag.strip() not in tags:
                    tags.append(tag.strip())  # ClaimsKG writes each tag list twice
            yield Record(
                number=number,
                text=text,
                speaker=speaker,
                speaker_kind="person",
                stated_on=day(row.get("claimReview_datePublished"))
                if politifact
                else day(row.get("creativeWork_datePublished")),
                rating_text=blank(row.get("rating_alternateName")),
                verdict_rationale=blank(row.get("extra_title")),
                review_url=url or None,
                review_author=blank(row.get("claimReview_author_name")),
                review_date=review_date or (None if politifact else day(row.get("claimReview_datePublished"))),
                language="en",
                tags=tags,
            )
