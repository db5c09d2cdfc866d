"""Shodan at the edge: the client wrapper, count-mode snapshots and deep mode."""
