"""The friendly 404 of static misses, as a Lambda@Edge origin-response function.

Lambda@Edge functions live in us-east-1, are referenced by a published version, take no
environment variables, and are assumed by both lambda.amazonaws.com and edgelambda.amazonaws.com
(their logs land in the region of the edge location that ran them).
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws.iam_documents import service_trust_policy

SOURCE = Path(__file__).parent / "not_found"
#: What the function's package holds: the handler and the page it serves.
FILES = ("handler.py", "404.html")
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def static_not_found_function(name: str, parent: pulumi.Resource, edge: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The qualified ARN (`...:function:<name>:<version>`) CloudFront associates with behaviours."""
    # edgelambda.amazonaws.com replicates the function to the edge locations.
    trust = service_trust_policy(["edgelambda.amazonaws.com", "lambda.amazonaws.com"])
    role = aws.iam.Role(f"{name}-role", assume_role_policy=trust, opts=pulumi.ResourceOptions(parent=parent))
    aws.iam.RolePolicyAttachment(
        f"{name}-logs", role=role.name, policy_arn=BASIC_EXECUTION, opts=pulumi.ResourceOptions(parent=parent)
    )
    function = aws.lambda_.Function(
        name,
        description="Static misses (S3 403/404) become the friendly 404 page; nothing else is touched",
        runtime="python3.12",
        handler="handler.handler",
        role=role.arn,
        code=pulumi.AssetArchive({file: pulumi.FileAsset(str(SOURCE / file)) for file in FILES}),
        memory_size=128,
        timeout=5,
        publish=True,
        # CloudFront's replicas outlive the distribution by hours and AWS refuses to delete a
        # replicated function: `destroy` leaves it (and its replicas expire) instead of failing (#25).
        skip_destroy=True,
        opts=edge,
    )
    return function.qualified_arn
