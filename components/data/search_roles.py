"""The OpenSearch roles of the platform's clients, as the security plugin's REST API takes them.

The gateway only reads the catalogue; Odoo writes it (its indexer). Both reach the domain as
IAM roles (their pods' Pod Identity), which the role mappings name as backend roles.
"""

from __future__ import annotations

from typing import Any

#: The catalogue's indices (the index and the aliases Odoo's indexer rolls over).
CATALOGUE = ["catalogue*"]
READ = ["indices:data/read/*", "indices:admin/mappings/get", "indices:admin/resolve/index"]
WRITE = [*READ, "indices:data/write/*", "indices:admin/create", "indices:admin/mapping/put", "indices:admin/aliases*"]


def role(cluster_actions: list[str], index_actions: list[str]) -> dict[str, Any]:
    """Clients check the cluster (`GET /`: cluster:monitor/main) before anything else."""
    return {
        "cluster_permissions": ["cluster:monitor/main", *cluster_actions],
        "index_permissions": [{"index_patterns": CATALOGUE, "allowed_actions": index_actions}],
    }


#: Role name -> body. `_bulk` is a cluster permission (indices:data/write/bulk, in
#: cluster_composite_ops): the writer needs it to index.
ROLES = {
    "catalogue_reader": role(["cluster_composite_ops_ro"], READ),
    "catalogue_writer": role(["cluster_composite_ops"], [*WRITE, "indices:admin/refresh*"]),
}
#: What each client's identity may send to the domain's HTTP API (IAM side of the same split).
HTTP_ACTIONS = {
    "catalogue_reader": ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"],
    "catalogue_writer": ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
}
