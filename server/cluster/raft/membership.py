"""Cluster membership as stored in config entries: ``{"members": {tag: url}, "next_tag": n}``.

Tags are handed out by the leader in order (A, B, ..., Z, AA, AB, ...) from a
counter kept inside the config itself, so a removed node's tag is never reused
and every server derives the same tag from the same log.
"""

from __future__ import annotations

Config = dict  # {"members": {tag: url}, "next_tag": int}


def tag_name(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (spreadsheet-style column names)."""
    name = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        name = chr(ord("A") + r) + name
    return name


def initial_config(url: str) -> Config:
    return {"members": {tag_name(0): url}, "next_tag": 1}


def voters(config: Config | None) -> list[str]:
    return sorted(config["members"].values()) if config else []


def tag_of(config: Config | None, url: str | None) -> str | None:
    if not config or url is None:
        return None
    for tag, u in config["members"].items():
        if u == url:
            return tag
    return None


def url_of(config: Config | None, tag: str) -> str | None:
    return config["members"].get(tag) if config else None


def with_member(config: Config, url: str) -> tuple[Config, str]:
    tag = tag_name(config["next_tag"])
    members = dict(config["members"])
    members[tag] = url
    return {"members": members, "next_tag": config["next_tag"] + 1}, tag


def without_member(config: Config, tag: str) -> Config:
    members = {t: u for t, u in config["members"].items() if t != tag}
    return {"members": members, "next_tag": config["next_tag"]}


def majority(n: int) -> int:
    return n // 2 + 1
