"""Media metrics of a finished run: the tolerant series reader, the summaries, the thresholds
and how reports draw them. Pure functions and dataclasses; no HTTP, no pytest."""
