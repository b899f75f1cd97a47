"""A small EDN reader, enough for Jepsen's `history.edn` and Knossos histories.

Jepsen writes one op map per line (`{:index 0, :type :invoke, :f :read, ...}`),
newer versions as tagged records (`#jepsen.history.Op{...}`); Knossos test
data is one vector of op maps. This reader handles keywords, symbols,
strings, characters, integers (with `N`), floats (with `M`), ratios, nil,
booleans, lists, vectors, maps, sets, tagged literals (the tag is dropped:
`#inst "..."` reads as its string), `#_` discards and `;` comments.

Keywords read as `Keyword` (a str subclass), so `:read` compares equal to
"read" and a caller can still tell that it was a keyword. Errors raise
`EdnError` with the line and column, so a broken file names where it broke.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Iterator

_WS = " \t\r\n,"
_DELIMS = _WS + "()[]{}\";"
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
_NAMED_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "backspace": "\b", "formfeed": "\f"}


class EdnError(ValueError):
    """Malformed EDN; the message carries line and column."""


class Keyword(str):
    """An EDN keyword, without its colon; equal to the plain string."""

    __slots__ = ()

    def __repr__(self) -> str:
        return ":" + str(self)


class Symbol(str):
    """An EDN symbol."""

    __slots__ = ()


class Tagged:
    """A tagged literal whose tag we do not interpret (kept for fidelity)."""

    __slots__ = ("tag", "value")

    def __init__(self, tag: str, value: Any) -> None:
        self.tag, self.value = tag, value


MAX_DEPTH = 200  # Jepsen's op maps nest a few levels; deeper input is refused, never a RecursionError


class _Reader:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.n = len(text)
        self.depth = 0
        self._line_pos = 0  # line counting resumes from here: where() stays linear over a file
        self._line_no = 1

    def line_at(self, pos: int) -> int:
        """The 1-based line of `pos`, counted on from the last position asked (forms come in order)."""
        if pos < self._line_pos:
            self._line_pos, self._line_no = 0, 1
        self._line_no += self.s.count("\n", self._line_pos, pos)
        self._line_pos = pos
        return self._line_no

    def where(self, pos: int | None = None) -> str:
        pos = self.i if pos is None else pos
        line = self.line_at(pos)
        col = pos - (self.s.rfind("\n", 0, pos) + 1) + 1
        return f"line {line}, column {col}"

    def fail(self, msg: str, pos: int | None = None) -> EdnError:
        return EdnError(f"{self.where(pos)}: {msg}")

    def skip(self) -> None:
        s, n = self.s, self.n
        while self.i < n:
            c = s[self.i]
            if c in _WS:
                self.i += 1
            elif c == ";":
                nl = s.find("\n", self.i)
                self.i = n if nl < 0 else nl + 1
            elif s.startswith("#_", self.i):
                self.i += 2
                self.read()
            else:
                return

    def at_end(self) -> bool:
        self.skip()
        return self.i >= self.n

    def read(self) -> Any:
        """One form. Nesting (collections, tags, discards) is bounded, so no input can exhaust the stack."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep; a history's op maps never are")
        try:
            return self._read()
        finally:
            self.depth -= 1

    def _read(self) -> Any:
        self.skip()
        if self.i >= self.n:
            raise self.fail("unexpected end of input")
        c = self.s[self.i]
        if c == "{":
            return self._map()
        if c == "[":
            return self._seq("]")
        if c == "(":
            return self._seq(")")
        if c == '"':
            return self._string()
        if c == ":":
            self.i += 1
            tok = self._token()
            if not tok:
                raise self.fail("empty keyword", self.i - 1)
            return Keyword(tok)
        if c == "\\":
            return self._char()
        if c == "#":
            return self._dispatch()
        if c in ")]}":
            raise self.fail(f"unexpected {c!r}")
        start = self.i
        tok = self._token()
        return self._atom(tok, start)

    def _token(self) -> str:
        start = self.i
        s, n = self.s, self.n
        while self.i < n and s[self.i] not in _DELIMS:
            self.i += 1
        return s[start:self.i]

    def _seq(self, close: str) -> list:
        start = self.i
        self.i += 1
        out = []
        while True:
            self.skip()
            if self.i >= self.n:
                raise self.fail(f"unclosed {self.s[start]!r} opened here", start)
            if self.s[self.i] == close:
                self.i += 1
                return out
            out.append(self.read())

    def _map(self) -> dict:
        start = self.i
        items = self._seq("}")
        if len(items) % 2:
            raise self.fail("map has an odd number of forms", start)
        out = {}
        for k, v in zip(items[::2], items[1::2]):
            out[_hashable(k)] = v
        return out

    def _string(self) -> str:
        start = self.i
        self.i += 1
        s, parts = self.s, []
        while True:
            j = self.i
            while j < self.n and s[j] not in '"\\':
                j += 1
            parts.append(s[self.i:j])
            if j >= self.n:
                raise self.fail("unterminated string starting here", start)
            if s[j] == '"':
                self.i = j + 1
                return "".join(parts)
            esc = s[j + 1:j + 2]
            if esc == "u":
                hexd = s[j + 2:j + 6]
                try:
                    parts.append(chr(int(hexd, 16)))
                except ValueError:
                    raise self.fail(f"bad unicode escape \\u{hexd}", j) from None
                self.i = j + 6
            elif esc in _ESCAPES:
                parts.append(_ESCAPES[esc])
                self.i = j + 2
            else:
                raise self.fail(f"unknown escape \\{esc}", j)

    def _char(self) -> str:
        start = self.i
        self.i += 1
        if self.i >= self.n:
            raise self.fail("character literal at end of input", start)
        if self.s[self.i] in _DELIMS:  # \( \" and friends are themselves
            self.i += 1
            return self.s[self.i - 1]
        tok = self._token()
        if len(tok) == 1:
            return tok
        if tok in _NAMED_CHARS:
            return _NAMED_CHARS[tok]
        if tok.startswith("u") and len(tok) == 5:
            try:
                return chr(int(tok[1:], 16))
            except ValueError:
                pass
        raise self.fail(f"unknown character literal \\{tok}", start)

    def _dispatch(self) -> Any:
        start = self.i
        nxt = self.s[self.i + 1:self.i + 2]
        if nxt == "{":
            self.i += 1
            items = self._seq("}")
            try:
                return frozenset(_hashable(x) for x in items)
            except TypeError:
                raise self.fail("set element is not hashable", start) from None
        if nxt == "#":  # ##Inf, ##-Inf, ##NaN
            self.i += 2
            tok = self._token()
            vals = {"Inf": float("inf"), "-Inf": float("-inf"), "NaN": float("nan")}
            if tok not in vals:
                raise self.fail(f"unknown symbolic value ##{tok}", start)
            return vals[tok]
        self.i += 1
        tag = self._token()
        if not tag:
            raise self.fail("'#' must be followed by a tag, '{' or '_'", start)
        value = self.read()
        # Records such as #jepsen.history.Op{...} read as their map.
        return value if isinstance(value, (dict, str, list, int, float)) else Tagged(tag, value)

    def _atom(self, tok: str, start: int) -> Any:
        if tok == "nil":
            return None
        if tok == "true":
            return True
        if tok == "false":
            return False
        c = tok[0]
        if c.isdigit() or (c in "+-" and len(tok) > 1 and tok[1].isdigit()):
            return self._number(tok, start)
        return Symbol(tok)

    def _number(self, tok: str, start: int) -> Any:
        t = tok
        try:
            if t.endswith("N"):
                return int(t[:-1])
            if t.endswith("M"):
                return float(t[:-1])
            if "/" in t:
                r = Fraction(t)
                return int(r) if r.denominator == 1 else float(r)
            if any(ch in t for ch in ".eE"):
                return float(t)
            if t.lstrip("+-").startswith("0x"):
                return int(t, 16)
            return int(t)
        except (ValueError, ZeroDivisionError):
            raise self.fail(f"bad number {_brief(tok)}", start) from None


