"""The certificate authorities clients verify RDS against (`verify-full`: the chain and the host
name). RDS signs its server certificates under per-region roots of AWS's own, which no image's
trust store holds, so the repository carries AWS's bundle (public certificates) and the pods
that talk to RDS directly (PgBouncer, the database Jobs) get their region's roots from a
ConfigMap.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

#: The CA the instances are created with (`ca_cert_identifier`): AWS rotates the server
#: certificates under it; its root is in every region's share of the bundle.
CA_IDENTIFIER = "rds-ca-rsa2048-g1"
#: The root's common name in a region, for `CA_IDENTIFIER`.
CA_COMMON_NAME = "Amazon RDS {region} Root CA RSA2048 G1"
#: AWS's global bundle, each block labelled with its common name (the file says where from).
BUNDLE_FILE = Path(__file__).parent / "rds-global-bundle.pem"
#: The key of the region's roots in the ConfigMaps that carry them.
BUNDLE_KEY = "rds-ca.pem"
_LABELLED = re.compile(
    r"^# Amazon RDS (?P<region>[a-z0-9-]+) Root CA [A-Z0-9]+ G1\n-----BEGIN CERTIFICATE-----\n.*?"
    r"-----END CERTIFICATE-----\n",
    re.MULTILINE | re.DOTALL,
)


@functools.cache
def _blocks() -> tuple[re.Match[str], ...]:
    """The bundle, read and split once per process: every Args class with `rds_ca` asks for it."""
    return tuple(_LABELLED.finditer(BUNDLE_FILE.read_text()))


def bundled_regions() -> list[str]:
    return sorted({block["region"] for block in _blocks()})


def ca_bundle(region: str) -> str:
    """The region's roots (RSA2048, RSA4096 and ECC384 G1), labelled. Stack config refuses a
    region without any (stacks/schema/platform.py), so an empty result is a programming error."""
    return "".join(block[0] for block in _blocks() if block["region"] == region)
