"""maf-preflight's CI formats: JUnit XML that validates against the Jenkins xunit plugin's JUnit
schema (junit-10.xsd, kept outside the project: the test skips without it), warnings visible as
such, and a configuration that cannot be used as GitHub annotations with file, line and column."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from maf_hooks.cli.preflight import preflight_command

PROJECT = Path(__file__).resolve().parent.parent
JUNIT_XSD = PROJECT.parent / "shared" / "schemas" / "junit-10.xsd"
GITHUB = {"GITHUB_ACTIONS": "true", "MAF_AGENT_ID": "alice"}


def pf(cli, repo, *args, env=GITHUB):
    return cli(repo, *args, env=env, command=preflight_command, prog="maf-preflight")


@pytest.fixture
def junit_schema():
    if not JUNIT_XSD.is_file():
        pytest.skip(f"the xunit JUnit schema is not at {JUNIT_XSD} (it is kept outside the project)")
    import xmlschema

    return xmlschema.XMLSchema(str(JUNIT_XSD))


def test_junit_validates_against_the_xunit_schema_with_every_outcome(repo, cli, tmp_path, junit_schema):
    (Path(repo) / "maf.toml").write_text("""
[preflight.checks.environment]
required_vars = ["NOPE_NOT_SET"]

[[preflight.smoke_tests]]
id = "fails"
name = "Fails"
type = "command"
run = "echo out; exit 3"
""")
    junit = tmp_path / "junit.xml"
    result = pf(cli, repo, "--skip", "mcp", "--junit", junit, "--json")
    assert result.code == 1
    document = json.loads(result.out)
    counts = document["summary"]
    assert counts["failed"] >= 2 and counts["skipped"] >= 1 and counts["warnings"] >= 1, counts

    junit_schema.validate(str(junit))  # raises with the offending element and attribute
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and "skipped" not in root.attrib
    suite = root.find("testsuite")
    assert suite.get("skipped") == str(counts["skipped"]) and suite.get("failures") == str(counts["failed"])
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["warnings"] == str(counts["warnings"]) and props["executionId"] == document["executionId"]
    warned = [c for c in document["checks"] if c["status"] == "warning"]
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    for check in warned:
        case = next(case for name, case in cases.items() if name.endswith(f"[{check['id']}]"))
        assert case.find("system-out").text.startswith("WARNING: ") and case.find("failure") is None


def test_junit_of_the_old_shape_fails_the_schema(junit_schema, tmp_path):
    """The check above can fail: ``skipped`` on ``testsuites`` (what --junit wrote before) is refused."""
    import xmlschema

    bad = tmp_path / "old.xml"
    bad.write_text('<testsuites name="maf-preflight" tests="1" failures="0" errors="0" skipped="1">'
                   '<testsuite name="maf-preflight" tests="1" failures="0" errors="0"/></testsuites>')
    with pytest.raises(xmlschema.XMLSchemaValidationError, match="skipped"):
        junit_schema.validate(str(bad))


def test_toml_that_does_not_parse_is_annotated_with_line_and_column(repo, cli):
    (Path(repo) / "maf.toml").write_text('[preflight]\ntimeout_seconds = 5\n[reservation\nhook_mode = "block"\n')
    result = pf(cli, repo)
    assert result.code == 2
    lines = [line for line in result.out.splitlines() if line.startswith("::error")]
    assert len(lines) == 1, result.out + result.err
    head, message = lines[0].split("::")[1], lines[0].split("::", 2)[2]
    assert head == "error file=maf.toml,line=3,col=13,title=maf-preflight configuration"
    assert "is not valid TOML" in message and "\n" not in message
    assert "is not valid TOML" in result.err  # the error itself, as without GitHub Actions


def test_json_config_and_invalid_values_are_annotated(repo, cli, tmp_path):
    config = Path(repo) / "ops" / "maf.json"
    config.parent.mkdir()
    config.write_text('{\n  "preflight": {\n    "timeoutSeconds": 5,,\n  }\n}\n')
    result = pf(cli, repo, "--config", config, "--json")
    assert result.code == 2
    assert result.err.startswith("::error file=ops/maf.json,line=3,col=25,title=maf-preflight configuration::")

    (Path(repo) / "maf.toml").write_text('[reservation]\nhook_mode = 3\n\n[preflight]\nretry_count = "x"\n')
    result = pf(cli, repo, "--validate-config", "--json")
    assert result.code == 2 and json.loads(result.out)["valid"] is False
    annotations = [line for line in result.err.splitlines() if line.startswith("::error")]
    assert len(annotations) == 2  # one per problem, at the line that sets its key
    assert annotations[0].startswith("::error file=maf.toml,line=2,col=1,title=maf-preflight configuration::")
    assert "reservation.hook_mode" in annotations[0]
    assert annotations[1].startswith("::error file=maf.toml,line=5,col=1,title=maf-preflight configuration::")

    (Path(repo) / "maf.toml").unlink()
    (Path(repo) / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.maf.reservation]\n  hook_mode = 3\n')
    result = pf(cli, repo, "--validate-config", "--json")
    annotations = [line for line in result.err.splitlines() if line.startswith("::error")]
    assert annotations and annotations[0].startswith("::error file=pyproject.toml,line=5,col=3,")


def test_no_annotations_outside_github_actions(repo, cli):
    (Path(repo) / "maf.toml").write_text("[reservation\n")
    result = pf(cli, repo, env={"GITHUB_ACTIONS": None})
    assert result.code == 2 and "::error" not in result.out + result.err
