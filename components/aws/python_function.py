"""A Lambda deployment package built from files, not from a build step: the function's own
package from the repository, and its pure-Python dependencies as installed in the environment
the program runs in, which requirements.txt pins with hashes. `pulumi up` packages exactly what
was reviewed.

Each dependency goes in whole, as its installer's RECORD lists it: its modules *and* its
`.dist-info` (pg8000 and scramp read their own version from their metadata at import time).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from importlib.metadata import distribution
from pathlib import Path, PurePosixPath

import pulumi

from components.aws.iam_documents import statement

#: Python of the functions; the dependencies are pure Python, so any 3.x Lambda runtime loads them.
RUNTIME = "python3.12"


def _source_files(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """The source files under `root`, without bytecode caches (they differ between machines)."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield f"{prefix}/{path.relative_to(root).as_posix()}", path


def source_digest(package: Path) -> str:
    """A digest of the package's source files: what changes when the function's code does."""
    digest = hashlib.sha256()
    for name, path in _source_files(package, package.name):
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def installed_files(name: str) -> Iterator[tuple[str, Path]]:
    """A distribution's files as installed (archive path, local path): modules and metadata,
    without bytecode and without what lives outside site-packages (console scripts)."""
    dist = distribution(name)
    for file in dist.files or ():
        relative = PurePosixPath(file.as_posix())
        if ".." in relative.parts or "__pycache__" in relative.parts or relative.suffix == ".pyc":
            continue
        yield relative.as_posix(), Path(str(dist.locate_file(file)))


def python_archive(package: Path, dependencies: Sequence[str]) -> pulumi.AssetArchive:
    """`package` at the archive's root (its name is the handler's first part), with the
    installed distributions named in `dependencies` beside it."""
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        name: pulumi.FileAsset(str(path)) for name, path in _source_files(package, package.name)
    }
    for name in dependencies:
        assets.update({key: pulumi.FileAsset(str(path)) for key, path in installed_files(name)})
    return pulumi.AssetArchive(assets)


#: What Lambda needs to put a function's network interfaces in a VPC (AWSLambdaVPCAccessExecutionRole's
#: EC2 actions; EC2 grants no narrower resource for them).
VPC_ACCESS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def function_basics(log_group_arn: pulumi.Input[str], key_arn: pulumi.Input[str]) -> list[dict]:
    """A VPC function's own needs: its log group, the key of its environment, its network
    interfaces and its traces."""
    return [
        statement(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.Output.concat(log_group_arn, ":*")]),
        statement(["kms:Decrypt"], [key_arn]),
        statement(list(VPC_ACCESS)),
        statement(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),
    ]
