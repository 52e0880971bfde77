"""The pictures of the docs stay true: the sequence diagram is what its text draws, and the
screenshots come from real runs of the hook and of neomutt (scripts/screenshots.py)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
DIAGRAMS = PROJECT / "docs" / "diagrams"
sys.path.insert(0, str(PROJECT / "scripts"))

import seqdiagram  # noqa: E402


def svg_text(path: Path) -> str:
    """Every text of an SVG (rich splits a line into runs; the runs are joined), one line of the
    picture a line; parsing it also proves the file is well-formed XML."""
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    lines: dict[str, str] = {}
    for node in root.iter("{http://www.w3.org/2000/svg}text"):
        key = node.get("y", "")
        lines[key] = lines.get(key, "") + "".join(node.itertext()).replace("\xa0", " ")
    return "\n".join(lines.values())


@pytest.mark.parametrize("name", sorted(p.stem for p in DIAGRAMS.glob("*.seq")))
def test_the_committed_diagram_is_what_its_text_draws(name, tmp_path):
    out = tmp_path / f"{name}.svg"
    proc = subprocess.run([sys.executable, str(PROJECT / "scripts" / "seqdiagram.py"), str(DIAGRAMS / f"{name}.seq"),
                           str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == (DIAGRAMS / f"{name}.svg").read_text(), \
        f"docs/diagrams/{name}.svg is stale: run scripts/seqdiagram.py docs/diagrams/{name}.seq docs/diagrams/{name}.svg"
    svg_text(out)


def test_the_two_agent_diagram_tells_the_story():
    text = svg_text(DIAGRAMS / "two-agents.svg")
    for line in ("maf-lease acquire src/ --ttl 45m", "deny: RESERVATION_CONFLICT", "refused: RESERVATION_CONFLICT",
                 "maf mail read --latest", "maf-lease release src/", "commit made", "alice's Maildir"):
        assert line in text


def test_a_diagram_line_outside_the_format_is_refused_with_its_number(tmp_path):
    bad = tmp_path / "bad.seq"
    bad.write_text("title: t\nalice -> bob: hello\nalice => bob: what\n")
    proc = subprocess.run([sys.executable, str(PROJECT / "scripts" / "seqdiagram.py"), str(bad),
                           str(tmp_path / "bad.svg")], capture_output=True, text=True)
    assert proc.returncode == 2 and "line 3" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "bad.svg").exists()


def test_arrows_and_undeclared_participants():
    diagram = seqdiagram.parse("participant b: Bee\na -> b: x\nb --> a: y\nb -x c: z\nnote c: n\n")
    assert diagram.labels == {"b": "Bee", "a": "a", "c": "c"}
    assert [step[0] for step in diagram.steps] == ["call", "answer", "refusal", "note"]


def test_the_screenshots_come_from_a_real_refused_commit_and_neomutt(neomutt, tmp_path):
    proc = subprocess.run([sys.executable, str(PROJECT / "scripts" / "screenshots.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    commit = svg_text(tmp_path / "refused-commit.svg")
    assert "git commit -m 'quick parser fix'" in commit
    assert "RESERVATION_CONFLICT: this commit is refused" in commit
    assert "held by alice (pattern 'src/', lease lease-000000000001)" in commit
    assert "src/parser.py" in commit and "until 2026-11-22T16:02:11.000Z (in 45m)" in commit
    mail = svg_text(tmp_path / "neomutt-conflict-mail.svg")
    assert "Subject: [MAF] RESERVATION_CONFLICT in app" in mail
    assert "bob tried to commit changes to paths you hold a lease on in app" in mail
    assert "your lease lease-000000000001 on 'src/' ends 2026-11-22T16:02:11.000Z, 45 minutes after this message" \
        in mail
    assert '"filePath": "src/parser.py"' in mail and '"existingAgent": "alice"' in mail
    # the committed pictures are of the same run, ids and times normalised alike
    for name in ("refused-commit.svg", "neomutt-conflict-mail.svg"):
        committed = svg_text(PROJECT / "docs" / "images" / name)
        assert "RESERVATION_CONFLICT" in committed and "lease-000000000001" in committed
