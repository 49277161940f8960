"""The run ledger (``--sipfront-ledger``): what a session triggered, so that the next attempt
of the same pipeline re-attaches to runs still going, reuses what passed, and pays once.

Below ``runs/`` in the layers: it knows files, keys and decisions, not the scheduler."""
