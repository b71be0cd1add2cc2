"""Accounts: users with roles and a session version, and failed-login records for rate limiting.

Revision ID: a001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "a001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('editor', 'admin')),
        disabled BOOLEAN NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        session_version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )"""
    )
    op.execute(
        """CREATE TABLE login_failures (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL COLLATE NOCASE,
        address TEXT NOT NULL,
        failed_at REAL NOT NULL
    )"""
    )
    op.execute("CREATE INDEX ix_login_failures_user_address ON login_failures (username, address, failed_at)")
    op.execute("CREATE INDEX ix_login_failures_address ON login_failures (address, failed_at)")


def downgrade() -> None:
    op.execute("DROP TABLE login_failures")
    op.execute("DROP TABLE users")
