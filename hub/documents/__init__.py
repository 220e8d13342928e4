"""The hub's renderings of enforcement documents: the A4 PDF archive copy (CASES.md §7)."""
