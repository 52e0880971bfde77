"""The shell examples of README.md and docs/*.md as data: blocks parsed from the Markdown, their
commands run in one scratch session, and output normalised (times, durations, ids, paths) so the
documented text can be compared with what the tool prints now. Used by tests/test_docs_examples.py."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<body>.*?)\s*-->")
EXIT = re.compile(r"^\[exit (\d+)\]$")
HEADING = re.compile(r"^#+ (.*)$")
LANGS = ("console", "text", "sh", "shell", "bash")


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)
    exit_code: int | None = None


@dataclass
class Block:
    file: str
    line: int
    heading: str
    steps: list[Step]
    setup: str | None = None
    skip: str | None = None
    after_previous: bool = False  # ``<!-- docs-test: continue -->``: runs after the page's earlier blocks
    postgres: str | None = None  # ``postgres=URL``: the URL the page shows for the test's own server

    @property
    def name(self) -> str:
        return f"{self.file}:{self.line}"


def parse(path: Path, root: Path) -> list[Block]:
    """Every fenced block of ``path`` that holds ``$ `` commands and shows output."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    heading, index = "", 0
    while index < len(lines):
        line = lines[index]
        if m := HEADING.match(line):
            heading = m.group(1).strip()
        fence = FENCE.match(line)
        if not fence:
            index += 1
            continue
        marker = _marker(lines, index)
        lang, start, body = fence.group(1), index + 1, []
        index += 1
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        index += 1
        steps = _steps(body)
        if lang in LANGS and steps and any(step.expected or step.exit_code is not None for step in steps):
            block = Block(str(path.relative_to(root)), start, heading, steps)
            if marker:
                if marker.startswith("skip"):
                    block.skip = marker[4:].strip()
                else:
                    words = dict(word.partition("=")[::2] for word in marker.split())
                    block.setup = words.get("setup") or None
                    block.after_previous = "continue" in words
                    block.postgres = words.get("postgres") or None
            blocks.append(block)
    return blocks


def _marker(lines: list[str], fence: int) -> str | None:
    """The ``<!-- docs-test: ... -->`` comment among the comment lines just above a fence."""
    index = fence - 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    while index >= 0 and lines[index].lstrip().startswith("<!--"):
        if m := MARKER.search(lines[index]):
            return m.group("body")
        index -= 1
    return None


def _steps(body: list[str]) -> list[Step]:
    steps: list[Step] = []
    index = 0
    while index < len(body):
        line = body[index]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and index + 1 < len(body):
                index += 1
                command = command + "\n" + body[index]
            steps.append(Step(command))
        elif steps:
            if m := EXIT.match(line.strip()):
                steps[-1].exit_code = int(m.group(1))
            else:
                steps[-1].expected.append(line)
        index += 1
    return steps


ID_KINDS = [
    re.compile(r"\blease-[0-9a-f]{12}\b"),
    re.compile(r"\bconflict-[0-9a-f]{12}(?:-\d+)?\b"),  # a record, or its attempt
    re.compile(r"\besc-[0-9a-f]{12}\b"),
    re.compile(r"\bexec-[0-9a-f]{12}\b"),
    re.compile(r"\bpf-[0-9a-f]{16}\b"),
    re.compile(r"\b\d{10}\.M\d+P\d+Q\d+(?:R[0-9a-f]+)?\.[\w-]+"),  # Maildir file names (host, random part)
]
NORMAL = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<TIME>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?: UTC)?"), "<TIME>"),
    (re.compile(r"\b\d{8}T\d{6}Z\b"), "<TIME>"),  # compact UTC, as in file names
    (re.compile(r"\b[0-9a-f]{64}\b"), "<HASH>"),  # audit chain hashes (they hash times)
    (re.compile(r"\b[0-9a-f]{32}\b"), "<HEX>"),  # run ids
    (re.compile(r"\b(?:\d+h ?)?(?:\d+m ?)?\d+s\b|\b\d+h \d+m\b|\b\d+m\b"), "<DUR>"),
    (re.compile(r"\b1[78]\d{11}\b"), "<MS>"),
    (re.compile(r"\b\d+(?:\.\d+)? ms\b"), "<N> ms"),
    (re.compile(r"\b\d+\.\d+ s\b"), "<N> s"),
    (re.compile(r'"(durationMs|duration_ms)": \d+(?:\.\d+)?'), r'"\1": <N>'),
    (re.compile(r"\bPython 3\.\d+\.\d+\b"), "Python <VERSION>"),  # the interpreter running the tests
]


