"""A small evaluator of IAM policy documents, for the subset our delivery policies use.

AWS's evaluation, same account: an explicit Deny in any policy (identity, boundary, resource)
wins; otherwise the request needs an Allow from an identity policy or the resource policy, and,
when the principal has a permissions boundary, an Allow from the boundary too. Wildcards `*` and
`?` in actions (case-insensitive) and resources; conditions StringEquals, StringNotEquals,
StringLike, ArnEquals, ArnLike, Bool and their ForAnyValue: forms. A condition key missing from the
request fails a positive operator and passes a negated one, as in AWS.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "iam"
ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def managed_policy(arn: str) -> Mapping[str, Any]:
    name = arn.rsplit("/", 1)[1]
    if name == "AdministratorAccess":
        return ADMINISTRATOR_ACCESS
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _matches(patterns: Any, value: str, case_sensitive: bool) -> bool:
    if case_sensitive:
        return any(fnmatch.fnmatchcase(value, p) for p in _list(patterns))
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in _list(patterns))


OPERATORS = {
    "StringEquals": lambda value, expected: value in expected,
    "StringLike": lambda value, expected: _matches(expected, value, True),
    "ArnEquals": lambda value, expected: value in expected,
    "ArnLike": lambda value, expected: _matches(expected, value, True),
    "Bool": lambda value, expected: str(value).lower() in [str(e).lower() for e in expected],
}


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, Any]) -> bool:
    any_value = operator.startswith("ForAnyValue:")
    base = operator.removeprefix("ForAnyValue:")
    negated = base.startswith(("StringNot", "ArnNot"))
    positive = base.replace("StringNot", "String").replace("ArnNot", "Arn")
    if positive not in OPERATORS:
        raise ValueError(f"operator {operator} is not supported by this evaluator")
    if key not in context:
        return negated
    values = _list(context[key]) if any_value else [context[key]]
    hit = any(OPERATORS[positive](v, _list(expected)) for v in values)
    return not hit if negated else hit


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement and not _matches(statement["Action"], request.action, False):
        return False
    if "NotAction" in statement and _matches(statement["NotAction"], request.action, False):
        return False
    if "Resource" in statement and not _matches(statement["Resource"], request.resource, True):
        return False
    if "NotResource" in statement and _matches(statement["NotResource"], request.resource, True):
        return False
    return all(
        _condition_holds(operator, key, expected, request.context)
        for operator, block in statement.get("Condition", {}).items()
        for key, expected in block.items()
    )


def _effects(documents: Sequence[Mapping[str, Any]], request: Request) -> set[str]:
    return {s["Effect"] for d in documents for s in _list(d["Statement"]) if statement_applies(s, request)}


@dataclass(frozen=True)
class Principal:
    arn: str
    identity_policies: Sequence[Mapping[str, Any]]
    boundary: Mapping[str, Any] | None = None

    def allowed(self, request: Request, resource_policy: Mapping[str, Any] | None = None) -> bool:
        # Our clients always use TLS (the bucket denies anything else).
        context = {"aws:PrincipalArn": self.arn, "aws:SecureTransport": "true", **request.context}
        request = Request(request.action, request.resource, context)
        identity = _effects(self.identity_policies, request)
        resource = _effects([resource_policy], request) if resource_policy else set()
        boundary = _effects([self.boundary], request) if self.boundary else {"Allow"}
        if "Deny" in identity | resource | boundary:
            return False
        return "Allow" in boundary and ("Allow" in identity or "Allow" in resource)


def may_assume(trust: Mapping[str, Any], provider_arn: str, claims: Mapping[str, str] | None) -> bool:
    """Would STS let a GitHub token with these claims assume a role of this trust policy?
    None: the job got no token (a fork's pull request)."""
    if claims is None:
        return False
    request = Request("sts:AssumeRoleWithWebIdentity", "*", claims)
    applies = [
        s
        for s in _list(trust["Statement"])
        if s.get("Principal", {}).get("Federated") == provider_arn and statement_applies(s, request)
    ]
    return any(s["Effect"] == "Allow" for s in applies) and not any(s["Effect"] == "Deny" for s in applies)
