"""Docs that stay true: every shell example in README.md and docs/*.md that shows output is run in a
scratch repository (git identity alice@example.com, at a path shown as /home/alice/demo) and must
print what the page shows, once times, durations and ids are normalised (tests/docblocks.py).

A block may name a set-up from SETUPS with ``<!-- docs-test: setup=NAME -->`` just above it, or be
run after the page's earlier blocks with ``<!-- docs-test: continue -->``, or be
left out with ``<!-- docs-test: skip REASON -->``; the skips are the to-do list, and
test_docs_examples_summary prints them per file."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import docblocks
import pytest
from conftest import git

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [block for path in FILES for block in docblocks.parse(path, ROOT)]



def _file(name: str, text: str) -> str:
    """Shell that writes ``text`` to ``name`` (its directory created)."""
    return f"mkdir -p \"$(dirname {name})\" && cat > {name} <<'EOF'\n{text}EOF\n"


# the files docs/configuration.md shows
CONFIG_TOML = """[reservation]
default_timeout_minutes = 20
conflict_strategy = "block"

[storage]
db_path = "var/maf/leases.db"

[env.ci.reservation]
hook_mode = "warn"
max_timeout_minutes = 60
"""
CONFIG_TYPOS = """[reservation]
default_timout_minutes = 20
max_timeout_minutes = "sixty"
conflict_strategy = "ask"

[storage]
path = "leases.db"

[locks]
enabled = true

[env.ci.reservation]
hook_mode = "loud"
"""
PYPROJECT = """[tool.maf.reservation]
default_timeout_minutes = 45

[tool.maf.env.ci.reservation]
conflict_strategy = "warn"
"""
CONFIG_JSON = """{
  "reservation": {"defaultTimeoutMinutes": 45, "conflictStrategy": "warn"},
  "storage": {"dbPath": "var/maf.db"},
  "env": {"ci": {"reservation": {"maxTimeoutMinutes": 60}}}
}
"""

# shell run in the scratch repository before a block's commands (after `git init` and the identity)
SETUPS: dict[str, str] = {
    "config-page": _file("maf.toml", CONFIG_TOML),
    "config-typos": _file("maf.toml", CONFIG_TYPOS),
    "config-vim": _file("maf.toml", '[agent_hooks]\nclients = ["claude", "vim"]\n'),
    "config-above-max": _file("maf.toml", "[reservation]\ndefault_timeout_minutes = 200\n"),
    "config-max-int": _file("maf.toml", "[reservation]\nmax_timeout_minutes = 9223372036854775807\n"),
    "config-deep": "python3 -c 'print(\"a = \" + \"[\" * 5000 + \"]\" * 5000)' > maf.toml",
    "config-pyproject": _file("pyproject.toml", PYPROJECT),
    "config-json": _file("ops/maf.json", CONFIG_JSON),
    "commit": "echo demo > README.md && git add README.md && git commit -qm 'first commit'",
    "no-identity": "git config --unset user.email",
    "worktree": "echo demo > README.md && git add README.md && git commit -qm 'first commit'"
                " && git worktree add -q ../demo-feature",
    "fix-login": "maf-lease acquire src/app.py --reason 'fix login'",
    "bob-app": "maf-lease acquire src/app.py --agent bob",
    # 3 leases (2 active), 4 events, an audit checkpoint at event 3
    "three-leases": "maf-lease acquire src/app.py && maf-lease acquire docs/ --agent bob && maf-lease acquire lib/"
                    " && maf audit validate && maf-lease release lib/",
    # docs/preflight.md: two required variables, one MCP file, a smoke test, bob's lease on a changed file
    "preflight-story": """git config maf.agentId alice
cat > maf.toml <<'EOF'
[preflight.checks.environment]
required_vars = ["HOME", "PATH"]

[preflight.checks.mcp]
required_configs = [".mcp.json"]

