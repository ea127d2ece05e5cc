"""What each resource type costs a month: one module per family of types, each registering its
rules on import (cost/charges.py); types AWS does not bill are in cost/free.py."""

from ..charges import RULES, Context
from ..free import FREE
from . import compute, data, edge, network, observability, storage  # noqa: F401 (register their rules)

__all__ = ["FREE", "RULES", "Context"]
