"""How many SQL statements a write issues: each lookup runs once, whatever path the data comes through."""

from __future__ import annotations

from helpers import statements_sent
from sqlalchemy import Engine

from claimtrack.db import write_session
from claimtrack.models import ClaimCreate, LinkCreate
from claimtrack.services import claims as claim_service
from claimtrack.services import links as link_service


def full_claim(text: str, speaker: str) -> ClaimCreate:
    return ClaimCreate.model_validate(
        {
            "text": text,
            "stated_on": "2016-12-16",
            "speaker": {"name": speaker, "kind": "person", "affiliation": f"{speaker} Agency"},
            "source": {"url": f"https://example.org/{abs(hash(text))}", "title": "A report", "outlet": "Outlet"},
            "event": f"Event of {speaker}",
        }
    )


def test_new_claim_with_new_speaker_source_and_event_takes_few_statements(engine: Engine) -> None:
    with statements_sent(engine) as statements, write_session(engine, actor="test") as session:
        claim_service.create_claim(session, full_claim("A new statement.", "New speaker"))
    # BEGIN; find the speaker and its affiliation, the event, the source (once each); insert those four,
    # the claim and its citation, each flush followed by its history rows; COMMIT. It was 21.
    assert len(statements) <= 17, "\n".join(statements)


def test_new_link_with_new_statement_takes_few_statements(engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        claim_id = claim_service.create_claim(session, full_claim("The first statement.", "First speaker")).id
    assert claim_id is not None
    data = LinkCreate(relation="contradicts", note="no", new_claim=full_claim("The answer.", "Second speaker"))
    with statements_sent(engine) as statements, write_session(engine, actor="test") as session:
        link_service.add_link(session, claim_id, data)
    # the claim being answered, the new statement as above, the link and its history row. It was 22.
    assert len(statements) <= 20, "\n".join(statements)
