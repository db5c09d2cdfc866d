"""Shodan at the edge: the client wrapper, count-mode snapshots and deep mode (see DESIGN.md section 6)."""
