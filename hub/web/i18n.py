"""Two languages, switchable per browser: Simplified Chinese (the default: the teams' own) and
English. A message missing from a catalogue shows its English text, never a bare key."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping

from hub.web import messages

LANGS = ("zh-CN", "en")
DEFAULT = "zh-CN"
COOKIE = "ehub_lang"


def _catalogue() -> dict[str, tuple[str, str]]:
    """Every ``MESSAGES`` dict of the modules in ``hub.web.messages`` (one per area of the UI),
    key -> (zh-CN, en); a key defined twice is a bug."""
    merged: dict[str, tuple[str, str]] = {}
    for info in sorted(pkgutil.iter_modules(messages.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{messages.__name__}.{info.name}")
        part: dict[str, tuple[str, str]] = module.MESSAGES
        twice = merged.keys() & part.keys()
        if twice:
            raise ValueError(f"UI messages defined twice: {sorted(twice)}")
        merged |= part
    return merged


MESSAGES = _catalogue()


def translator(lang: str) -> Callable[..., str]:
    i = 0 if lang == "zh-CN" else 1

    def t(key: str, **fmt: object) -> str:
        pair = MESSAGES.get(key)
        text = key if pair is None else pair[i]
        return text.format(**fmt) if fmt else text

    return t


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The browser's choice if it made one, else its first supported language, else Chinese."""
    if cookie in LANGS:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def catalogue(lang: str, prefixes: tuple[str, ...]) -> Mapping[str, str]:
    """The messages a page's script needs, in the page's language."""
    t = translator(lang)
    return {k: t(k) for k in MESSAGES if k.startswith(prefixes)}
