"""Shared by the security tests: a seeded "world" (claims database + accounts file) built once and cloned
cheaply, every route of the app with who may use it and a valid form for it, and in-process requests
through the real ASGI app (where the security headers are added).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import helpers
import httpx
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from helpers import ADMIN, EDITOR, SEED_FILE, TABLES, add_account, csrf_token, sign_in

from claimtrack import create_app
from claimtrack.asgi import ASGIApp, create_asgi_app
from claimtrack.config import PROJECT_ROOT, Settings
from claimtrack.db import make_engine, write_session
from claimtrack.models import ClaimCreate, EventCreate, LinkCreate, Relation, Retraction, SourceCreate
from claimtrack.schema import migrate
from claimtrack.services import accounts
from claimtrack.services.claims import create_claim, retract_claim
from claimtrack.services.events import create_event
from claimtrack.services.links import add_link, retract_link
from claimtrack.services.seeding import load_seed, read_seed
from claimtrack.services.sources import create_source

METADATA_PATH = PROJECT_ROOT / "datasette-metadata.json"
SECRET = "security-tests-secret"
SPARE = ("spare", "spare-password-12345")
ROLES = ("anonymous", "editor", "admin")
CREDENTIALS = {"editor": EDITOR, "admin": ADMIN}
CLAIM_TABLES = TABLES  # every table a write through the app can touch (the history included)
BASE = "http://testserver"

T = TypeVar("T")
PRODUCTION_HASHER = accounts._hasher


@pytest.fixture(autouse=True, scope="session")
def fast_hashing() -> Iterator[None]:
    """Argon2id with the cheapest parameters, for every test (conftest uses it): tests sign in thousands of
    times, and a production hash costs about 0.4 s each way. The hashes are still argon2id;
    test_security checks the parameters the app really uses (PRODUCTION_HASHER)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", cheap)
        patch.setattr(accounts, "_DUMMY_HASH", cheap.hash("dummy"))  # what unknown usernames are checked against
        yield


# --- a world: a seeded claims database and an accounts file with an editor, an admin and a spare user ----


@dataclass(frozen=True)
class World:
    folder: Path
    db: Path
    auth: Path
    ids: dict[str, int] = field(default_factory=dict)


def build_world(folder: Path) -> World:
    folder.mkdir(parents=True, exist_ok=True)
    db, auth = folder / "claimtrack.db", folder / "auth.db"
    engine = make_engine(db)
    try:
        migrate(engine)
        with write_session(engine, actor="test") as session:
            load_seed(session, read_seed(SEED_FILE))
            spares = {
                letter: create_claim(
                    session,
                    ClaimCreate.model_validate(
                        {"text": f"Spare statement {letter}", "speaker": {"name": "Spare speaker"}}
                    ),
                )
                for letter in "ABCDE"
            }
            # Retracted records, for the routes that undo a retraction: C, and the link from D to E.
            retract_claim(session, spares["C"].id, Retraction(reason="Spare retraction"))
            link = add_link(session, spares["E"].id, LinkCreate(relation=Relation.supports, target_id=spares["D"].id))
            assert link.id is not None
            retract_link(session, link.id, Retraction(reason="Spare link retraction"))
            # Somewhere for the world's source and event to be merged into.
            create_source(session, SourceCreate(title="Spare source"))
            create_event(session, EventCreate(name="Spare event"))
    finally:
        engine.dispose()
    world = World(folder, db, auth)
    app = make_app(world)
    try:
        add_account(app, *EDITOR, "editor")
        add_account(app, *ADMIN, "admin")
        add_account(app, *SPARE, "editor")
    finally:
        dispose(app)
    ids = {
        "claim": one(db, "SELECT id FROM claims WHERE instr(text, 'was finished on Friday.') > 0"),
        "spare_a": one(db, "SELECT id FROM claims WHERE text = 'Spare statement A'"),
        "spare_b": one(db, "SELECT id FROM claims WHERE text = 'Spare statement B'"),
        "link": one(db, "SELECT min(id) FROM claim_links"),
        "retracted_claim": one(db, "SELECT id FROM claims WHERE text = 'Spare statement C'"),
        "retracted_link": one(db, "SELECT max(id) FROM claim_links WHERE retracted = 1"),
        "speaker": one(db, "SELECT id FROM speakers WHERE name = 'Spare speaker'"),
        "source": one(db, "SELECT min(id) FROM sources"),
        "event": one(db, "SELECT min(id) FROM events"),
        "account": one(auth, "SELECT id FROM users WHERE username = 'spare'"),
        "editor_account": one(auth, "SELECT id FROM users WHERE username = 'editor'"),
    }
    return dataclasses.replace(world, ids=ids)