def _brief(tok: str, limit: int = 40) -> str:
    """A token for an error message: a hostile file must not make the message huge."""
    return repr(tok) if len(tok) <= limit else f"{tok[:limit]!r}... ({len(tok):,} characters)"


def _hashable(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_hashable(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted(((_hashable(k), _hashable(v)) for k, v in x.items()), key=repr))
    return x


def loads(text: str) -> Any:
    """Reads exactly one EDN form."""
    r = _Reader(text)
    value = r.read()
    if not r.at_end():
        raise r.fail("unexpected content after the form")
    return value


def iter_forms(text: str) -> Iterator[tuple[Any, int]]:
    """Yields every top-level form with its 1-based line number."""
    r = _Reader(text)
    while not r.at_end():
        line = r.line_at(r.i)
        yield r.read(), line


# --- writing -----------------------------------------------------------------------------------

_KEYWORD = re.compile(r"^[A-Za-z*+!_?<>=-][A-Za-z0-9*+!_?<>=.-]*$")
_WRITE_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def keyword(name: str) -> Keyword:
    return Keyword(name)


def dumps(v: Any) -> str:
    """One value as EDN text: str, int, float, bool, None, list, dict and Keyword (no recursion limit
    beyond what the value has; histories nest a few levels)."""
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Keyword):
        return ":" + str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "##NaN"
        if v in (float("inf"), float("-inf")):
            return "##Inf" if v > 0 else "##-Inf"
        return repr(v)
    if isinstance(v, str):
        return '"' + "".join(_WRITE_ESCAPES.get(c, c) for c in v) + '"'
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(dumps(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} {dumps(x)}" for k, x in v.items()) + "}"
    return dumps(str(v))


def _key(k: Any) -> str:
    """Map keys as keywords where they are plain names (:value, :cart), else as strings ("accounts/0")."""
    if isinstance(k, str) and _KEYWORD.match(k):
        return ":" + k
    return dumps(k)
