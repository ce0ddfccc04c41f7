"""Benchmarks and the evaluation of hostguard's hashing (run as `python -m benchmarks.hashing.X`)."""
