"""Shared base for every stack-config section."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator
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


#: repository:tag, optionally pinned to its digest (repository:tag@sha256:<64 hex>).
IMAGE = r"^[a-z0-9.-]+(/[a-z0-9._-]+)+:[A-Za-z0-9._-]+(@sha256:[a-f0-9]{64})?$"
CPU = r"^\d+m?$"
MEMORY = r"^\d+(Mi|Gi)$"


def mebibytes(quantity: str) -> int:
    match = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    if match is None:
        raise ValueError(f"{quantity!r} is not a quantity in Mi or Gi")
    number, unit = match.groups()
    return int(number) * (1024 if unit == "Gi" else 1)


class ResourcesConfig(Section):
    """Requests and limits of one container; HPA utilization targets are relative to the requests."""

    cpu_request: str = Field(pattern=CPU, description='CPU request ("500m", "1"); HPA CPU targets are relative to it.')
    cpu_limit: str = Field(pattern=CPU, description="CPU limit.")
    memory_request: str = Field(pattern=MEMORY, description='Memory request ("512Mi", "2Gi").')
    memory_limit: str = Field(pattern=MEMORY, description="Memory limit, where the kernel kills the container.")

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> ResourcesConfig:
        if mebibytes(self.memory_limit) < mebibytes(self.memory_request):
            raise ValueError(f"memoryLimit {self.memory_limit} is below memoryRequest {self.memory_request}")
        return self
