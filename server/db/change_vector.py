"""Change vectors: `A:7-<dbid>, B:5-<dbid>`.

A change vector records, per database instance, the highest etag a version has
seen. It orders versions without a shared clock: one version is newer than
another when it has seen everything the other has seen, and more. When neither
has seen all of the other, the versions are concurrent (a conflict).

An entry is identified by (node tag, database id): a database recreated on the
same node gets a new id and is a new source. The dbid is optional in text so
that `A:3, B:1` (the chapter's notation) parses too.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from typing import Iterable, Mapping


class ChangeVectorError(ValueError):
    """Raised for text that is not a change vector, with the offending part named."""


class Order(enum.Enum):
    """How version `a` relates to version `b` in `compare(a, b)`."""

    EQUAL = "equal"
    NEWER = "newer"  # a has seen everything b has, and more
    OLDER = "older"  # b has seen everything a has, and more
    CONCURRENT = "concurrent"  # each has seen something the other has not


_TAG = re.compile(r"^[A-Za-z0-9_]+$")
_DBID = re.compile(r"^[A-Za-z0-9_+/=.]+$")

Key = tuple[str, str]  # (node tag, dbid); dbid "" when absent


@dataclass(frozen=True)
class ChangeVector:
    """An immutable change vector; entries with etag 0 are dropped (0 = never seen)."""

    entries: tuple[tuple[Key, int], ...]

    @classmethod
    def of(cls, mapping: Mapping[Key, int]) -> "ChangeVector":
        return cls(tuple(sorted((k, v) for k, v in mapping.items() if v > 0)))

    @functools.cached_property
    def mapping(self) -> dict[Key, int]:
        """Entries as a dict, built once per vector (read-only: do not mutate)."""
        return dict(self.entries)

    def as_dict(self) -> dict[Key, int]:
        return dict(self.entries)

    def etag_of(self, tag: str, dbid: str = "") -> int:
        return self.mapping.get((tag, dbid), 0)

    def __str__(self) -> str:
        return format_cv(self)

    def __bool__(self) -> bool:
        return bool(self.entries)


EMPTY = ChangeVector(())


# Text -> parsed vector, for the vectors every write parses again (the
# database vector, the stored version's). Bounded; safe to share between
# threads because ChangeVector is immutable and dict operations are atomic.
_PARSED: dict[str, ChangeVector] = {}
_PARSED_MAX = 4096


def _remember(text: str, cv: ChangeVector) -> None:
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[text] = cv


def parse(text: str | None | ChangeVector) -> ChangeVector:
    """Parse `A:7-dbid, B:5-dbid`; None or "" is the empty vector."""
    if isinstance(text, ChangeVector):
        return text
    if text is None:
        return EMPTY
    if not isinstance(text, str):
        raise ChangeVectorError(f"change vector must be a string, got {type(text).__name__}")
    known = _PARSED.get(text)
    if known is not None:
        return known
    cv = _parse_text(text)
    _remember(text, cv)
    return cv


def _parse_text(text: str) -> ChangeVector:
    text = text.strip()
    if not text:
        return EMPTY
    result: dict[Key, int] = {}
    for raw in text.split(","):
        part = raw.strip()
        tag, sep, rest = part.partition(":")
        if not sep or not _TAG.match(tag):
            raise ChangeVectorError(f"bad change vector entry {part!r} in {text!r}: expected TAG:ETAG-DBID")
        etag_text, dash, dbid = rest.partition("-")
        if not etag_text.isdigit() or (dash and not _DBID.match(dbid)):
            raise ChangeVectorError(f"bad change vector entry {part!r} in {text!r}: expected TAG:ETAG-DBID")
        key = (tag, dbid)
        etag = int(etag_text)
        if key in result:
            raise ChangeVectorError(f"duplicate entry for {tag}-{dbid} in change vector {text!r}")
        result[key] = etag
    return ChangeVector.of(result)


def format_cv(cv: ChangeVector) -> str:
    """The canonical text: entries sorted by tag then dbid (remembered, so parsing it back is free)."""
    text = ", ".join(f"{tag}:{etag}-{dbid}" if dbid else f"{tag}:{etag}" for (tag, dbid), etag in cv.entries)
    _remember(text, cv)
    return text


def compare(a: str | ChangeVector | None, b: str | ChangeVector | None) -> Order:
    """Compare two versions by what they have seen."""
    da, db = parse(a).mapping, parse(b).mapping
    a_ahead = any(v > db.get(k, 0) for k, v in da.items())
    b_ahead = any(v > da.get(k, 0) for k, v in db.items())
    if a_ahead and b_ahead:
        return Order.CONCURRENT
    if a_ahead:
        return Order.NEWER
    if b_ahead:
        return Order.OLDER
    return Order.EQUAL


def merge(*vectors: str | ChangeVector | None) -> ChangeVector:
    """Entrywise maximum: the least vector that has seen everything every input has."""
    out: dict[Key, int] = {}
    for v in vectors:
        for k, e in parse(v).entries:
            if e > out.get(k, 0):
                out[k] = e
    return ChangeVector.of(out)


def merge_all(vectors: Iterable[str | ChangeVector | None]) -> ChangeVector:
    return merge(*list(vectors))


def dominates(a: str | ChangeVector | None, b: str | ChangeVector | None) -> bool:
    """True when `a` has seen everything `b` has (newer or equal)."""
    da = parse(a).mapping
    return all(v <= da.get(k, 0) for k, v in parse(b).mapping.items())


def covers(have: ChangeVector, text: str) -> bool:
    """``dominates(have, text)`` for a well-formed vector text such as a stored
    item's, without building a ChangeVector (the replication sender asks this
    for every item it considers); falls back to :func:`parse` for anything odd."""
    seen = have.mapping
    try:
        for part in text.split(","):
            tag, _, rest = part.strip().partition(":")
            etag, _, dbid = rest.partition("-")
            if int(etag) > seen.get((tag, dbid), 0):
                return False
        return True
    except ValueError:
        return dominates(have, text)


def for_local_write(database_cv: str | ChangeVector | None, tag: str, etag: int, dbid: str) -> ChangeVector:
    """The vector of a local write: everything this database has seen plus the new etag.

    Merging the database's whole vector makes a local write dominate every
    version stored here, conflicting ones included, so writing to a conflicted
    document resolves the conflict.
    """
    if etag <= 0:
        raise ChangeVectorError(f"a local write needs a positive etag, got {etag}")
    entries = dict(parse(database_cv).entries)
    if etag > entries.get((tag, dbid), 0):
        entries[(tag, dbid)] = etag
    return ChangeVector.of(entries)