def clone_world(world: World, folder: Path) -> World:
    """A private copy (SQLite backup API, so WAL contents come along) for a test that writes."""
    folder.mkdir(parents=True, exist_ok=True)
    for src, dst in ((world.db, folder / world.db.name), (world.auth, folder / world.auth.name)):
        with closing(sqlite3.connect(src)) as source, closing(sqlite3.connect(dst)) as target:
            source.backup(target)
    return dataclasses.replace(world, folder=folder, db=folder / world.db.name, auth=folder / world.auth.name)


def make_app(world: World, csrf: bool = True, **config: Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(world.db),
            "ACCOUNTS_DATABASE": str(world.auth),
            "SECRET_KEY": SECRET,
            "WTF_CSRF_ENABLED": csrf,
            **config,
        }
    )


def dispose(app: Flask) -> None:
    for key in ("claimtrack.engine", "claimtrack.accounts_engine"):
        engine = app.extensions.get(key)
        if engine is not None:
            engine.dispose()


def make_asgi(app: Flask, world: World) -> ASGIApp:
    settings = dataclasses.replace(
        Settings.from_env(), db_path=world.db, accounts_db_path=world.auth, metadata_path=METADATA_PATH
    )
    return create_asgi_app(app, settings)


# --- reading the databases directly ---------------------------------------------------------


def rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def one(path: Path, sql: str, *params: Any) -> Any:
    found = rows(path, sql, *params)
    assert len(found) == 1 and found[0][0] is not None, (sql, found)
    return found[0][0]


