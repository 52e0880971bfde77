"""A holder's conflict mail as a person reads it: the Maildir the real hook wrote, opened in a real
neomutt (no configuration of its own, read-only) in a tmux terminal. The text and the maf.json
attachment are both shown inline; nothing is "unsupported"."""

from __future__ import annotations

import subprocess
import time

from test_hooks import ME, hook, lease, stage


def screen(tmux, socket):
    return subprocess.run([tmux, "-L", socket, "capture-pane", "-p", "-t", "0"], capture_output=True,
                          text=True, check=False).stdout


def wait_for(tmux, socket, text, bound=60.0):
    """The screen once it shows ``text`` (a generous bound against hanging, never a timing)."""
    deadline = time.monotonic() + bound
    while True:
        shown = screen(tmux, socket)
        if text in shown or time.monotonic() > deadline:
            return shown
        time.sleep(0.2)


def test_neomutt_shows_the_conflict_text_and_its_json(repo, cli, neomutt, tmp_path):
    lease(cli, repo, "src/", "--agent", "alice", "--reason", "refactoring the parser")
    stage(repo, "src/parser.py")
    assert hook(repo, env=ME)[0] == 1
    tmux, socket = neomutt["tmux"], f"maf-test-{tmp_path.name}"
    command = f"{neomutt['neomutt']} -n -F /dev/null -R -f {repo / '.agent-mail' / 'alice'}"
    home = tmp_path / "home"
    (home / "Mail").mkdir(parents=True)  # else neomutt asks whether to create its default folder
    environ = {"HOME": str(home), "TERM": "xterm", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    subprocess.run([tmux, "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "60", command],
                   check=True, env=environ)
    try:
        index = wait_for(tmux, socket, "RESERVATION_CONFLICT in repo")
        assert "RESERVATION_CONFLICT in repo" in index, index
        subprocess.run([tmux, "-L", socket, "send-keys", "-t", "0", "Enter"], check=True)
        shown = wait_for(tmux, socket, '"conflictId"')
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], check=False, capture_output=True)
    assert "tried to commit changes to paths you hold a lease on in repo" in shown, shown
    assert "[-- Attachment #2: maf.json --]" in shown and "text/plain" in shown
    assert '"type": "RESERVATION_CONFLICT"' in shown and '"filePath": "src/parser.py"' in shown
    assert "unsupported" not in shown
