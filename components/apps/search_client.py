"""What an application needs to reach the catalogue search: the domain's URL (no credential in
it) and what its IAM role may send there; OpenSearch's role mapping does the rest."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.aws.iam_documents import statement


@dataclass(frozen=True)
class SearchClient:
    #: https://<domain endpoint>.
    url: pulumi.Input[str]
    #: The domain's ARN.
    domain_arn: pulumi.Input[str]
    #: The HTTP actions of the client's OpenSearch role (components/data/search_roles.py).
    actions: tuple[str, ...]

    def statements(self) -> list[dict]:
        """The client's IAM side: these HTTP actions on this domain's paths only."""
        return [statement(list(self.actions), [pulumi.Output.concat(self.domain_arn, "/*")])]
