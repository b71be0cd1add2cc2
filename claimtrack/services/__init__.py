"""Domain operations on a SQLModel session. No Flask here: the web app, the CLI and the seed loader share them.

Write operations expect a session from ``claimtrack.db.write_session`` and never commit themselves,
so that a request's writes land together or not at all.
"""
