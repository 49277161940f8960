"""The benchmarks of pytest-sipfront (``python -m benchmarks.gate``)."""
