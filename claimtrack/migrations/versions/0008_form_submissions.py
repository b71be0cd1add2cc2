"""Submitted new-claim forms: a form's one-time token and the claim it created.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

A new-claim form (and the link form's new statement) carries a random token; the claim and its token are
written in one transaction, so a second POST of the same form finds the token and creates nothing.
"""

from __future__ import annotations

from alembic import op

FORM_SUBMISSIONS = """CREATE TABLE form_submissions (
        token VARCHAR NOT NULL,
        claim_id INTEGER NOT NULL,
        created_at VARCHAR NOT NULL,
        PRIMARY KEY (token),
        FOREIGN KEY(claim_id) REFERENCES claims (id)
    )"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(FORM_SUBMISSIONS)
    op.execute("CREATE INDEX ix_form_submissions_claim_id ON form_submissions (claim_id)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_form_submissions_claim_id")
    op.execute("DROP TABLE form_submissions")
