"""The memory managers' settings for a serving process: glibc's malloc (other C libraries are left alone),
SQLite's memory statistics, and Python's cyclic garbage collector.

Two glibc defaults made a long-running server keep memory it no longer used:

- The mmap threshold moves: once a block of, say, 19 MiB (an argon2 check) is freed, blocks up to that
  size come from the heap from then on, and freed heap memory mostly stays in the process. Pinning the
  threshold keeps every block of 128 KiB or more in its own mapping, returned to the system when freed.
- Every thread that allocates at the same moment as another may get an arena of its own (up to 8 per
  core), each keeping its free memory. The request threads, Datasette's and the exports' are many; two
  arenas are enough for two threads running C code at once beside the GIL holder.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import platform
from typing import Any

# From glibc's <malloc.h>.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value, now kept
ARENA_MAX = 2


@functools.cache
def _glibc_function(name: str, *argtypes: Any) -> Any:
    """glibc's function ``name`` (ctypes, returning int), or None where the C library is not glibc; looked up
    once per name."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        function = getattr(ctypes.CDLL(None), name)  # the C library the interpreter is linked with
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function


def tune_malloc() -> bool:
    """Apply the settings above to this process; False where the C library is not glibc (nothing done)."""
    mallopt = _glibc_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return False
    # mallopt returns 1 on success.
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_ARENA_MAX, ARENA_MAX))


# SQLite's memory statistics (sqlite3_config(SQLITE_CONFIG_MEMSTATUS)), on by default in the builds Python
# links with, count every allocation under one mutex for the whole process; Debian's build also omits the
# lookaside allocator, so SQLite calls malloc for nearly every value it makes. Connections working in
# different threads at once (an export's readers, Datasette's threads, the app's writer) then take turns at
# that mutex: two threads each writing CSV pages of the same table took as long as one thread writing both,
# against 1.0-1.3x with the statistics off, as two processes do (benchmarks/performance-notes.md). claimtrack
# reads none of these statistics (no soft heap limit, no sqlite3_memory_used).
SQLITE_CONFIG_MEMSTATUS = 9
SQLITE_STATUS_MEMORY_USED = 0
_sqlite_statistics = {"off": False}


@functools.cache
def _sqlite_library() -> Any:
    """The SQLite library Python's sqlite3 module runs on (linked in or shared), through ctypes; None if its
    functions cannot be reached."""
    import _sqlite3

    try:
        library = ctypes.CDLL(_sqlite3.__file__)  # its own symbols, then those of the libraries it links with
        for name in ("sqlite3_config", "sqlite3_shutdown", "sqlite3_initialize", "sqlite3_status64"):
            getattr(library, name).restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return library


def sqlite_memory_in_use() -> int | None:
    """Bytes SQLite holds now (every connection and statement holds some), or None if it does not count."""
    library = _sqlite_library()
    if library is None or _sqlite_statistics["off"]:
        return None
    current, highest = ctypes.c_int64(), ctypes.c_int64()
    if library.sqlite3_status64(SQLITE_STATUS_MEMORY_USED, ctypes.byref(current), ctypes.byref(highest), 0):
        return None
    return current.value


def stop_sqlite_memory_statistics() -> bool:
    """Turn SQLite's memory statistics off for this process (see above); True once they are off.

    SQLite takes the setting only while it is shut down, and may be shut down only when no connection or
    statement exists: so only when it holds no memory at all (checked first; before any connection is
    opened, as at the start of a serving process). Otherwise nothing is done and the statistics stay on.
    """
    library = _sqlite_library()
    if library is None:
        return False
    if not _sqlite_statistics["off"] and sqlite_memory_in_use() == 0:
        library.sqlite3_shutdown()
        _sqlite_statistics["off"] = library.sqlite3_config(SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0)) == 0
        library.sqlite3_initialize()
    return _sqlite_statistics["off"]


def release_free_memory() -> bool:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``); False elsewhere.

    Memory freed inside the heap stays resident until then. Measured at a million claims after two rounds
    of the write load and both exports: 120 MB resident, 116 MB after it, in 0.7 ms.
    """
    malloc_trim = _glibc_function("malloc_trim", ctypes.c_size_t)
    if malloc_trim is None:
        return False
    malloc_trim(0)
    return True


# Python's cyclic collector, in a process of about 130,000 tracked objects after start-up (SQLAlchemy,
# Datasette, Jinja, the app): under the write load each full collection walked all of them (about 80 ms,
# one every few seconds) and the young collections ran every 700 new containers. Timed with gc.callbacks
# in the served process, 32 clients: 0.36 ms of CPU per request in collections; start-up objects frozen,
# 0.21 ms; frozen and the youngest generation's threshold raised to 7,000, 0.09 ms. A request's cycles
# (tracebacks, ORM sessions) still go in the next young collection; memory stayed the same (peak RSS
# 121 MB either way).
GC_YOUNG_THRESHOLD = 7000
# With that threshold, a Datasette table page's display rows (held in cycles through the table view's
# nested functions: about 0.6 MB of dicts and Markup per 100-row page) outlived the request by a young
# collection or two, and waited in the middle generation for the next collection of it (every ten young
# ones). At a million claims, the search page `?_search=evacuation` 120 times in a row took the served
# process from 107 to 129 MB: that garbage, plus Python's 1 MiB object arenas it had spread over, which
# stay in use once a live object sits in each. Collecting the young generations when each Datasette
# request ends (about 1.5 ms of CPU, after the response is sent) kept it at 108 MB.


def collect_young_garbage() -> None:
    """Collect the two young generations now (not the oldest): called once a Datasette page is sent."""
    gc.collect(1)


def tune_gc() -> None:
    """Collect start-up's garbage, then move every object left into the permanent generation (never
    walked again), and collect the young generation ten times less often. Call once start-up is over."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
