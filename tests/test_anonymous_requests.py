"""A reader's request without cookies is anonymous and says it varies by cookie; the session cookie's serializer is kept."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from helpers import EDITOR, add_account, sign_in


def test_reader_without_cookies_reads_as_anonymous_and_the_page_varies_by_cookie(anon_client: FlaskClient) -> None:
    response = anon_client.get("/claims")
    assert response.status_code == 200
    assert "Cookie" in response.headers.get("Vary", "")
    assert "Set-Cookie" not in response.headers
    assert anon_client.get("/claims/new").status_code == 302  # editors only: sent to sign in


def test_a_signed_in_editor_is_still_known_and_a_changed_key_ends_the_session(app: Flask) -> None:
    add_account(app, *EDITOR, "editor")
    client = app.test_client()
    sign_in(client, *EDITOR)
    assert client.get("/claims/new").status_code == 200
    app.secret_key = "another secret key of the usual length, 1234567890"
    # The cookie signed with the old key no longer opens a session: the serializer follows the key.
    assert client.get("/claims/new").status_code == 302
    sign_in(client, *EDITOR)
    assert client.get("/claims/new").status_code == 200