[[preflight.smoke_tests]]
id = "unit"
name = "Unit tests"
type = "command"
run = "true"
EOF
echo '{"mcpServers": {"maf": {"command": "maf-mcp"}}}' > .mcp.json
git add maf.toml .mcp.json && git commit -qm 'first commit'
maf-lease acquire src/api.py --agent bob
mkdir -p src && echo 'x = 1' > src/api.py""",
    # docs/audit.md: nine events (four leases taken and released, a fifth taken), never validated
    "nine-events": "for p in a b c d; do maf-lease acquire src/$p.py && maf-lease release src/$p.py; done"
                   " && maf-lease acquire src/e.py",
    "preflight-claude": "printf '[agent_hooks]\\nclients = [\"claude\"]\\n' > maf.toml",
    # docs/preflight.md#validation: a maf.toml with two smoke tests, and bad.toml with five problems
    "preflight-validation": """cat > maf.toml <<'EOF'
[[preflight.smoke_tests]]
id = "unit"
type = "command"
run = "true"

[[preflight.smoke_tests]]
id = "api-health"
type = "api"
url = "http://127.0.0.1:8080/api/health"
EOF
cat > bad.toml <<'EOF'
[preflight.checks.environment]
required_vars = ["NODE-ENV"]

[[preflight.smoke_tests]]
id = "api-health"
type = "api"
url = "localhost:8080/health"
expected_status = "200"

[[preflight.smoke_tests]]
id = "api-health"
type = "command"
EOF""",
    "preflight-toml-error": "printf '# maf\\n\\n[escalation rules]\\n' > maf.toml",
    "preflight-fix": "printf 'repos:\\n- repo: local\\n  hooks:\\n  - {id: maf-reservations, name: m, entry: maf-reservations,"
                     " language: system}\\n  - {id: maf-reservations-push, name: p, entry: maf-reservations-push, language: system,"
                     " stages: [pre-push]}\\n' > .pre-commit-config.yaml",
}


@pytest.fixture
def session(tmp_path):
    home = tmp_path / "alice"
    repo = home / "demo"
    repo.mkdir(parents=True)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GIT_AUTHOR", "GIT_COMMITTER", "MAF_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), PYTHONUNBUFFERED="1",
               GIT_CONFIG_NOSYSTEM="1", LC_ALL="C.UTF-8", COLUMNS="100")
    git("init", "-q", "-b", "main", cwd=repo)
    git("config", "user.name", "Alice", cwd=repo)
    git("config", "user.email", "alice@example.com", cwd=repo)
    git("config", "commit.gpgsign", "false", cwd=repo)
    paths = {str(repo.resolve()): "/home/alice/demo", str(home.resolve()): "/home/alice", str(home): "/home/alice"}
    return repo, env, paths


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.name)
def test_docs_example(block, session):
    if block.skip is not None:
        pytest.skip(f"{block.name} ({block.heading}): {block.skip}")
    repo, env, paths = session
    for step in [*docblocks.chain(block, BLOCKS), block]:
        if step.setup:
            assert step.setup in SETUPS, f"{step.name}: unknown docs-test setup {step.setup!r}"
            subprocess.run(["bash", "-ec", SETUPS[step.setup]], cwd=repo, env=env, check=True, capture_output=True)
        if step is not block:
            docblocks.run_block(step, repo, env, paths, compare=False)
    problems = docblocks.run_block(block, repo, env, paths)
    assert not problems, f"{block.name} ({block.heading}):\n\n" + "\n\n".join(problems)


def test_every_skip_has_a_reason():
    assert [block.name for block in BLOCKS if block.skip == ""] == []


def test_docs_examples_summary(capsys):
    """How many blocks each file has, how many run and which are skipped (and why)."""
    assert BLOCKS, "no shell examples found in README.md and docs/*.md"
    total, skipped = Counter(block.file for block in BLOCKS), Counter(block.file for block in BLOCKS if block.skip)
    with capsys.disabled():
        print(f"\ndocs examples: {len(BLOCKS)} blocks, {len(BLOCKS) - sum(skipped.values())} run, "
              f"{sum(skipped.values())} skipped")
        for name in sorted(total):
            print(f"  {name}: {total[name]} blocks, {total[name] - skipped[name]} run, {skipped[name]} skipped")
        for block in BLOCKS:
            if block.skip:
                print(f"  skip {block.name} ({block.heading}): {block.skip}")
