"""Personal data in free text: found by patterns and by the roster's own names and ids, then masked.

What is masked, and the mark that replaces it:

- ``[email]``: e-mail addresses;
- ``[url]``: links that point at a person (a profile, a user page, a query naming a user
  or an id); other links are kept;
- ``[phone]``: telephone numbers (9 to 15 digits with the usual separators; a date or a
  score has fewer digits and is kept);
- ``[id]``: identity numbers (US SSN shape), numbers introduced as a student, learner or
  user id, and every id in the roster;
- ``[name]``: people of the roster, by full name ("Ana Lima", "Lima, Ana") or by a given
  or family name written with a capital, unless that word is a common English word; and
  anyone named with a title ("Dr. Okafor", "Professor Whitfield").

The roster grows as learners are seen at ingest (``Roster.add``) and can be loaded
from a OneRoster import or from the identity vault. Precision and recall on a
labelled sample are measured by ``tests/test_privacy_scrub.py`` and reported in
docs/privacy.md.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["Found", "Roster", "Scrubber"]

_EMAIL = r"(?P<email>[A-Za-z0-9._%+-]+(?:@|\s?\[at\]\s?)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
_PERSON_URL = (
    r"(?P<url>(?:https?://|www\.)[^\s<>\"']*?"
    r"(?:/~|/(?:users?|profiles?|people|members?|students?|learners?|u|in)[/=]|[?&][^\s=&]*(?:user|uid|email|student|learner|login)[^\s=&]*=)"
    r"[^\s<>\"']*)"
)
_PHONE = r"(?P<phone>(?<![\w/.:-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d[\d\s.-]{5,17}\d(?![\w/-]))"
_SSN = r"(?P<ssn>\b\d{3}-\d{2}-\d{4}\b)"
_LABELLED_ID = (
    r"(?:\b(?:student|learner|user|matric(?:ulation)?|enrol?ment|badge)\s*(?:id|no\.?|number|num|#)?\s*[:#]?\s*)"
    r"(?P<labelled>(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,})"
)
_TITLED = r"(?P<titled>\b(?-i:(?:Dr|Prof|Professor|Mr|Mrs|Ms|Mx|Miss)\.?\s+[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?))"
_PATTERNS = re.compile("|".join((_EMAIL, _PERSON_URL, _SSN, _LABELLED_ID, _TITLED, _PHONE)), re.IGNORECASE)
_MARKS = {"email": "[email]", "url": "[url]", "phone": "[phone]", "ssn": "[id]", "labelled": "[id]", "titled": "[name]"}
_GROUPS = re.compile(r"\d+")

# Capitalised words that are also given or family names, but far more often something else.
_COMMON = frozenset(
    [
        "will",
        "may",
        "june",
        "april",
        "august",
        "grace",
        "hope",
        "joy",
        "faith",
        "rose",
        "summer",
        "autumn",
        "dawn",
        "art",
        "bill",
        "mark",
        "pat",
        "sue",
        "frank",
        "rich",
        "young",
        "long",
        "white",
        "black",
        "brown",
        "green",
        "gray",
        "grey",
        "king",
        "page",
        "hall",
        "wood",
        "lane",
        "park",
        "bell",
        "cook",
        "case",
        "chase",
        "star",
        "stone",
        "miles",
        "price",
        "rice",
        "reading",
        "bishop",
        "baker",
        "hunter",
        "carter",
        "mason",
        "parker",
        "turner",
    ]
)


def _is_phone(text: str) -> bool:
    """9 to 15 digits in groups as phone numbers are written: a leading + or (, or three groups or more,
    no one-digit group after the first (an ISBN has them), never one bare run of digits."""
    groups = _GROUPS.findall(text)
    after_area = groups[2:] if text[0] == "+" else groups[1:]  # +33 1 ...: a one-digit area code
    if not 9 <= sum(len(g) for g in groups) <= 15 or any(len(g) == 1 for g in after_area):
        return False
    return text[0] in "+(" or len(groups) >= 3


class Roster:
    """The names and ids of known people, for finding them in text. Thread-safe."""

    def __init__(self) -> None:
        self._full: set[str] = set()
        self._words: set[str] = set()
        self._ids: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, name: str | None = None, ids: Iterable[str] = ()) -> None:
        """Add a person by display name and/or ids; empty and very short values are ignored."""
        with self._lock:
            before = (len(self._full), len(self._words), len(self._ids))
            parts = [p for p in re.split(r"[\s,]+", name or "") if len(p) >= 2]
            if len(parts) >= 2:
                self._full.add(" ".join(parts).lower())
                self._full.add(f"{parts[-1]}, {' '.join(parts[:-1])}".lower())
            self._words.update(p.lower() for p in parts if len(p) >= 3 and p.lower() not in _COMMON)
            self._ids.update(i for i in ids if len(i) >= 4)
            if (len(self._full), len(self._words), len(self._ids)) != before:
                self._pattern = None

    def pattern(self) -> re.Pattern[str] | None:
        """One regular expression matching any known name or id (longest first), or None if empty."""
        with self._lock:
            if self._pattern is None and (self._full or self._words or self._ids):
                names = sorted(self._full | self._words, key=len, reverse=True)
                ids = sorted(self._ids, key=len, reverse=True)
                alternatives = []
                if names:
                    alternatives.append(r"(?P<name>\b(?:" + "|".join(re.escape(n) for n in names) + r")\b)")
                if ids:
                    alternatives.append(
                        r"(?P<rid>(?<![A-Za-z0-9-])(?:" + "|".join(re.escape(i) for i in ids) + r")(?![A-Za-z0-9-]))"
                    )
                self._pattern = re.compile("|".join(alternatives), re.IGNORECASE)
            return self._pattern


class Found(NamedTuple):
    """Personal data found in a text: where, and the mark that replaces it."""

    start: int
    end: int
    mark: str


class Scrubber:
    """Masks personal data in free text."""

    def __init__(self, roster: Roster | None = None) -> None:
        self.roster = roster or Roster()

    def find(self, text: str) -> list[Found]:
        """Every personal datum in ``text``, in order, without overlaps (the earlier, then longer, wins)."""
        found = [f for m in _PATTERNS.finditer(text) if (f := _pattern_found(m)) is not None]
        pattern = self.roster.pattern()
        if pattern is not None:
            found.extend(f for m in pattern.finditer(text) if (f := _roster_found(m)) is not None)
        found.sort(key=lambda f: (f.start, -f.end))
        kept: list[Found] = []
        for item in found:
            if not kept or item.start >= kept[-1].end:
                kept.append(item)
        return kept

    def scrub(self, text: str) -> str:
        """``text`` with every personal datum found replaced by its mark."""
        parts = []
        at = 0
        for item in self.find(text):
            parts.append(text[at : item.start])
            parts.append(item.mark)
            at = item.end
        parts.append(text[at:])
        return "".join(parts)


def _pattern_found(match: re.Match[str]) -> Found | None:
    kind = match.lastgroup or ""
    if kind == "phone" and not _is_phone(match.group(0)):
        return None
    if kind == "labelled":
        return Found(match.start("labelled"), match.end("labelled"), "[id]")
    return Found(match.start(), match.end(), _MARKS[kind])


def _roster_found(match: re.Match[str]) -> Found | None:
    found = match.group(0)
    if match.lastgroup == "rid":
        return Found(match.start(), match.end(), "[id]")
    if " " not in found and "," not in found and not found[:1].isupper():
        return None  # a lone given or family name counts only when written as a name
    return Found(match.start(), match.end(), "[name]")
