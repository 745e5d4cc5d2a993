"""``make bench``: Chronos measured against its physical baselines."""
