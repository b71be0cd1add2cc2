"""Memory the serving process holds for nothing: nothing big is allocated at import or start-up."""

from __future__ import annotations

import platform
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from claimtrack.config import Settings
from claimtrack.datasette import DATABASE_NAME, limits, make_datasette
from claimtrack.db import PAGE_CACHE_KIB, make_engine

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
    """A hash made at import (the dummy that unknown usernames are checked against) set every serving
    process's peak memory one hash's memory (then 64 MiB) above what it uses. It is made at the first
    sign-in instead."""
    grown_kib = int(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout)
    assert grown_kib < 16 * 1024, f"importing the accounts module raised the peak memory by {grown_kib // 1024} MiB"


# Runs in a fresh interpreter with the serving process's allocator settings: a hash, then sign-in checks
# arriving together on several threads (as request threads do), with the production argon2id parameters.
SIGN_IN_PROBE = """
import threading
from claimtrack.allocator import tune_malloc
from claimtrack.services import accounts

def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

assert tune_malloc()
before = kib("VmRSS")
stored = accounts._hash("a-password-of-some-length")
barrier = threading.Barrier(4)

def check():
    barrier.wait()
    for _ in range(2):
        assert accounts._verify(stored, "a-password-of-some-length")

threads = [threading.Thread(target=check) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(kib("VmHWM") - before, kib("VmRSS") - before)
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="the allocator settings are glibc's"
)
def test_sign_ins_add_one_checks_memory_to_the_peak_and_keep_none_of_it() -> None:
    """A check with the production parameters holds 19 MiB (it was 64 MiB), one check at a time runs, and
    the tuned allocator gives the memory back when it ends: untuned, glibc served the next checks from the
    heap of whichever thread ran them and kept 19 MiB per thread resident."""
    out = subprocess.run([sys.executable, "-c", SIGN_IN_PROBE], capture_output=True, text=True, check=True).stdout
    peak_kib, kept_kib = map(int, out.split())
    assert peak_kib < 28 * 1024, f"sign-ins raised the peak memory by {peak_kib // 1024} MiB"
    assert kept_kib < 6 * 1024, f"{kept_kib // 1024} MiB stayed in use after the sign-ins"


def _cache_size(conn: sqlite3.Connection) -> int:
    conn.set_authorizer(None)  # Datasette's connections refuse this PRAGMA to visitors' SQL
    return int(conn.execute("PRAGMA cache_size").fetchone()[0])


def test_pooled_connections_keep_a_bounded_page_cache(tmp_path: Path) -> None:
    """Each connection kept for requests holds at most PAGE_CACHE_KIB of pages (SQLite's default: 2,000 KiB):
    about a dozen stay open in a serving process, the app's pools and Datasette's threads."""
    engine = make_engine(tmp_path / "claims.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == -PAGE_CACHE_KIB
    finally:
        engine.dispose()
    datasette = make_datasette(tmp_path / "claims.db", Settings.from_env().metadata_path)
    with closing(sqlite3.connect(tmp_path / "claims.db")) as conn:
        datasette._prepare_connection(conn, DATABASE_NAME)
        assert _cache_size(conn) == -PAGE_CACHE_KIB
    # An export's connection lives as long as the export and reads the whole table: SQLite's default.
    with closing(sqlite3.connect(tmp_path / "claims.db")) as conn:
        token = limits.EXPORT_CONNECTION.set(True)
        try:
            datasette._prepare_connection(conn, DATABASE_NAME)
        finally:
            limits.EXPORT_CONNECTION.reset(token)
        with closing(sqlite3.connect(":memory:")) as fresh:
            assert _cache_size(conn) == fresh.execute("PRAGMA cache_size").fetchone()[0]


# Runs in a fresh interpreter with the serving process's allocator settings: 40 MB of heap blocks, three in
# four freed (no free run is big enough for a check's 19 MiB, which then gets a mapping of its own, and glibc
# gives nothing back from the middle of the heap by itself), then a check.
FREED_HEAP_PROBE = """
from claimtrack.allocator import tune_malloc
from claimtrack.services import accounts

def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

tune_malloc()
stored = accounts._hash("correct horse battery staple")
blocks = [bytes(16_000) for _ in range(2_500)]
kept = blocks[::4]
del blocks
before = kib("VmHWM")
assert accounts._verify(stored, "correct horse battery staple")
print(kib("VmHWM") - before)
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="the allocator settings are glibc's"
)
def test_a_sign_in_check_does_not_add_its_memory_to_freed_heap_still_resident() -> None:
    """Freed heap memory stays resident in a glibc process until trimmed: a check on top of it raised the peak
    by the check's 19 MiB over 30 MB of freed blocks. The check gives them back first."""
    out = subprocess.run([sys.executable, "-c", FREED_HEAP_PROBE], capture_output=True, text=True, check=True).stdout
    grown_kib = int(out)
    assert grown_kib < 8 * 1024, f"the check raised the peak by {grown_kib // 1024} MiB over freed heap memory"


# Runs in a fresh interpreter: a garbage cycle and a live object made during "start-up", then tune_gc.
GC_PROBE = """
import gc, weakref
from claimtrack.allocator import GC_YOUNG_THRESHOLD, tune_gc

class Node:
    pass

garbage = Node()
garbage.self = garbage
dead = weakref.ref(garbage)
del garbage
kept = [Node() for _ in range(1000)]
gc.disable()  # nothing collects before tune_gc does
tune_gc()
print(dead() is None, gc.get_freeze_count() >= 1000, gc.get_threshold()[0] == GC_YOUNG_THRESHOLD)
"""


def test_tune_gc_collects_start_ups_garbage_and_freezes_what_is_left() -> None:
    """The serving process's start-up objects are never walked again by the collector, but start-up's
    garbage is collected first, not frozen with them."""
    out = subprocess.run([sys.executable, "-c", GC_PROBE], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "True"]


# Runs in a fresh interpreter, as a serving process starts: SQLite's memory statistics can be turned off only
# while SQLite holds nothing (no connection, no statement), and then are.
SQLITE_STATISTICS_PROBE = """
import ctypes, sqlite3
from claimtrack.allocator import _sqlite_library, sqlite_memory_in_use, stop_sqlite_memory_statistics

def counted():
    current, highest = ctypes.c_int64(), ctypes.c_int64()
    _sqlite_library().sqlite3_status64(0, ctypes.byref(current), ctypes.byref(highest), 0)
    return current.value

held = sqlite3.connect(":memory:")
held.execute("CREATE TABLE t (x)")
print(sqlite_memory_in_use() > 0, stop_sqlite_memory_statistics(), counted() > 0)
held.close()
print(sqlite_memory_in_use(), stop_sqlite_memory_statistics(), sqlite_memory_in_use())
conn = sqlite3.connect(":memory:")
conn.execute("CREATE TABLE t (x)")
conn.execute("INSERT INTO t VALUES (?)", ("after the restart",))
print(conn.execute("SELECT x FROM t").fetchone()[0], counted(), stop_sqlite_memory_statistics())
"""


def test_sqlite_memory_statistics_are_turned_off_only_while_sqlite_holds_nothing() -> None:
    """With a connection open, SQLite may not be shut down to take the setting: nothing is done. Once none is
    open, the statistics go off (SQLite counts nothing more) and connections work as before."""
    found = subprocess.run(
        [sys.executable, "-c", SQLITE_STATISTICS_PROBE], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert found == ["True False True", "0 True None", "after the restart 0 True"]
