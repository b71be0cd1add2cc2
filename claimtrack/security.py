"""Security headers for every response, the app's and Datasette's, added in the ASGI layer.

The app's own pages carry no inline script at all, so their policy is strict. Datasette's templates
carry a few inline scripts; those that are static are allowed by their SHA-256 hashes, computed at
start-up from the installed templates (so an upgrade of Datasette cannot silently break its UI).
The dashboards plugin builds inline scripts per request and its chart library (Vega) compiles
expressions at run time, so its pages alone get 'unsafe-inline' and 'unsafe-eval' for scripts.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from claimtrack.config import DATA_PREFIX

COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

_BASE_POLICY = (
    "default-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
APP_CSP = f"{_BASE_POLICY}; script-src 'self'; style-src 'self'"
DASHBOARD_PATHS = (DATA_PREFIX + "/-/dashboards",)

_SCRIPT_RE = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)
# Inline scripts in Datasette's templates whose only template expression has a known, finite set of values.
_KNOWN_VARIANTS = {"{{ datasette_allow_facet }}": ("true", "false")}


def script_hash(body: str) -> str:
    digest = hashlib.sha256(body.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def inline_script_hashes(template_dirs: Iterable[Path]) -> list[str]:
    """Hashes of every static inline <script> in the given template folders."""
    hashes: set[str] = set()
    for folder in template_dirs:
        for template in sorted(Path(folder).glob("*.html")):
            for match in _SCRIPT_RE.finditer(template.read_text(encoding="utf-8")):
                if "src=" in match.group("attrs"):
                    continue
                for body in _expand(match.group("body")):
                    hashes.add(script_hash(body))
    return sorted(hashes)


def _expand(body: str) -> list[str]:
    for expression, values in _KNOWN_VARIANTS.items():
        if expression in body:
            return [v for value in values for v in _expand(body.replace(expression, value))]
    if "{{" in body or "{%" in body:
        return []  # built per request: not allowed by hash (dashboards get their own policy)
    return [body]


@functools.cache
def datasette_csp() -> str:
    import datasette

    templates = Path(datasette.__file__).parent / "templates"
    hashes = " ".join(inline_script_hashes([templates]))
    return f"{_BASE_POLICY}; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'"


DASHBOARD_CSP = f"{_BASE_POLICY}; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'"


def policy_for(path: str) -> str:
    if path.startswith(DASHBOARD_PATHS):
        return DASHBOARD_CSP
    if path.startswith(DATA_PREFIX + "/") or path == DATA_PREFIX:
        return datasette_csp()
    return APP_CSP


def security_headers(app: Any) -> Any:
    """ASGI middleware: add the headers to every HTTP response (replacing any the inner app set)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        csp = policy_for(scope.get("path", "")).encode()
        names = {name for name, _ in COMMON_HEADERS} | {b"content-security-policy"}

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                headers += COMMON_HEADERS + [(b"content-security-policy", csp)]
                message = dict(message, headers=headers)
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
