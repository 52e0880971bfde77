"""docs/monitoring: the Prometheus alert rules and the Grafana dashboard parse, keep to their
formats, and name only metrics that `maf metrics` really exposes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

MONITORING = Path(__file__).resolve().parent.parent / "docs" / "monitoring"
RULES, DASHBOARD = MONITORING / "maf-alerts.yml", MONITORING / "maf-dashboard.json"
MAF_NAME = re.compile(r"\bmaf_[a-z0-9_]+\b")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
# the fields Prometheus's rule file parser knows (model/rulefmt): any other is refused
GROUP_FIELDS = {"name", "interval", "query_offset", "limit", "rules", "labels"}
RULE_FIELDS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


@pytest.fixture
def exposed(repo, cli):
    """The sample names of real `maf metrics` output, with every family holding a sample."""
    assert cli(repo, "lease", "acquire", "src/", "--agent", "alice").code == 0
    opened = cli(repo, "escalate", "--agent-id", "bob", "--error-context", "stuck", "--bead-id", "bd-1",
                 "--target", "lead")
    assert opened.code == 0, opened.err
    done = cli(repo, "metrics")
    assert done.code == 0, done.err
    families = list(text_string_to_metric_families(done.out))
    assert all(family.samples for family in families)
    return {sample.name for family in families for sample in family.samples}


def named(expr):
    return set(MAF_NAME.findall(expr))


def rules():
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    return document["groups"]


def test_alert_rules_keep_to_prometheus_rule_format():
    groups = rules()
    assert len({group["name"] for group in groups}) == len(groups)
    for group in groups:
        assert set(group) <= GROUP_FIELDS and group["name"] and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= RULE_FIELDS, rule
            assert ("alert" in rule) != ("record" in rule) and isinstance(rule["expr"], str) and rule["expr"]
            assert DURATION.match(rule.get("for", "0s")), rule
            assert all(LABEL_NAME.match(key) and isinstance(value, str)
                       for key, value in {**rule.get("labels", {}), **rule.get("annotations", {})}.items())
            assert rule["labels"]["severity"] in ("warning", "critical")
            assert {"summary", "description"} <= set(rule["annotations"])


def test_alert_rules_name_only_metrics_maf_exposes(exposed):
    used = set()
    for group in rules():
        for rule in group["rules"]:
            assert named(rule["expr"]) <= exposed, (rule["alert"], named(rule["expr"]) - exposed)
            used |= named(rule["expr"])
    # the five: conflict spike, overrides, escalation timeouts, chain broken, stale agents
    assert {"maf_conflicts_last_hour", "maf_overrides_last_hour", "maf_escalations_timed_out_last_hour",
            "maf_audit_chain_valid", "maf_agents_stale"} <= used


def test_promtool_accepts_the_alert_rules(promtool):
    done = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_is_an_importable_grafana_dashboard(exposed):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["uid"] and dashboard["schemaVersion"] >= 36
    assert dashboard["id"] is None  # Grafana gives it one on import
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert named(variables["instance"]["definition"]) <= exposed
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(set(ids)) == len(ids) and ids
    for panel in dashboard["panels"]:
        assert panel["type"] in ("stat", "timeseries") and panel["title"] and panel["description"]
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"] and len({target["refId"] for target in panel["targets"]}) == len(panel["targets"])
        for target in panel["targets"]:
            assert named(target["expr"]), (panel["title"], target["expr"])
            assert named(target["expr"]) <= exposed, (panel["title"], named(target["expr"]) - exposed)


def test_promtool_accepts_the_dashboard_queries_and_lints_the_exposition_clean(tmp_path, repo, cli, exposed, promtool):
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"].replace("$instance", ".*") for panel in dashboard["panels"] for target in panel["targets"]]
    as_rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"maf:panel_{n}", "expr": expr}
                                                           for n, expr in enumerate(exprs)]}]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(as_rules))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    linted = subprocess.run([promtool, "check", "metrics"], input=cli(repo, "metrics").out, capture_output=True,
                            text=True, timeout=60)
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")
