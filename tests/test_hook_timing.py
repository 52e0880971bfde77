"""The hooks' own duration (maf_hooks.hook_timing): a cumulative histogram in a file beside the
store, written by real hook processes after they answer, never at the cost of their outcome."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys

from conftest import BIN, git

from maf_hooks import hook_timing

ALICE, BOB = {"MAF_AGENT_ID": "alice"}, {"MAF_AGENT_ID": "bob"}


def run(args, cwd, env=None, input=None):
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, input=input, timeout=120)


def counts(path):
    """{hook: number of durations recorded}."""
    return {hook: buckets[-1][1] for hook, (buckets, _) in hook_timing.read(str(path)).items()}


def leased_repo(repo):
    """``repo`` with alice's lease on src/, and bob's change to it staged."""
    done = run([BIN / "maf-lease", "acquire", "src/", "--ttl", "30m"], repo, ALICE)
    assert done.returncode == 0, done.stderr
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text("x\n")
    git("add", "src/a.py", cwd=repo)
    return repo / ".git" / "maf" / hook_timing.FILE


def edit_call(repo, name):
    return json.dumps({"session_id": "s1234567", "cwd": str(repo), "hook_event_name": "PreToolUse",
                       "tool_name": "Edit", "tool_input": {"file_path": str(repo / name)}})


def test_record_puts_each_duration_in_its_bucket(tmp_path):
    path = str(tmp_path / "maf" / hook_timing.FILE)  # the directory is made on first use
    for seconds in (0.01, hook_timing.BUCKETS[0], 0.03, 20.0):
        assert hook_timing.record(path, "commit", seconds)
    assert hook_timing.record(path, "edit", 0.2)
    found = hook_timing.read(path)
    buckets, total = found["commit"]
    assert [bound for bound, _ in buckets] == [*hook_timing.BUCKETS, float("inf")]
    # cumulative: a duration at a bound counts in that bound's bucket; 20 s only in the last
    assert dict(buckets)[hook_timing.BUCKETS[0]] == 2 and dict(buckets)[0.05] == 3
    assert dict(buckets)[hook_timing.BUCKETS[-1]] == 3 and buckets[-1] == (float("inf"), 4)
    assert total == 0.01 + hook_timing.BUCKETS[0] + 0.03 + 20.0
    assert counts(path) == {"commit": 4, "edit": 1}


def test_a_file_that_is_not_todays_histogram_starts_again(tmp_path):
    path = tmp_path / hook_timing.FILE
    assert hook_timing.read(str(path)) == {}
    assert hook_timing.record(str(path), "commit", 0.1)
    header, line = path.read_text().splitlines()
    assert header == "maf-hook-timing 1 " + " ".join(map(repr, hook_timing.BUCKETS))
    assert line.split(" ")[0:2] == ["commit", "0.1"]
    for damaged in (b"not a histogram\n", b"\xff\xfe", b"maf-hook-timing 1 1.0 2.0\ncommit 0.1 0 1 0\n",
                    f"{header}\ncommit 0.1 1 2\n".encode(), f"{header}\n{line.replace(' 0.1 ', ' nan ')}\n".encode(),
                    f"{header}\n{line.replace(' 0.1 ', ' 0.1 -1 ')}\n".encode()):
        path.write_bytes(damaged)
        assert hook_timing.read(str(path)) == {}, damaged
        assert hook_timing.record(str(path), "push", 0.1)
        assert counts(path) == {"push": 1}


_RECORDER = """
import sys
from maf_hooks import hook_timing
hook_timing.LOCK_WAIT_SECONDS = 120  # what is tested is that no update is lost, not how long a hook waits
path, hook, seconds, times = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
print(sum(hook_timing.record(path, hook, seconds) for _ in range(times)))
"""


def test_concurrent_hooks_lose_no_update_and_never_leave_half_a_file(tmp_path):
    path = tmp_path / hook_timing.FILE
    writers = [subprocess.Popen([sys.executable, "-c", _RECORDER, str(path), "commit" if n % 2 else "edit",
                                 str((n + 1) / 1000), "40"], stdout=subprocess.PIPE, text=True) for n in range(6)]
    reads = 0
    while any(writer.poll() is None for writer in writers):
        if path.exists():  # once there, always a whole histogram: replaced, never rewritten in place
            assert hook_timing.read(str(path)) != {}
            reads += 1
    assert [writer.communicate(timeout=120)[0].strip() for writer in writers] == ["40"] * 6
    assert reads > 0
    assert counts(path) == {"commit": 120, "edit": 120}
    found = hook_timing.read(str(path))
    assert abs(found["edit"][1] - 40 * (1 + 3 + 5) / 1000) < 1e-9
    assert abs(found["commit"][1] - 40 * (2 + 4 + 6) / 1000) < 1e-9
    assert sorted(os.listdir(tmp_path)) == [hook_timing.FILE, hook_timing.FILE + ".lock"]  # no temporary left


def test_the_hooks_record_their_duration_after_answering(repo):
    path = leased_repo(repo)
    refused = run([BIN / "maf-reservations"], repo, BOB)
    assert refused.returncode == 1 and "RESERVATION_CONFLICT" in refused.stderr
    allowed = run([BIN / "maf-reservations"], repo, ALICE)
    assert allowed.returncode == 0
    pushed = run([BIN / "maf-reservations-push"], repo, BOB, input="")
    assert pushed.returncode == 0, pushed.stderr
    denied = run([BIN / "maf", "agent-hook", "claude"], repo, BOB, input=edit_call(repo, "src/a.py"))
    assert denied.returncode == 0 and '"deny"' in denied.stdout
    free = run([BIN / "maf", "agent-hook", "claude"], repo, BOB, input=edit_call(repo, "README.md"))
    assert (free.returncode, free.stdout) == (0, "")
    assert counts(path) == {"commit": 2, "push": 1, "edit": 2}
    assert hook_timing.read(str(path))["commit"][1] > 0


def test_a_hook_that_opened_no_store_records_nothing(repo):
    (repo / "a.txt").write_text("x\n")
    git("add", "a.txt", cwd=repo)
    done = run([BIN / "maf-reservations"], repo, BOB)
    assert (done.returncode, done.stderr) == (0, "")
    assert not (repo / ".git" / "maf").exists()  # no database: nothing is created beside it


def test_an_unwritable_histogram_never_changes_the_hook_outcome(repo):
    path = leased_repo(repo)
    before_refused = run([BIN / "maf-reservations"], repo, BOB)
    before_edit = run([BIN / "maf", "agent-hook", "claude"], repo, BOB, input=edit_call(repo, "src/a.py"))
    assert counts(path) == {"commit": 1, "edit": 1}
    os.unlink(path)
    path.mkdir()  # neither readable as a file nor replaceable
    refused = run([BIN / "maf-reservations"], repo, BOB)
    assert refused.returncode == before_refused.returncode == 1
    assert refused.stderr.splitlines()[0] == before_refused.stderr.splitlines()[0]
    edit = run([BIN / "maf", "agent-hook", "claude"], repo, BOB, input=edit_call(repo, "src/a.py"))
    assert (edit.returncode, json.loads(edit.stdout)["hookSpecificOutput"]["permissionDecision"]) == (
        before_edit.returncode, "deny")
    assert edit.stderr == ""
    allowed = run([BIN / "maf-reservations"], repo, ALICE)
    assert (allowed.returncode, allowed.stderr) == (0, "")
    assert hook_timing.read(str(path)) == {}  # a directory is no histogram


def test_a_lock_held_elsewhere_costs_the_sample_not_the_answer(repo):
    path = leased_repo(repo)
    lock = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process that never lets go
        refused = run([BIN / "maf-reservations"], repo, BOB)
        assert refused.returncode == 1 and "RESERVATION_CONFLICT" in refused.stderr
    finally:
        os.close(lock)
    assert counts(path) == {}  # the sample was given up after LOCK_WAIT_SECONDS
    run([BIN / "maf-reservations"], repo, BOB)
    assert counts(path) == {"commit": 1}
