"""Memory the serving process holds for nothing: nothing big is allocated at import or start-up."""

from __future__ import annotations

import subprocess
import sys

# Runs in a fresh interpreter: the dependencies first, then the accounts module alone, and how much the
# process's peak memory (VmHWM) grew while importing it.
PROBE = """
import argon2, sqlalchemy, sqlmodel, claimtrack.db, claimtrack.services.errors

def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

before = peak_kib()
import claimtrack.services.accounts
print(peak_kib() - before)
"""


def test_importing_the_accounts_module_hashes_nothing() -> None:
    """The production argon2id parameters take 64 MiB per hash: a hash made at import (the dummy that
    unknown usernames are checked against) set every serving process's peak memory 64 MiB above what
    it uses. It is made at the first sign-in instead."""
    grown_kib = int(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout)
    assert grown_kib < 16 * 1024, f"importing the accounts module raised the peak memory by {grown_kib // 1024} MiB"
