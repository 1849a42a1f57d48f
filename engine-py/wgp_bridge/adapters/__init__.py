"""Engines behind the protocol: `wangp` (WanGP's in-process API) and `dry-run` (no WanGP)."""
