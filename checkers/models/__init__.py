"""Sequential specifications for the linearizability checker.

A model is one small class (see ``base.Model``); ``MODELS`` maps each name
used on the command line and in results to its class.
"""

from __future__ import annotations

from typing import Any

from unkindness.checkers.models.base import MISSING, UNOBSERVED, Model, ModelError, Step, freeze, thaw
from unkindness.checkers.models.cmpxchg import CmpxchgModel
from unkindness.checkers.models.kv import KvModel
from unkindness.checkers.models.mutex import MutexModel
from unkindness.checkers.models.register import CasRegisterModel, RegisterModel
from unkindness.checkers.models.set import SetModel

MODELS: dict[str, type[Model]] = {
    m.name: m for m in (RegisterModel, CasRegisterModel, CmpxchgModel, KvModel, SetModel, MutexModel)
}


# One instance per model with its default options: models hold only their options, and a check of
# a small history felt the construction (about a microsecond).
_DEFAULT_INSTANCES: dict[str, Model] = {}


def get_model(name: str | Model, **options: Any) -> Model:
    """A model instance by name (or the instance itself, if already one)."""
    if isinstance(name, Model):
        if options:
            raise ModelError("model options go to the model's constructor when passing an instance")
        return name
    if not options and name in _DEFAULT_INSTANCES:
        return _DEFAULT_INSTANCES[name]
    cls = MODELS.get(name)
    if cls is None:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    if options:
        return cls(**options)
    return _DEFAULT_INSTANCES.setdefault(name, cls())


__all__ = ["MODELS", "get_model", "Model", "ModelError", "Step", "freeze", "thaw", "MISSING", "UNOBSERVED"]
