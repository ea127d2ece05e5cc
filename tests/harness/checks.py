"""Guards that keep a test able to fail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def nonempty(items: Iterable[T]) -> list[T]:
    """The items, asserting there are some: asserts in a loop over nothing pass vacuously, so a
    renamed resource type or label would otherwise turn a test green by checking nothing."""
    found = list(items)
    assert found, "nothing to check: the selection matched no item"
    return found


def sample_key_access():
    """Who administers a component's KMS keys in a component test: a deploy role of the account."""
    from components.aws.kms import KeyAccess

    return KeyAccess("123456789012", ["arn:aws:iam::123456789012:role/smartdairy-test-deploy"])
