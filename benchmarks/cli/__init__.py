"""Benchmarks of starting the `hostguard` command line (run as `python -m benchmarks.cli.X`)."""
