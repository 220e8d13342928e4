"""Case-workflow use cases (STYLE.md §10: a sub-package per layer for the cases capability)."""
