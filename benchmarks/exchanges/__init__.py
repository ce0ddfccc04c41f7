"""Benchmarks of hostguard.exchanges."""
