"""Failed logins per account from any address (the per-account backoff counts them over a day).

Revision ID: a002
Revises: a001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "a002"
down_revision = "a001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_login_failures_username ON login_failures (username, failed_at)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_login_failures_username")
