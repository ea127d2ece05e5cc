"""The base of every settings model: a block of stack config that is also a component's input.

A component whose input only mirrors a config block declares that block here-shaped, in its own
pure module (`k8s/hpa.py`'s HpaSettings, `edge/cdn_policies.py`'s Ttls ...), and the stack schema
uses the same class: one declaration per setting, its validators beside it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
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
#: Kubernetes quantities as config writes them: ASCII digits only (`\d` would take any script's).
CPU = r"^[0-9]+m?$"
MEMORY = r"^[0-9]+(Mi|Gi)$"


def _not_latest(image: str) -> str:
    if image.split("@", 1)[0].rsplit(":", 1)[-1] == "latest":
        raise ValueError(f"{image!r}: `latest` names a different image tomorrow; pin a version tag")
    return image


#: A container image by a pinned tag (never `latest`), optionally with its digest.
PinnedImage = Annotated[str, StringConstraints(pattern=IMAGE), AfterValidator(_not_latest)]
#: Printable ASCII only: the value becomes an HTTP header, where a control character splits or
#: corrupts the response (CloudFront rejects it at deploy time, long after review).
HEADER_VALUE = r"^[\x20-\x7E]+$"


def millicores(quantity: str) -> int:
    match = re.fullmatch(r"([0-9]+)(m?)", quantity)
    if match is None:
        raise ValueError(f"{quantity!r} is not a CPU quantity (500m, 2)")
    number, milli = match.groups()
    return int(number) * (1 if milli else 1000)


def mebibytes(quantity: str) -> int:
    match = re.fullmatch(r"([0-9]+)(Mi|Gi)", quantity)
    if match is None:
        raise ValueError(f"{quantity!r} is not a quantity in Mi or Gi")
    number, unit = match.groups()
    return int(number) * (1024 if unit == "Gi" else 1)


#: The only values CloudWatch Logs accepts for `retention_in_days`.
LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]


def _at_least_a_month(days: int) -> int:
    if days < 30:
        raise ValueError(f"{days} days is too short for audit and security logs; allowed: 30 days or more")
    return days


#: Audit and security logs (the control plane, the WAF): a month at least, for an investigation.
AuditLogRetentionDays = Annotated[LogRetentionDays, AfterValidator(_at_least_a_month)]
