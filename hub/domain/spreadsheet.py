"""Text that a spreadsheet program will show, never run. Pure.

CSV (formula) injection, OWASP "CSV Injection": a cell whose text begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is taken by Excel, LibreOffice and WPS as a formula
(``=HYPERLINK(...)`` leaks data, ``=cmd|' /C calc'!A0`` runs a program through DDE). Such a cell
is prefixed with a single quote, which those programs read as "this is text". Plain numbers
(``-22.5431``, a negative reading) are left alone: no program runs them, and a quote would make
them text. defusedcsv (Apache-2.0) does the same for CSV only, and misses the tab and carriage
return OWASP lists; XLSX needs it too (openpyxl stores any string starting with ``=`` as a
formula), so both formats share this one rule.
"""

from __future__ import annotations

import re

_LEADING = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"-?[0-9][0-9,]*(\.[0-9]+)?")


def neutral(text: str) -> str:
    """``text`` as it may go into a CSV or XLSX cell."""
    if text and text[0] in _LEADING and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
