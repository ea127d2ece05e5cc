"""Alertmanager's configuration: critical alerts to the stack's SNS topic, the rest kept in
Alertmanager and Grafana.

Pure, so `amtool check-config` validates the rendered file (tests/test_alert_routing.py).
Alertmanager signs its SNS calls with SigV4 from the default credential chain, which EKS Pod
Identity feeds; the topic is the one CloudWatch alarms notify, so on-call has one inbox.
"""

from __future__ import annotations

from typing import Any

#: kube-prometheus-stack's Watchdog fires all the time by design (a dead man's switch): never page.
WATCHDOG = 'alertname = "Watchdog"'
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


def alertmanager_config(topic_arn: str, region: str) -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "null",
            "group_by": ["alertname", "service", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {"receiver": "null", "matchers": [WATCHDOG]},
                {"receiver": "sns", "matchers": ['severity = "critical"']},
            ],
        },
        "inhibit_rules": INHIBIT_RULES,
        "receivers": [
            {"name": "null"},
            {
                "name": "sns",
                "sns_configs": [
                    {
                        "topic_arn": topic_arn,
                        "sigv4": {"region": region},
                        "send_resolved": True,
                        "subject": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
                        "message": (
                            "{{ range .Alerts }}{{ .Annotations.summary }}\n"
                            "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
                        ),
                    }
                ],
            },
        ],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }
