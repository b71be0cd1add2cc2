"""Plain read transactions (``services.common.read_only``): the claim page reads without an ORM session."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from helpers import statements_sent
from sqlalchemy import Engine

from claimtrack.db import write_session
from claimtrack.models import ClaimCreate, Retraction
from claimtrack.services import claims as claim_service
from claimtrack.services.common import read_only, rows
from claimtrack.services.errors import NotFound
from claimtrack.services.statement_history import statement_history
from claimtrack.web import database


def _claim(engine: Engine, text: str) -> int:
    with write_session(engine, actor="test") as session:
        made = claim_service.create_claim(session, ClaimCreate.model_validate({"text": text, "speaker": {"name": "S"}}))
        return int(made.id or 0)


def test_reads_in_one_transaction_see_one_snapshot(engine: Engine) -> None:
    first = _claim(engine, "Before the read.")
    count = "SELECT count(*) AS n FROM claims"
    with read_only(engine) as db:
        before = rows(db, count)[0]["n"]
        _claim(engine, "Written while the read is open.")  # WAL: the writer does not wait for the reader
        assert rows(db, count)[0]["n"] == before
        assert claim_service.claim_detail(db, first).claim.text == "Before the read."
    with read_only(engine) as db:
        assert rows(db, count)[0]["n"] == before + 1


def test_the_transaction_ends_on_leaving_even_after_an_error(engine: Engine) -> None:
    drivers: list[Any] = []
    with statements_sent(engine) as sent, pytest.raises(NotFound), read_only(engine) as db:
        drivers.append(db.connection().connection.driver_connection)
        assert drivers[0].in_transaction
        claim_service.claim_detail(db, 10**9)
    assert sent[0] == "BEGIN"
    assert not drivers[0].in_transaction  # the connection went back to the pool without a snapshot


def test_history_reads_the_same_through_a_session_and_a_plain_read(engine: Engine) -> None:
    claim = _claim(engine, "A statement with a history.")
    with write_session(engine, actor="editor") as session:
        claim_service.retract_claim(session, claim, Retraction(reason="Wrong speaker."))
    with read_only(engine) as db:
        plain = statement_history(db, claim)
    with write_session(engine, actor="reader") as session:
        through_session = statement_history(session, claim)
    assert len(plain) > 1  # the creation and the retraction
    assert plain == through_session


def test_claim_page_opens_no_orm_session(client: FlaskClient, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    claim = _claim(engine, "Read without a session.")
    opened: list[object] = []
    real = database.read_session

    def recording(*args: Any) -> Any:
        opened.append(args)
        return real(*args)

    monkeypatch.setattr(database, "read_session", recording)
    response = client.get(f"/claims/{claim}")
    assert response.status_code == 200
    assert "Read without a session." in response.get_data(as_text=True)
    assert client.get("/claims/999999999").status_code == 404
    assert opened == []
    client.get(f"/claims/{claim}/edit")  # a form page still reads through the request's session
    assert opened
