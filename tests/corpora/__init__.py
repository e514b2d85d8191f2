"""Corpora with their truth for the tests and the benchmarks (bench/ puts tests/ on its path)."""
