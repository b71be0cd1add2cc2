"""claimtrack's benchmarks: ``python -m benchmarks`` (or ``make bench``) measures every figure of
docs/performance.md against its floor and rewrites that file."""
