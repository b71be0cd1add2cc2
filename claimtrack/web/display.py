"""How stored values read on a page: dates and times in words, quotes that are already quoted."""

from __future__ import annotations

import datetime as dt

from flask import Flask

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# A direct quote pasted with its own quotation marks ("…", “…”, «…», „…“, ‘…’) gets no second pair.
OPEN_QUOTES = "\"'“”«»„‘’‹›「『"
CLOSE_QUOTES = "\"'”“»«‘’‹›」』"


def readable_date(value: str | None, time: str | None = None) -> str:
    """2016-12-16 (and 19:35) -> "16 December 2016, 19:35"; a timestamp 2026-11-25T10:00:00Z -> with "UTC"."""
    if not value:
        return ""
    try:
        if "T" in value:
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return f"{stamp.day} {MONTHS[stamp.month - 1]} {stamp.year}, {stamp:%H:%M} UTC"
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value  # shown as stored rather than hidden
    text = f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{text}, {time}" if time else text


def has_own_quotes(text: str | None) -> bool:
    text = (text or "").strip()
    return len(text) >= 2 and text[0] in OPEN_QUOTES and text[-1] in CLOSE_QUOTES


def register(app: Flask) -> None:
    app.jinja_env.filters["readable_date"] = readable_date
    app.jinja_env.tests["own_quotes"] = has_own_quotes
