"""Options dataclasses: one declaration gives CLI flags, test.json fields and reproduce arguments.

A workload (and later a nemesis or a runtime) declares its options as a
dataclass whose fields carry their help text, bounds and choices:

    @dataclass(frozen=True)
    class Options:
        accounts: int = opt(5, "How many account documents.", min=2)
        txn_mode: str = opt("single-node", "How transfers commit.", choices=("single-node", "cluster-wide"))

`click_options` turns the fields of several such classes into click options
(a flag shared by two parts must mean the same type; its help names both),
`build` makes an instance from what the user typed (unset flags keep the
part's own default), and `to_json` / `to_argv` give the run's record and the
flags that reproduce it. Nothing here knows any workload.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, dataclass
from typing import Any, Callable, Iterable, Sequence

import click


class OptionError(ValueError):
    """A value that does not fit an option; the message names the flag."""


def opt(default: Any, help: str, *, choices: Sequence[str] | None = None, min: float | None = None,
        max: float | None = None, flag: str | None = None) -> Any:
    """A dataclass field that is also a command-line option."""
    meta = {"help": help, "choices": tuple(choices) if choices else None, "min": min, "max": max, "flag": flag}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={"option": meta})
    return dataclasses.field(default=default, metadata={"option": meta})


@dataclass(frozen=True)
class Spec:
    """One option as the command line sees it."""

    name: str  # the dataclass field
    flag: str  # --txn-mode
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] | None
    min: float | None
    max: float | None

    @property
    def dest(self) -> str:
        return self.flag[2:].replace("-", "_")


def specs(cls: type) -> list[Spec]:
    """The options of a dataclass, in declaration order."""
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("option")
        if meta is None:
            continue
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        typ = _field_type(f, default)
        out.append(Spec(f.name, meta["flag"] or "--" + f.name.replace("_", "-"), typ, default, meta["help"],
                        meta["choices"], meta["min"], meta["max"]))
    return out


def _field_type(f: dataclasses.Field, default: Any) -> type:
    ann = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    for name, typ in (("bool", bool), ("int", int), ("float", float), ("str", str), ("list", list)):
        if ann.startswith(name):
            return typ
    return type(default) if default is not None else str


def _click_type(s: Spec) -> Any:
    if s.type is list:
        return str  # comma-separated; each item is checked against the choices in build()
    if s.choices:
        return click.Choice(list(s.choices))
    if s.type is int:
        return click.IntRange(min=s.min, max=s.max) if s.min is not None or s.max is not None else int
    if s.type is float:
        return click.FloatRange(min=s.min, max=s.max) if s.min is not None or s.max is not None else float
    return str


def click_options(owners: Iterable[tuple[str, type]]) -> Callable[[Callable], Callable]:
    """Click options for the fields of several option classes, each named by its owner.

    Defaults are None on the command line, so `build` can tell an unset flag
    (the owner's default) from one the user typed.
    """
    merged: dict[str, tuple[Spec, list[str]]] = {}
    for owner, cls in owners:
        for s in specs(cls):
            if s.flag in merged:
                first, names = merged[s.flag]
                if (first.type, first.choices) != (s.type, s.choices):
                    raise TypeError(f"{s.flag} means different things to {names[0]} and {owner}")
                names.append(owner)
            else:
                merged[s.flag] = (s, [owner])

    def decorate(fn: Callable) -> Callable:
        for flag, (s, names) in reversed(list(merged.items())):
            who = ", ".join(names)
            if s.type is bool:
                fn = click.option(f"{flag}/--no-{flag[2:]}", s.dest, default=None,
                                  help=f"{who}: {s.help} [default: {'on' if s.default else 'off'}]")(fn)
            else:
                shown = "" if s.default in (None, "", [], ()) else f" [default: {_text(s.default)}]"
                fn = click.option(flag, s.dest, default=None, type=_click_type(s),
                                  help=f"{who}: {s.help}{shown}")(fn)
        return fn

    return decorate


def flags_of(classes: Iterable[type]) -> set[str]:
    """The click destinations all these classes declare (to tell ours from the rest of a command's)."""
    return {s.dest for cls in classes for s in specs(cls)}


def build(cls: type, given: dict[str, Any], owner: str) -> Any:
    """An instance from typed values (keyed by click destination); None keeps the default.

    Raises OptionError naming the flag when a value does not fit (a list
    option takes comma-separated text).
    """
    kwargs = {}
    for s in specs(cls):
        v = given.get(s.dest)
        if v is None:
            continue
        kwargs[s.name] = _coerce(s, v, owner)
    return cls(**kwargs)


def _coerce(s: Spec, v: Any, owner: str) -> Any:
    if s.type is list:
        items = [x.strip() for x in v.split(",") if x.strip()] if isinstance(v, str) else list(v)
        if s.choices:
            for x in items:
                if x not in s.choices:
                    raise OptionError(f"{s.flag}: {x!r} is not one of {', '.join(s.choices)} ({owner})")
        return items
    if s.choices and v not in s.choices:
        raise OptionError(f"{s.flag}: {v!r} is not one of {', '.join(s.choices)} ({owner})")
    try:
        v = s.type(v) if s.type is not bool else bool(v)
    except (TypeError, ValueError):
        raise OptionError(f"{s.flag}: expected {s.type.__name__}, got {v!r} ({owner})") from None
    if s.min is not None and v < s.min or s.max is not None and v > s.max:
        bounds = f"at least {s.min:g}" if s.max is None else f"between {s.min:g} and {s.max:g}"
        raise OptionError(f"{s.flag}: must be {bounds}, got {v!r} ({owner})")
    return v


def from_json(cls: type, data: dict[str, Any] | None, owner: str) -> Any:
    """An instance from a test.json record; fields it lacks keep their defaults."""
    data = data or {}
    names = {s.name: s for s in specs(cls)}
    return cls(**{k: _coerce(names[k], v, owner) for k, v in data.items() if k in names and v is not None})


def to_json(obj: Any) -> dict[str, Any]:
    """The options as test.json records them (field names, plain values)."""
    return {s.name: getattr(obj, s.name) for s in specs(type(obj))}


def to_argv(obj: Any) -> list[str]:
    """Every option as flags, so a reproduce command does not depend on today's defaults."""
    out: list[str] = []
    for s in specs(type(obj)):
        v = getattr(obj, s.name)
        if s.type is bool:
            out.append(s.flag if v else f"--no-{s.flag[2:]}")
        elif v is not None:
            out += [s.flag, _text(v)]
    return out


def _text(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
