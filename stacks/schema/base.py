"""Shared base for every stack-config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Section(BaseModel):
    """A block of stack config.

    `extra="forbid"` turns a misspelled key into an error instead of a silent fall-back to the
    default, and keys are camelCase as `pulumi config set --path` users expect.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        frozen=True,
        str_strip_whitespace=True,
    )
