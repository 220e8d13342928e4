"""Use cases: each owns its transaction and returns what to do after commit."""