def normalise(text: str, paths: dict[str, str]) -> str:
    for real, shown in sorted(paths.items(), key=lambda item: -len(item[0])):
        text = text.replace(real, shown)
    for pattern in ID_KINDS:
        text = pattern.sub(lambda m: m.group(0).split("-")[0] + "-<ID>" if "-" in m.group(0)[:12] else "<MAILID>", text)
    for pattern, replacement in NORMAL:
        text = pattern.sub(replacement, text)
    # normalised values change column widths: compare runs of spaces inside a line as one space
    return "\n".join(line[: len(line) - len(line.lstrip())] + SPACES.sub(" ", line.strip())
                     for line in text.splitlines())


SPACES = re.compile(r" {2,}")


def learn_ids(expected: str, actual: str, mapping: dict[str, str]) -> None:
    """Pair the ids shown in the docs with the ones printed now, in order, so that later commands
    that quote a documented id are given the real one."""
    for pattern in ID_KINDS:
        shown, real = pattern.findall(expected), pattern.findall(actual)
        for doc_id, real_id in zip(shown, real):
            mapping.setdefault(doc_id, real_id)


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line-by-line equality, where an expected line ``...`` stands for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


MARK = "\x1e-docs-test-exit-"


def chain(block: Block, blocks: list[Block]) -> list[Block]:
    """The blocks a ``continue`` block runs after: its page's earlier blocks, back to the nearest
    one that starts its own session."""
    earlier = [other for other in blocks if other.file == block.file and other.line < block.line]
    prefix: list[Block] = []
    current = block
    while current.after_previous and earlier:
        current = earlier.pop()
        prefix.insert(0, current)
    return prefix


def run_block(block: Block, cwd: Path, env: dict[str, str], paths: dict[str, str], timeout: float = 120,
              compare: bool = True, given: dict[str, str] | None = None) -> list[str]:
    """Run the block's commands in order as one bash session would (the directory and what was
    exported carry from one command to the next); return a list of differences.
    ``given``: strings the page shows and what commands get instead (the test server's URL)."""
    problems: list[str] = []
    mapping: dict[str, str] = dict(given or {})
    state, exported = cwd.parent / ".docs-test-cwd", cwd.parent / ".docs-test-env"
    if not state.exists():
        state.write_text(str(cwd))
    if not exported.exists():
        exported.write_text("")
    for step in block.steps:
        command = step.command
        for doc_id, real_id in mapping.items():
            command = command.replace(doc_id, real_id)
        script = (f'. {exported}\ncd "$(cat {state})"\n{command}\necho "{MARK}$?"\npwd > {state}\n'
                  f'export -p > {exported}\n')
        proc = subprocess.run(["bash", "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        out, _, code = proc.stdout.rpartition(MARK)
        real_code = int(code.strip() or -1)
        learn_ids("\n".join(step.expected), out, mapping)
        if not compare:
            continue
        shown = normalise("\n".join(step.expected), {}).splitlines()
        got = normalise(out, paths).splitlines()
        while got and not got[-1]:
            got.pop()
        while shown and not shown[-1]:
            shown.pop()
        if not matches(shown, got):
            problems.append(f"$ {step.command}\n--- documented\n" + "\n".join(shown) + "\n--- printed now\n" + "\n".join(got))
        if step.exit_code is not None and step.exit_code != real_code:
            problems.append(f"$ {step.command}\nexit code: documented {step.exit_code}, now {real_code}")
    return problems
