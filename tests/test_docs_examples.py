"""Docs that stay true: every shell example in README.md and docs/*.md that shows output is run in a
scratch repository (git identity alice@example.com, at a path shown as /home/alice/demo) and must
print what the page shows, once times, durations and ids are normalised (tests/docblocks.py).

A block may name a set-up, tests/docs_setups/NAME.sh, with ``<!-- docs-test: setup=NAME -->`` just above it, or be
run after the page's earlier blocks with ``<!-- docs-test: continue -->``, or be
left out with ``<!-- docs-test: skip REASON -->``; the skips are the to-do list, and
test_docs_examples_summary prints them per file. ``postgres=URL`` in the marker gives the block a
fresh database on the test suite's PostgreSQL server: set-ups find it in ``$DOCS_PG_URL``, the
block's commands get it where the page shows URL, and its output shows URL where it prints it.
Set-ups find the project's root in ``$DOCS_PROJECT`` (for its fixtures/)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import docblocks
import pytest
from conftest import git

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [block for path in FILES for block in docblocks.parse(path, ROOT)]

# shell run in the scratch repository before a block's commands (after `git init` and the identity):
# tests/docs_setups/NAME.sh, named by ``<!-- docs-test: setup=NAME -->``
SETUPS = {path.stem: path.read_text(encoding="utf-8") for path in sorted((ROOT / "tests" / "docs_setups").glob("*.sh"))}


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
    paths = {str(repo.resolve()): "/home/alice/demo", str(home.resolve()): "/home/alice", str(home): "/home/alice",
             sys.prefix: "/home/alice/.venv"}  # the environment maf-hooks runs from, as messages name it
    return repo, env, paths


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.name)
def test_docs_example(block, session, request):
    if block.skip is not None:
        pytest.skip(f"{block.name} ({block.heading}): {block.skip}")
    repo, env, paths = session
    steps = [*docblocks.chain(block, BLOCKS), block]
    env["DOCS_PROJECT"] = str(ROOT)
    given: dict[str, str] = {}
    shown_url = next((step.postgres for step in steps if step.postgres), None)
    if shown_url:
        env["DOCS_PG_URL"] = real_url = request.getfixturevalue("pg_url")
        given[shown_url] = real_url
        paths = {**paths, real_url: shown_url}
    for step in steps:
        if step.setup:
            assert step.setup in SETUPS, f"{step.name}: unknown docs-test setup {step.setup!r}"
            done = subprocess.run(["bash", "-ec", SETUPS[step.setup]], cwd=repo, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{step.name}: set-up {step.setup} failed:\n{done.stdout}{done.stderr}"
        if step is not block:
            docblocks.run_block(step, repo, env, paths, compare=False, given=given)
    problems = docblocks.run_block(block, repo, env, paths, given=given)
    assert not problems, f"{block.name} ({block.heading}):\n\n" + "\n\n".join(problems)


def test_every_skip_has_a_reason():
    assert [block.name for block in BLOCKS if block.skip == ""] == []


def test_every_setup_is_used():
    used = {block.setup for block in BLOCKS}
    assert sorted(set(SETUPS) - used) == []


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
