"""Search and similar-claim suggestions over the stemmed index (migration 0007), through HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from helpers import query, row_counts, text_of
from sqlalchemy import Engine

RUSSIAN = "was finished on Friday"


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def listed_ids(body: str) -> list[int]:
    return [
        int(i)
        for i in re.findall(
            r'<li class="claim[^"]*">\s*(?:<p>.*?</p>\s*)?<p class="text"><a href="/claims/(\d+)"', body, re.S
        )
    ]


def claim_id(db_path: Path, words: str) -> int:
    found = query(db_path, "SELECT id FROM claims WHERE instr(text, ?) > 0", words)
    assert len(found) == 1, words
    return int(found[0][0])


@pytest.fixture
def russia(seeded_engine: Engine, db_path: Path) -> int:
    return claim_id(db_path, RUSSIAN)


def test_list_search_matches_stems_prefixes_speakers_and_sources(
    seeded_client: FlaskClient, russia: int, db_path: Path
) -> None:
    assert russia in listed_ids(page(seeded_client, "/claims?q=finish"))  # stem: "finished"
    assert russia in listed_ids(page(seeded_client, "/claims?q=evac+finis"))  # prefixes
    icrc = {
        r[0]
        for r in query(
            db_path, "SELECT c.id FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE s.name LIKE '%ICRC%'"
        )
    }
    found = set(listed_ids(page(seeded_client, "/claims?q=ICRC")))
    assert icrc and icrc <= found  # the speaker's name
    assert russia in listed_ids(page(seeded_client, "/claims?q=Russian+defence+finished"))
    assert russia in listed_ids(page(seeded_client, "/claims?q=Financial+Times+finished"))  # the source's outlet
    assert listed_ids(page(seeded_client, "/claims?q=zzzunknownword")) == []
    # FTS5 syntax typed by a person is taken literally, never a 500.
    for q in ['"', "NEAR(", "a OR", "*", "-x", "speaker:x"]:
        page(seeded_client, "/claims?" + "q=" + q)


def test_index_follows_renames_and_new_sources(seeded_client: FlaskClient, russia: int, db_path: Path) -> None:
    speaker = query(db_path, "SELECT speaker_id FROM claims WHERE id = ?", russia)[0][0]
    response = seeded_client.post(
        f"/speakers/{speaker}/edit",
        data={"name": "Minoborony spokesman", "kind": "government_body", "affiliation": "Russian government"},
    )
    assert response.status_code == 303
    assert russia in listed_ids(page(seeded_client, "/claims?q=minoborony"))
    assert russia not in listed_ids(page(seeded_client, "/claims?q=Russian+defence+ministry"))
    response = seeded_client.post(
        "/claims/new",
        data={
            "text": "Convoys stopped.",
            "speaker": "Driver Q",
            "source_title": "Kommersant dispatch",
            "outlet": "Kommersant",
        },
    )
    assert response.status_code == 303
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert listed_ids(page(seeded_client, "/claims?q=kommersant")) == [new_id]


def test_arabic_with_and_without_short_vowels_meet(seeded_client: FlaskClient) -> None:
    response = seeded_client.post(
        "/claims/new", data={"text": "اكتَمَلَ إجلاءُ المدنيين من حلب", "speaker": "وزارة الدفاع"}
    )
    assert response.status_code == 303
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert new_id in listed_ids(page(seeded_client, "/claims?q=اكتمل"))
    assert new_id in listed_ids(page(seeded_client, "/claims?q=إجلاء+حلب"))
    found = seeded_client.get("/claims/similar?format=json&text=" + "اكتمل إجلاء المدنيين").get_json()
    assert found["results"][0]["id"] == new_id


def test_similar_puts_the_ministry_claim_first(
    seeded_client: FlaskClient, anon_client: FlaskClient, russia: int
) -> None:
    for client in (seeded_client, anon_client):
        data = client.get("/claims/similar?format=json&text=The evacuation of Aleppo has finished").get_json()
        first = data["results"][0]
        assert first["id"] == russia and first["speaker"] == "Russian defence ministry"
        assert first["verdict"] == "disputed" and first["stated_on"] == "2016-12-16"
        assert first["url"] == f"/claims/{russia}"
        # As typed, the last word still unfinished.
        data = client.get("/claims/similar?format=json&text=The evacuation of Aleppo has fini").get_json()
        assert data["results"][0]["id"] == russia
    body = page(anon_client, "/claims/similar?text=The+evacuation+of+Aleppo+has+finished")
    assert f'href="/claims/{russia}"' in body and "This is the same claim" in body
    assert page(anon_client, "/claims/similar?format=json&text=").count("results") == 1
    page(anon_client, "/claims/similar?text=x&claim=999999", 404)
    page(anon_client, "/claims/similar?text=x&claim=abc", 400)


def test_similar_offers_one_click_links(seeded_client: FlaskClient, db_path: Path) -> None:
    response = seeded_client.post(
        "/claims/new", data={"text": "The Aleppo evacuation is not over.", "speaker": "Observer Z"}
    )
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    body = page(seeded_client, f"/claims/similar?claim={new_id}&text=evacuation+finished+Friday")
    assert f"Link as contradicts claim {new_id}" in text_of(body)
    target = int(re.search(r'name="target_id" value="(\d+)"', body).group(1))  # type: ignore[union-attr]
    response = seeded_client.post(
        f"/claims/{new_id}/links/new", data={"target_id": str(target), "relation": "contradicts"}
    )
    assert response.status_code == 303
    assert (
        query(db_path, "SELECT relation FROM claim_links WHERE from_claim_id = ? AND to_claim_id = ?", target, new_id)[
            0
        ][0]
        == "contradicts"
    )


def test_new_claim_form_checks_for_similar_without_saving(
    seeded_client: FlaskClient, russia: int, db_path: Path
) -> None:
    before = row_counts(db_path)
    typed = {
        "text": "The evacuation of Aleppo has finished",
        "speaker": "Russian Ministry of Defence",
        "context": "briefing in Moscow",
        "stated_on": "2016-12-16",
        "check_similar": "1",
    }
    response = seeded_client.post("/claims/new", data=typed)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    suggestions = body.split('id="similar-results"', 1)[1]
    assert re.findall(r'data-claim-id="(\d+)"', suggestions)[0] == str(russia)
    # Everything typed is kept, and nothing was saved.
    assert "The evacuation of Aleppo has finished</textarea>" in body
    assert (
        'value="Russian Ministry of Defence"' in body and "briefing in Moscow" in body and 'value="2016-12-16"' in body
    )
    assert row_counts(db_path) == before


# --- quality on data nobody tuned for: LIAR statements, paraphrased mechanically -------------------

LIAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "liar" / "valid.tsv"
TENSES = {"is": "was", "are": "were", "has": "had", "have": "had", "will": "would", "was": "is", "were": "are"}


def paraphrase(text: str, n: int) -> str:
    """Reorder clauses, change tense, drop words: a different wording of the same statement."""
    clauses = [c.strip() for c in re.split(r"[,;]\s+", text.rstrip(".")) if c.strip()]
    if len(clauses) > 1:
        clauses = clauses[1:] + clauses[:1]  # the first clause goes last
    words = " ".join(clauses).split()
    words = [TENSES.get(w.lower(), w) for w in words]
    # Drop every fourth word (at a different offset per statement), keeping at least five.
    kept = [w for i, w in enumerate(words) if (i + n) % 4 != 0] if len(words) > 8 else words
    return " ".join(kept)


@pytest.mark.skipif(not LIAR.exists(), reason="the LIAR data set is not beside the project")
def test_paraphrased_liar_statements_find_their_original(
    engine: Engine, anon_client: FlaskClient, db_path: Path
) -> None:
    from claimtrack.services.importing import import_file

    report = import_file(engine, LIAR)
    assert not report.rejected or len(report.rejected) < 50
    statements = query(db_path, "SELECT id, text FROM claims WHERE length(text) > 40 ORDER BY id")
    sample = statements[:: max(1, len(statements) // 200)][:200]
    assert len(sample) >= 150
    hits = 0
    for n, (original, text) in enumerate(sample):
        typed = paraphrase(text, n)
        found = anon_client.get(
            "/claims/similar", query_string={"format": "json", "text": typed, "limit": 5}
        ).get_json()
        hits += original in [r["id"] for r in found["results"]]
    share = hits / len(sample)
    print(f"LIAR paraphrases with the original in the top 5: {hits}/{len(sample)} = {share:.1%}")
    assert share >= 0.9
