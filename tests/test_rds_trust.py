"""The vendored RDS roots: what the pods verify the database with, and what stack config
refuses when a region has none."""

from __future__ import annotations

import datetime
import re

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from components.data.rds_trust import BUNDLE_FILE, CA_COMMON_NAME, bundled_regions, ca_bundle
from tests.conftest import config_problems, stack_file_config, with_section


def common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_every_block_is_labelled_with_its_own_common_name():
    """The program picks a region's roots by label; a label that lied would hand a pod another
    region's roots (and verify-full would fail at its first connection, not here)."""
    text = BUNDLE_FILE.read_text()
    labelled = re.findall(
        r"^# ([^\n]+)\n(-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n)", text, re.M | re.S
    )
    assert len(labelled) == text.count("-----BEGIN CERTIFICATE-----") > 0
    for label, pem in labelled:
        assert common_name(x509.load_pem_x509_certificate(pem.encode())) == label
    per_region = sum(ca_bundle(region).count("-----BEGIN CERTIFICATE-----") for region in bundled_regions())
    assert per_region == len(labelled)


@pytest.mark.parametrize("region", bundled_regions())
def test_each_region_has_its_three_self_signed_roots(region):
    """RSA2048, RSA4096 and ECC384 G1, each a CA that signed itself."""
    certs = x509.load_pem_x509_certificates(ca_bundle(region).encode())
    assert sorted(common_name(c).rsplit(" ", 2)[1] for c in certs) == ["ECC384", "RSA2048", "RSA4096"]
    for cert in certs:
        assert cert.subject == cert.issuer
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        cert.verify_directly_issued_by(cert)


def test_the_stacks_region_has_the_root_of_the_instances_ca_for_decades():
    """The instances are created under CA_IDENTIFIER (rds-ca-rsa2048-g1): its root must be in the
    pods' bundle and outlive any stack built today by far (AWS rotates the server certificates
    under it, not the root)."""
    for stack in ("staging", "prod"):
        region = stack_file_config(stack)["aws:region"]
        roots = {common_name(c): c for c in x509.load_pem_x509_certificates(ca_bundle(region).encode())}
        root = roots[CA_COMMON_NAME.format(region=region)]
        assert root.not_valid_after_utc > datetime.datetime(2060, 1, 1, tzinfo=datetime.UTC)


def test_a_region_without_roots_is_refused_naming_the_key():
    """Clients could not verify the database there: one line naming aws:region, and where the
    region's roots come from."""
    [problem] = config_problems(with_section("staging", "aws:region", "us-gov-west-1"))
    assert problem.startswith("aws:region = 'us-gov-west-1': no RDS root of this region in rds-global-bundle.pem")
    assert "https://truststore.pki.rds.amazonaws.com/us-gov-west-1/us-gov-west-1-bundle.pem" in problem
