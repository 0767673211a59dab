"""Benchmark harness: the service against a raw-SQL ceiling, side by side in one run (`python -m bench`)."""
