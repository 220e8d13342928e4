"""SQL of the case workflow (STYLE.md §10: a sub-package per layer for the cases capability)."""
