"""The --json documents: every one carries "schema": "maf.<kind>/<version>" from the one table
(services/documents.py: SCHEMAS), the real output of each command validates against its JSON
Schema in docs/schemas/ (draft 2020-12), and counts are present when they are zero."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import commit_file
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from maf_hooks.cli.lease import lease_group as lease
from maf_hooks.cli.main import maf
from maf_hooks.cli.preflight import preflight_command
from maf_hooks.services.documents import SCHEMAS, schema, stamped

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "schemas"
ALICE, BOB = {"MAF_AGENT_ID": "alice"}, {"MAF_AGENT_ID": "bob"}


def _schemas() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(SCHEMA_DIR.glob("*.schema.json"))}


def _registry() -> Registry:
    return Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in _schemas().values())


def validate(document: dict) -> str:
    """Validate ``document`` against the schema its own ``schema`` names; returns that kind."""
    found = re.fullmatch(r"maf\.(.+)/(\d+)", document["schema"])
    assert found, document["schema"]
    kind = found.group(1)
    assert SCHEMAS[kind][0] == int(found.group(2))
    contents = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text())
    Draft202012Validator.check_schema(contents)
    errors = sorted(Draft202012Validator(contents, registry=_registry()).iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    return kind


def test_schema_files_are_valid_2020_12_and_named_for_known_kinds():
    files = _schemas()
    assert "common.schema.json" in files
    for name, contents in files.items():
        assert contents["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(contents)
        if name != "common.schema.json":
            kind = name[: -len(".schema.json")]
            assert kind in SCHEMAS, name
            assert contents["properties"]["schema"] == {"const": schema(kind)}


def test_stamped_puts_schema_first_and_refuses_an_unknown_kind():
    assert list(stamped("lease.agents", {"agents": []})) == ["schema", "agents"]
    assert schema("export") == "maf.export/1" and schema("board") == "maf.board/1"
    with pytest.raises(KeyError):
        schema("no.such.kind")
    assert {style for _, style in SCHEMAS.values()} == {"snake", "camel"}


def _camel_or_snake(document, style: str, skip=("details", "context", "values", "sources", "message")) -> list[str]:
    """Keys of ``document`` (nested, but not the opaque parts) that break ``style``."""
    wrong = re.compile(r"[A-Z]") if style == "snake" else re.compile(r"_")
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if wrong.search(key) and key not in ("schema",):
                    found.append(key)
                if key not in skip:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return found


def test_real_documents_validate_and_keep_their_family_naming(repo, cli, tmp_path):
    def run(command, *args, env=ALICE, prog="maf-lease", code=0):
        result = cli(repo, *args, "--json", env=env, command=command, prog=prog)
        assert result.code == code, result.out + result.err
        return result.json

    documents = [
        run(lease, "acquire", "src/**", "--reason", "refactor"),
        run(lease, "acquire", "src/api.py", env=BOB, code=1),
        run(lease, "renew", "src/**"),
        run(lease, "list"),
        run(lease, "list", "--all"),
        run(lease, "check", "src/api.py", env=BOB, code=1),
        run(lease, "heartbeat", "--status", "working"),
        run(lease, "agents"),
    ]
    commit_file(repo, "src/api.py", "x = 1\n", "api")
    (Path(repo) / "src" / "api.py").write_text("x = 2\n")
    report = run(preflight_command, "--only", "python,reservations", env=BOB, prog="maf-preflight", code=1)
    documents += [report, run(preflight_command, "history", env=BOB, prog="maf-preflight")]
    documents += [run(lease, "release", "--all"), run(lease, "conflicts")]
    documents += [run(maf, "audit", "report", prog="maf"), run(maf, "audit", "validate", prog="maf"),
                  run(maf, "audit", "guard", "--bead-id", "bd-1", prog="maf"), run(maf, "db", "check", prog="maf"),
                  run(maf, "mail", "list", env=BOB, prog="maf")]
    run(maf, "escalate", "--agent-id", "bob", "--error-context", "stuck", "--bead-id", "bd-1", "--target", "carol",
        prog="maf")
    documents.append(run(maf, "escalate", "list", prog="maf"))

    kinds = [validate(document) for document in documents]
    assert set(kinds) == {path.name[: -len(".schema.json")] for path in SCHEMA_DIR.glob("*.schema.json")} - {"common"}
    for document, kind in zip(documents, kinds):
        assert _camel_or_snake(document, SCHEMAS[kind][1]) == [], kind
    assert documents[1]["conflicts"] and not documents[1]["granted"]
    assert [check["id"] for check in report["checks"]] == ["python", "reservations"]
    assert "durationMs" in report and "duration_ms" not in report
    history = documents[9]["runs"][0]
    assert history["executionId"] == report["executionId"] and history["durationMs"] == report["durationMs"]


def test_every_command_document_is_stamped(repo, cli):
    """Beyond the documents with a schema file: each --json document names a known kind."""
    def run(*args, env=ALICE):
        result = cli(repo, *args, "--json", env=env)
        assert result.code in (0, 1), result.out + result.err
        return result.json

    documents = {args: run(*args) for args in [
        ("init",), ("db", "path"), ("db", "migrate"), ("config", "show"), ("audit", "flush"), ("db", "gc"),
        ("escalate", "tick"), ("mail", "flush"), ("mail", "sync"),
    ]}
    documents[("preflight", "--validate-config")] = run("preflight", "--validate-config")
    for args, document in documents.items():
        assert list(document)[0] == "schema", args
        kind = document["schema"][len("maf."):].rsplit("/", 1)[0]
        assert kind in SCHEMAS and document["schema"] == schema(kind), args
        assert kind.replace(".", " ").startswith(" ".join(a for a in args if not a.startswith("-"))) \
            or args[0] == "preflight", (args, kind)


def test_audit_report_counts_every_status_with_zero(repo, cli):
    result = cli(repo, "audit", "report", "--json", env=ALICE)
    assert result.code == 0
    assert result.json["total"]["leases"] == {"taken": 0, "released": 0, "expired": 0, "taken_over": 0}
    assert result.json["total"]["conflicts"] == {"blocked": 0, "warned": 0, "overridden": 0}
    assert set(result.json["total"]["preflight"]) == {"pending", "running", "passed", "failed", "timeout"}
    assert all(value == 0 for value in result.json["total"]["escalations"].values())
    validate(result.json)


def test_history_reads_a_report_stored_with_the_older_spelling(repo, cli):
    """A run recorded before the report carried "schema" spelt its duration "duration_ms"."""
    import sqlite3

    from maf_hooks.context import Context

    cli(repo, "db", "migrate")
    first = cli(repo, "--only", "python", "--json", env=ALICE, command=preflight_command, prog="maf-preflight").json
    conn = sqlite3.connect(Context(cwd=str(repo)).db_path)
    with conn:
        stored = json.loads(conn.execute("SELECT result_json FROM preflight_executions").fetchone()[0])
        assert stored["durationMs"] == first["durationMs"]
        stored["duration_ms"] = stored.pop("durationMs")
        conn.execute("UPDATE preflight_executions SET result_json = ?", (json.dumps(stored),))
    conn.close()
    result = cli(repo, "history", "--json", env=ALICE, command=preflight_command, prog="maf-preflight")
    assert [run["durationMs"] for run in result.json["runs"]] == [first["durationMs"]]
    validate(result.json)


def test_the_schemas_refuse_what_the_documents_used_to_be(repo, cli):
    """The old shapes fail: an audit report without its zero counts, a report's "duration_ms"."""
    document = cli(repo, "audit", "report", "--json", env=ALICE).json
    document["total"]["leases"] = {}
    with pytest.raises(AssertionError, match="'taken' is a required property"):
        validate(document)
    report = cli(repo, "--only", "python", "--json", env=ALICE, command=preflight_command, prog="maf-preflight").json
    report["duration_ms"] = report.pop("durationMs")
    with pytest.raises(AssertionError, match="durationMs"):
        validate(report)
    with pytest.raises(AssertionError):
        validate(dict(report, schema="maf.preflight.report/2"))


