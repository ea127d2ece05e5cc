"""Alertmanager's configuration: critical alerts page (the stack's pages topic, which the
CloudWatch alarms notify too), every other alert reaches the warnings topic (a non-paging inbox),
and the Watchdog, which fires all the time by design, feeds the heartbeat topic: its silence is
what a CloudWatch alarm pages on (a dead man's switch for Prometheus and Alertmanager).

Pure, so `amtool check-config` validates the rendered file and `amtool config routes test` routes
every rule's labels through it (tests/test_alert_routing.py). Alertmanager signs its SNS calls
with SigV4 from the default credential chain, which EKS Pod Identity feeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: kube-prometheus-stack's Watchdog: always firing, so its notifications are a heartbeat.
WATCHDOG = 'alertname = "Watchdog"'
#: kube-prometheus-stack's InfoInhibitor (severity none) exists only to inhibit info alerts.
INFO_INHIBITOR = 'alertname = "InfoInhibitor"'
#: Alertmanager re-sends a firing group this often: the heartbeat's beat. The CloudWatch alarm
#: on its topic pages after HEARTBEAT_SILENCE_S without one.
HEARTBEAT_REPEAT = "5m"
#: The chart's default inhibitions: a critical alert silences its own warning and info twins.
INHIBIT_RULES = [
    {
        "source_matchers": ['severity = "critical"'],
        "target_matchers": ['severity =~ "warning|info"'],
        "equal": ["namespace", "alertname"],
    },
    {
        "source_matchers": ['severity = "warning"'],
        "target_matchers": ['severity = "info"'],
        "equal": ["namespace", "alertname"],
    },
]
SUBJECT = "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}"
MESSAGE = "{{ range .Alerts }}{{ .Annotations.summary }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}"


@dataclass(frozen=True)
class AlertDestinations:
    """Where alerts go: the SNS topics (one region) and the KMS keys they are encrypted with."""

    #: Critical: pages on-call (the CloudWatch alarms' topic).
    pages_topic_arn: Any
    #: Everything else: a non-paging inbox.
    warnings_topic_arn: Any
    #: The Watchdog's beats; no subscriber, a CloudWatch alarm watches its publish count.
    heartbeat_topic_arn: Any
    #: The keys of those topics (Alertmanager encrypts through them when it publishes).
    key_arns: Any

    @property
    def topic_arns(self) -> list[Any]:
        return [self.pages_topic_arn, self.warnings_topic_arn, self.heartbeat_topic_arn]


def alertmanager_config(pages: str, warnings: str, heartbeat: str, region: str) -> dict[str, Any]:
    """The config for resolved topic ARNs."""
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "warnings",
            "group_by": ["alertname", "service", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {
                    "receiver": "heartbeat",
                    "matchers": [WATCHDOG],
                    "group_wait": "0s",
                    "group_interval": "1m",
                    "repeat_interval": HEARTBEAT_REPEAT,
                },
                {"receiver": "null", "matchers": [INFO_INHIBITOR]},
                {"receiver": "pages", "matchers": ['severity = "critical"']},
                {"receiver": "warnings", "matchers": ['severity = "info"'], "repeat_interval": "24h"},
            ],
        },
        "inhibit_rules": INHIBIT_RULES,
        "receivers": [
            {"name": "null"},
            _sns("pages", pages, region),
            _sns("warnings", warnings, region),
            # A beat needs no resolved message: the alarm counts publishes.
            _sns("heartbeat", heartbeat, region, send_resolved=False),
        ],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }


def _sns(name: str, topic_arn: str, region: str, send_resolved: bool = True) -> dict[str, Any]:
    config = {
        "topic_arn": topic_arn,
        "sigv4": {"region": region},
        "send_resolved": send_resolved,
        "subject": SUBJECT,
        "message": MESSAGE,
    }
    return {"name": name, "sns_configs": [config]}
