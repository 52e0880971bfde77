#!/usr/bin/env python3
"""Screenshots of real runs, as SVG: a commit refused by the installed hook, and neomutt reading the
conflict mail that the refusal sent to the holder.

    .venv/bin/python scripts/screenshots.py docs/images

Everything runs in a temporary directory: a consumer repository set up with ``maf init --write`` and
``pre-commit install``, alice's lease, bob's ``git commit`` in a tmux terminal, then neomutt (read-only,
no configuration but the headers a person keeps) on alice's Maildir in another. ``tmux capture-pane -e``
gives each screen with its colours; rich's ``Console(record=True).export_svg`` draws it. Times are moved
to a fixed day and ids to fixed ones (lengths kept, so the screens stay aligned), so a re-run gives the
same pictures. Needs git, tmux and neomutt; run it with the interpreter that has maf-hooks installed.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

COLUMNS, LINES = 124, 40
FIXED_START = datetime(2026, 11, 22, 15, 17, 11, tzinfo=timezone.utc)
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z")
_RFC2822 = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                      r"\d{4} \d\d:\d\d:\d\d [+-]\d{4}")
_IDS = re.compile(r"\b(lease|conflict|mail|esc)-[0-9a-f]{6,}\b")
_EPOCH_MS = re.compile(r"(?<=\": )1\d{12}\b")  # a JSON time in milliseconds, in the mail's part
_DURATION = re.compile(r"(?<=- duration: )\d+(?:\.\d+)?s")  # pre-commit's timing of the hook
_COUNTDOWN = re.compile(r"\(in ((?:\d+[dhms] ?)+)\)")


def parse_iso(text: str) -> datetime:
    """``2026-11-22T15:17:11.412Z`` (as the tool writes it) as an aware datetime."""
    return datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z" if "." in text
                             else "%Y-%m-%dT%H:%M:%S%z")


class Normaliser:
    """Moves every time of the run by one offset (the lease's creation becomes :data:`FIXED_START`,
    so ``until`` stays 45 minutes after it), rounds a live countdown to the minute (it depends on
    how fast the run was) and gives each id a fixed one of the same length, in the order they
    first appear."""

    def __init__(self, started: datetime):
        self.shift = FIXED_START - started
        self.ids: dict[str, str] = {}

    def _iso(self, match: re.Match) -> str:
        text = match.group(0)
        when = parse_iso(text) + self.shift
        return when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{when.microsecond // 1000:03d}Z" if "." in text else "Z")

    def _rfc(self, match: re.Match) -> str:
        when = datetime.strptime(match.group(0), "%a, %d %b %Y %H:%M:%S %z") + self.shift
        return when.strftime("%a, %d %b %Y %H:%M:%S %z")

    def _id(self, match: re.Match) -> str:
        text = match.group(0)
        if text not in self.ids:
            digits = len(text) - len(match.group(1)) - 1
            self.ids[text] = f"{match.group(1)}-" + f"{len(self.ids) + 1:0{digits}x}"
        return self.ids[text]

    @staticmethod
    def _countdown(match: re.Match) -> str:
        from maf_hooks.timeutil import parse_duration_ms, relative

        ms = parse_duration_ms(match.group(1).replace(" ", ""))
        return f"({relative((ms + 30_000) // 60_000 * 60_000, 0)})"

    def __call__(self, screen: str) -> str:
        screen = _ISO.sub(self._iso, screen)
        screen = _COUNTDOWN.sub(self._countdown, screen)
        screen = _EPOCH_MS.sub(lambda match: str(int(match.group(0)) + int(self.shift.total_seconds() * 1000)), screen)
        screen = _DURATION.sub("0.1s", screen)
        screen = _RFC2822.sub(self._rfc, screen)
        return _IDS.sub(self._id, screen)


class Terminal:
    """A tmux server of its own (socket ``name``) running one command; the pane stays after it ends."""

    def __init__(self, name: str, env: dict[str, str], cwd: Path):
        self.tmux = shutil.which("tmux") or "tmux"
        self.name, self.env, self.cwd = name, env, cwd

    def _run(self, *args: str, check: bool = True) -> str:
        return subprocess.run([self.tmux, "-L", self.name, *args], capture_output=True, text=True, check=check,
                              env=self.env, cwd=self.cwd).stdout

    def start(self, command: str) -> None:
        conf = self.cwd / f".{self.name}.conf"
        conf.write_text("set -g remain-on-exit on\nset -g status off\n")
        self._run("-f", str(conf), "new-session", "-d", "-x", str(COLUMNS), "-y", str(LINES), command)

    def screen(self, colours: bool = False) -> str:
        return self._run("capture-pane", "-p", *(["-e"] if colours else []), "-t", "0")

    def wait_for(self, text: str, bound: float = 90.0) -> str:
        """The screen (with colours) once it shows ``text``; a bound against hanging only."""
        deadline = time.monotonic() + bound
        while text not in self.screen():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the terminal never showed {text!r}:\n{self.screen()}")
            time.sleep(0.2)
        return self.screen(colours=True)

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "0", *keys)

    def close(self) -> None:
        self._run("kill-server", check=False)


def render(screen: str, title: str, unique_id: str) -> str:
    from rich.console import Console
    from rich.text import Text

    lines = [line for line in screen.rstrip("\n").split("\n") if not line.startswith("Pane is dead")]
    while lines and not Text.from_ansi(lines[-1]).plain.strip():
        lines.pop()
    console = Console(record=True, width=COLUMNS, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False)
    for line in lines:
        console.print(Text.from_ansi(line), no_wrap=True, crop=True, soft_wrap=False)
    return console.export_svg(title=title, unique_id=unique_id)


def _git(cwd: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: screenshots.py OUTPUT_DIRECTORY", file=sys.stderr)
        return 2
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    for tool in ("git", "tmux", "neomutt"):
        if shutil.which(tool) is None:
            print(f"screenshots.py: {tool} is not on PATH (Debian: apt-get install git tmux neomutt)", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="maf-pictures-") as scratch:
        work = Path(scratch)
        (work / "home" / "Mail").mkdir(parents=True)  # else neomutt asks whether to create its folder
        env = {"HOME": str(work / "home"), "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
               "LANG": "C.UTF-8", "TERM": "xterm-256color", "GIT_CONFIG_NOSYSTEM": "1",
               "PRE_COMMIT_HOME": str(work / "pre-commit"), "SHELL": "/bin/sh"}
        repo = work / "app"
        (repo / "src").mkdir(parents=True)
        (repo / "src" / "parser.py").write_text("def parse(): ...\n")
        _git(repo, env, "init", "-q", "-b", "main")
        _git(repo, env, "config", "user.name", "Demo")
        _git(repo, env, "config", "user.email", "demo@example.com")
        _git(repo, env, "add", ".")
        _git(repo, env, "commit", "-qm", "initial")
        for command in (["maf", "init", "--write"], ["pre-commit", "install"]):
            subprocess.run(command, cwd=repo, env=env, check=True, capture_output=True)
        acquired = subprocess.run(["maf-lease", "--agent", "alice", "acquire", "src/", "--reason",
                                   "rewriting the parser", "--ttl", "45m", "--json"],
                                  cwd=repo, env=env, check=True, capture_output=True, text=True).stdout
        started = parse_iso(json.loads(acquired)["granted"][0]["created_at"])
        _git(repo, env, "add", ".pre-commit-config.yaml")
        _git(repo, env, "commit", "-qm", "add maf-hooks to pre-commit", "--no-verify")
        (repo / "src" / "parser.py").write_text("def parse(): return 42\n")
        _git(repo, env, "add", "src/parser.py")
        normalise = Normaliser(started)

        prompt = "bob@app:~/app$ "
        shell = Terminal("maf-pictures-commit", {**env, "MAF_AGENT_ID": "bob", "PS1": prompt}, repo)
        shell.start("sh")
        try:
            shell.wait_for(prompt.rstrip())  # capture-pane drops trailing spaces
            shell.keys("git commit -m 'quick parser fix'", "Enter")
            shell.wait_for("Emergency override")
            screen = shell.wait_for(f"(checked as agent bob)\n\n{prompt}".rstrip())
        finally:
            shell.close()
        (out / "refused-commit.svg").write_text(render(normalise(screen), "bob: git commit", "maf-commit"))

        muttrc = work / "muttrc"
        muttrc.write_text("ignore *\nunignore from to date subject\nset date_format=\"%b %d\"\n")
        mutt = Terminal("maf-pictures-mutt", env, repo)
        mutt.start(f"neomutt -n -F {muttrc} -R -f {repo / '.agent-mail' / 'alice'}")
        try:
            mutt.wait_for("RESERVATION_CONFLICT")
            mutt.keys("Enter")
            screen = mutt.wait_for('"conflictId"')
        finally:
            mutt.close()
        (out / "neomutt-conflict-mail.svg").write_text(render(normalise(screen), "alice: neomutt", "maf-mail"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
