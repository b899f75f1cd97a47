"""JSON-lines log records for Raft events (elections, step-downs, commits, membership).

One JSON object per line so that tests and the harness can read the records of
every node back and check, for example, that no term had two leaders.
"""

from __future__ import annotations

import json
import logging
import time

LOGGER_NAME = "unkindness.raft"


class JsonFormatter(logging.Formatter):
    """Formats a record whose message is a dict as one JSON line (other messages go under "msg")."""

    def format(self, record: logging.LogRecord) -> str:
        body = record.msg if isinstance(record.msg, dict) else {"msg": record.getMessage()}
        out = {"ts": round(record.created, 6), "level": record.levelname.lower()}
        out.update(body)
        return json.dumps(out, default=str, sort_keys=False)


def file_logger(path: str, name: str = LOGGER_NAME) -> logging.Logger:
    """A logger writing JSON lines to ``path`` (appending; each record flushed as written)."""
    logger = logging.getLogger(f"{name}.{path}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    return logger


def read_records(path: str) -> list[dict]:
    """Parse a JSON-lines file, skipping a torn last line left by kill -9."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def now_ts() -> float:
    return time.time()
