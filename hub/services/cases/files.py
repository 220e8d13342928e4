"""Reading catalog, standard and calendar files: YAML with each mapping's line kept (so a
problem names its line, as ``ehub admin import-devices`` does) and CSV of matters."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import yaml

from hub.domain.cases.catalog import CSV_COLUMNS, Problem


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records where each mapping starts as ``__line__`` (1-based)."""


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    value: dict[str, Any] = loader.construct_mapping(node, deep=True)  # type: ignore[assignment]
    value["__line__"] = node.start_mark.line + 1
    return value


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def strip_lines(value: Any) -> Any:
    """``value`` without the ``__line__`` keys and with dates as ISO text (what is stored)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def load_yaml(text: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A YAML document as a mapping with lines; a syntax error as one problem."""
    try:
        doc = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return None, [Problem(line, "", "yaml", str(getattr(exc, "problem", exc)))]
    if not isinstance(doc, dict):
        return None, [Problem(1, "", "document", "must be a mapping (format, categories, ...)")]
    return doc, []


def load_matters_csv(text: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A CSV of matters (one per line after the header, ``CSV_COLUMNS``) as a catalog document
    of matters only (categories and legal subjects come from the current catalog)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [c for c in ("code", "name", "category", "kind") if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    problems = [Problem(1, "", c, "column missing") for c in missing]
    problems += [
        Problem(1, "", c, f"unknown column (known: {', '.join(CSV_COLUMNS)})") for c in unknown
    ]
    if problems:
        return None, problems
    matters: list[dict[str, Any]] = []
    for row in reader:
        entry: dict[str, Any] = {k: (v or "").strip() for k, v in row.items() if k is not None}
        entry["__line__"] = reader.line_num
        matters.append(entry)
    return {"matters": matters, "__line__": 1}, []
