"""Links to records, built without werkzeug's URL building for each one."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, url_for

# An id no page links to, built once per endpoint and request to find where a record's id goes in its URL.
_ID_MARK = 987654321012345


def record_url(endpoint: str, record_id: int) -> str:
    """``url_for(endpoint, <its id>=record_id)`` for a route whose one argument is a record's integer id.

    werkzeug's URL building took about a tenth of a claim page (twenty-odd links to claims, speakers and
    sources): here it runs once per endpoint and request, and each link fills in its id.
    """
    built: dict[str, tuple[str, str]] = g.setdefault("record_urls", {})
    parts = built.get(endpoint)
    if parts is None:
        (rule,) = current_app.url_map.iter_rules(endpoint)
        (argument,) = rule.arguments
        values: dict[str, Any] = {argument: _ID_MARK}
        head, tail = url_for(endpoint, **values).split(str(_ID_MARK))
        parts = built[endpoint] = (head, tail)
    return parts[0] + str(int(record_id)) + parts[1]


_SITE_URLS = "claimtrack.site_urls"
_SITE_URLS_KEPT = 256  # only fixed links use site_url; a bound all the same


def site_url(endpoint: str, **values: Any) -> str:
    """``url_for`` for the fixed links every page's frame repeats (stylesheets, the menu, the account links).

    They are the same for every request under one mount point (SCRIPT_NAME), so each is built once per mount
    point: werkzeug's URL building took about 6 µs a link, and the frame has eight.
    """
    key = (request.script_root, endpoint, tuple(sorted(values.items())))
    built: dict[tuple[Any, ...], str] = current_app.extensions.setdefault(_SITE_URLS, {})
    url = built.get(key)
    if url is None:
        if len(built) >= _SITE_URLS_KEPT:
            built.clear()
        url = built[key] = url_for(endpoint, **values)
    return url
