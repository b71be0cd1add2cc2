"""SQL for the key of a name, as the ``entity_names`` table stores it (migrations 0009 and 0010).

The key is the name lower-cased, without punctuation (dashes and slashes separate words) and with single
spaces. SQLite's ``lower()`` folds ASCII only, so the app compares Unicode case-folded keys itself
(``claimtrack.services.names.name_key``); this one only decides which names the indexed lookup finds at once.
"""

from __future__ import annotations

# The punctuation names commonly hold, dropped from a key, and the characters that separate words (become a
# space). A short list: SQLite's parser allows only so many nested replace() calls. The FTS5 tokenizer
# splits words at any other punctuation, and the app compares its own full keys, so this only decides
# which names the indexed key lookup finds at once.
DROPPED = ".,'\"()\u2019"
SEPARATORS = "-/"


def sql_key(expr: str) -> str:
    """SQL for the key of the name ``expr`` (see the module docstring)."""
    out = f"lower({expr})"
    for ch in DROPPED:
        quoted = ch.replace("'", "''")
        out = f"replace({out}, '{quoted}', '')"
    for ch in SEPARATORS:
        out = f"replace({out}, '{ch}', ' ')"
    for _ in range(3):  # "a - b" leaves three spaces; three passes reach one from up to 8
        out = f"replace({out}, '  ', ' ')"
    return f"trim({out})"
