"""One memory-mapped list and matcher per executor process, shared by every task it runs."""

from __future__ import annotations

import threading
from typing import Optional

from ._hashsieve import HashList, Matcher

_lock = threading.Lock()
_matchers: dict[tuple[str, Optional[int]], Matcher] = {}


def matcher_for(path: str, threshold: Optional[int] = None) -> Matcher:
    """The process's matcher over the list at `path`, opened (and checked) on first use."""
    key = (path, threshold)
    with _lock:
        m = _matchers.get(key)
        if m is None:
            m = Matcher()
            m.add_list(HashList.open(path), threshold=threshold)
            _matchers[key] = m
        return m


def opened() -> int:
    """How many lists this process has opened (for tests: once per executor)."""
    return len(_matchers)