def snapshot(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the app could write (claims database and accounts), to show that nothing changed."""
    found = helpers.snapshot(world.db)
    found["users"] = rows(world.auth, "SELECT * FROM users ORDER BY id")
    return found


# --- signed-in clients ----------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """A role's session cookie and a CSRF token that goes with it (valid for every app with the same key)."""

    role: str
    cookie: str | None
    token: str


def identities(app: Flask) -> dict[str, Identity]:
    found = {}
    for role in ROLES:
        client = app.test_client()
        if role in CREDENTIALS:
            sign_in(client, *CREDENTIALS[role])
        token = csrf_token(client.get("/login").get_data(as_text=True))
        cookie = client.get_cookie("session")
        found[role] = Identity(role, cookie.value if cookie else None, token)
    return found


def client_as(app: Flask, identity: Identity) -> FlaskClient:
    client = app.test_client()
    if identity.cookie:
        client.set_cookie("session", identity.cookie)
    return client


# --- every route: who may use it, and a form that a permitted user could submit successfully ----

Form = Callable[[dict[str, int], str], dict[str, str]]


def _claim(ids: dict[str, int], role: str) -> dict[str, str]:
    return {"text": f"A statement recorded by the {role}", "speaker": "Matrix speaker"}


def _password(ids: dict[str, int], role: str) -> dict[str, str]:
    return {"current_password": CREDENTIALS.get(role, EDITOR)[1], "password": "a-brand-new-password-99"}


def _login(ids: dict[str, int], role: str) -> dict[str, str]:
    username, password = CREDENTIALS.get(role, EDITOR)
    return {"username": username, "password": password}


@dataclass(frozen=True)
class Route:
    rule: str
    access: str  # "public", "editor" (editors and admins), "admin", "login" or "logout"
    methods: frozenset[str]
    form: Form | None = None  # a valid POST body


GET, POST, BOTH = frozenset({"GET"}), frozenset({"POST"}), frozenset({"GET", "POST"})

ROUTES: dict[str, Route] = {
    r.rule: r
    for r in [
        Route("/static/<path:filename>", "public", GET),
        Route("/", "public", GET),
        Route("/claims", "public", GET),
        Route("/claims/<int:claim_id>", "public", GET),
        Route("/claims/similar", "public", GET),
        Route("/speakers/suggest", "public", GET),
        Route("/sources/suggest", "public", GET),
        Route("/events/suggest", "public", GET),
        Route("/links/<int:link_id>", "public", GET),
        Route("/speakers", "public", GET),
        Route("/speakers/<int:speaker_id>", "public", GET),
        Route("/sources", "public", GET),
        Route("/sources/<int:source_id>", "public", GET),
        Route("/events", "public", GET),
        Route("/events/<int:event_id>", "public", GET),
        Route("/api/claims", "public", GET),
        Route("/api/claims/<int:claim_id>", "public", GET),
        Route("/claims/<int:claim_id>.jsonld", "public", GET),
        Route("/claims/new", "editor", BOTH, _claim),
        Route(
            "/claims/<int:claim_id>/edit",
            "editor",
            BOTH,
            lambda ids, role: {"text": f"Edited by the {role}", "speaker": "Russian defence ministry"},
        ),
        Route(
            "/claims/<int:claim_id>/retract", "editor", BOTH, lambda ids, role: {"reason": f"Retracted by the {role}"}
        ),
        Route(
            "/claims/<int:claim_id>/links/new",
            "editor",
            BOTH,
            lambda ids, role: {"relation": "supports", "target_id": str(ids["spare_a"]), "note": role},
        ),
        Route(
            "/claims/<int:claim_id>/verdict",
            "editor",
            BOTH,
            lambda ids, role: {"verdict": "accurate", "verdict_rationale": f"Checked by the {role}"},
        ),
        Route("/claims/<int:claim_id>/unretract", "editor", BOTH, lambda ids, role: {"reason": f"Undone by {role}"}),
        Route("/links/<int:link_id>/unretract", "editor", BOTH, lambda ids, role: {"reason": f"Undone by {role}"}),
        Route("/links/<int:link_id>/edit", "editor", BOTH, lambda ids, role: {"relation": "qualifies", "note": role}),
        Route(
            "/links/<int:link_id>/retract", "editor", BOTH, lambda ids, role: {"reason": f"Link retracted by {role}"}
        ),
        Route(
            "/speakers/new", "editor", BOTH, lambda ids, role: {"name": f"Speaker added by {role}", "kind": "person"}
        ),
        Route(
            "/speakers/<int:speaker_id>/edit",
            "editor",
            BOTH,
            lambda ids, role: {"name": f"Spare speaker renamed by {role}", "kind": "person"},
        ),
        Route("/sources/new", "editor", BOTH, lambda ids, role: {"title": f"Source added by {role}"}),
        Route(
            "/sources/<int:source_id>/edit",
            "editor",
            BOTH,
            lambda ids, role: {"title": f"Retitled by {role}", "outlet": "Financial Times"},
        ),
        Route(
            "/speakers/<int:speaker_id>/merge",
            "editor",
            POST,
            lambda ids, role: {"into": "Russian defence ministry", "confirm": "y"},
        ),
        Route(
            "/sources/<int:source_id>/merge", "editor", POST, lambda ids, role: {"into": "Spare source", "confirm": "y"}
        ),
        Route(
            "/events/<int:event_id>/merge", "editor", POST, lambda ids, role: {"into": "Spare event", "confirm": "y"}
        ),
        Route("/events/new", "editor", BOTH, lambda ids, role: {"name": f"Event added by {role}"}),
        Route("/events/<int:event_id>/edit", "editor", BOTH, lambda ids, role: {"name": f"Event renamed by {role}"}),
        Route("/login", "login", BOTH, _login),
        Route("/logout", "logout", POST, lambda ids, role: {}),
        Route("/account/password", "editor", BOTH, _password),
        Route(
            "/admin/users",
            "admin",
            BOTH,
            lambda ids, role: {"username": f"new-{role}", "password": "new-user-password-1", "role": "editor"},
        ),
        Route("/admin/users/<int:account_id>", "admin", POST, lambda ids, role: {"action": "disable"}),
    ]
}

PARAMS = {
    "claim_id": "claim",
    "link_id": "link",
    "speaker_id": "speaker",
    "source_id": "source",
    "event_id": "event",
    "account_id": "account",
}


def path_of(rule: str, ids: dict[str, int]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        if name == "filename":
            return "style.css"
        # Undoing a retraction needs a retracted record.
        key = f"retracted_{PARAMS[name]}" if rule.endswith("/unretract") else PARAMS[name]
        return str(ids[key])

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule)


def app_rules(app: Flask) -> dict[str, frozenset[str]]:
    """Every route of the Flask app and its methods (HEAD and OPTIONS are Werkzeug's, not the app's)."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        found.setdefault(rule.rule, set()).update((rule.methods or set()) - {"HEAD", "OPTIONS"})
    return {rule: frozenset(methods) for rule, methods in found.items()}


# --- requests through the real ASGI app -----------------------------------------------------


def run_async(asgi: ASGIApp, work: Callable[[httpx.AsyncClient], Awaitable[T]], base_url: str = BASE) -> T:
    async def main() -> T:
        transport = httpx.ASGITransport(app=asgi)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30) as client:
            return await work(client)

    return asyncio.run(main())


def asgi_get_all(asgi: ASGIApp, urls: list[str]) -> dict[str, httpx.Response]:
    async def work(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
        return {url: await client.get(url) for url in urls}

    return run_async(asgi, work)


def csp_directives(header: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            found[words[0].lower()] = words[1:]
    return found


def iter_inline_scripts(html: str) -> Iterator[str]:
    """The bodies of <script> elements without a src attribute."""
    for match in re.finditer(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", html, re.DOTALL | re.IGNORECASE):
        if not re.search(r"\bsrc\s*=", match.group("attrs"), re.IGNORECASE):
            yield match.group("body")