def test_docs_list_every_kind_with_its_schema_and_naming():
    text = (SCHEMA_DIR.parent / "json.md").read_text()
    rows = dict(re.findall(r"^\| `(maf\.[^`]+)` \| .* \| (camelCase|snake_case) \| ", text, re.M))
    assert rows == {schema(kind): "camelCase" if style == "camel" else "snake_case"
                    for kind, (_, style) in SCHEMAS.items()}
    for name in _schemas():
        assert f"(schemas/{name})" in text or name == "common.schema.json", name


def test_a_command_that_fails_with_json_prints_an_error_document(tmp_path):
    """A program reading stdout learns why a `--json` command failed: `maf.error/1` with the
    message (also on stderr) and the exit code, for a refusal (1); bad input (2) stays on stderr."""
    import subprocess
    import sys

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    lease = [sys.executable, "-m", "maf_hooks.cli", "lease"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAF_", "GIT_"))}
    nothing = subprocess.run([*lease, "release", "nothing-here", "--agent", "a", "--json"], cwd=tmp_path, env=env,
                             capture_output=True, text=True)
    document = json.loads(nothing.stdout)
    assert nothing.returncode == 1 and document["schema"] == "maf.error/1" and document["exit_code"] == 1
    assert "Nothing released" in document["error"] and "Nothing released" in nothing.stderr
    bad = subprocess.run([*lease, "acquire", "x", "--ttl", "soon", "--agent", "a", "--json"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == "" and "--ttl" in bad.stderr  # bad usage: stderr alone
