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


def get_model(name: str | Model, **options: Any) -> Model:
    """A model instance by name (or the instance itself, if already one)."""
    if isinstance(name, Model):
        if options:
            raise ModelError("model options go to the model's constructor when passing an instance")
        return name
    cls = MODELS.get(name)
    if cls is None:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return cls(**options)


__all__ = ["MODELS", "get_model", "Model", "ModelError", "Step", "freeze", "thaw", "MISSING", "UNOBSERVED"]
