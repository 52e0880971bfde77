"""The conflict mail outbox: a conflict record and its holder's mail are committed together, and
delivery to a Maildir is exactly once after `maf mail flush` (kill -9, failing deliveries, reruns)."""

from __future__ import annotations

import json
import mailbox
import os
import random
import shutil
import sqlite3
import subprocess
import time

from test_hooks import ME, hook, inbox, lease, stage


def records(repo):
    conn = sqlite3.connect(repo / ".git" / "maf" / "runtime.db")
    try:
        return [row[0] for row in conn.execute("SELECT id FROM reservation_conflicts")]
    finally:
        conn.close()


def outbox(repo):
    conn = sqlite3.connect(repo / ".git" / "maf" / "runtime.db")
    try:
        return conn.execute("SELECT status, attempts, last_error FROM mail_outbox ORDER BY id").fetchall()
    finally:
        conn.close()


def conflict_ids(messages):
    ids = []
    for message in messages:
        part = next(p for p in message.walk() if p.get_filename() == "maf.json")
        ids += [envelope["conflictId"] for envelope in json.loads(part.get_payload(decode=True))]
    return ids


def test_kill_loop_then_flush_delivers_each_record_once(repo, cli):
    (repo / "maf.toml").write_text("[mail]\ndedup_minutes = 0\n")
    lease(cli, repo, "k.txt", "--agent", "alice")
    stage(repo, "k.txt")
    env = dict(os.environ, MAF_AGENT_ID="bob")
    command = [shutil.which("maf-reservations") or "maf-reservations"]
    rng = random.Random(9)
    for attempt in range(36):
        proc = subprocess.Popen(command, cwd=repo, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt % 12 == 11:
            proc.wait(timeout=60)  # a few run to the end
        else:
            time.sleep(rng.uniform(0, 0.15))
            proc.kill()
            proc.wait(timeout=60)
    made = records(repo)
    assert made, "no attempt got as far as a conflict record"
    assert len(outbox(repo)) == len(made)  # the record and its queued mail: together or not at all
    first = cli(repo, "mail", "flush")
    assert first.code == 0, first.err
    messages = inbox(repo, "alice")
    assert sorted(conflict_ids(messages)) == sorted(made)  # exactly one message per record
    assert {row[0] for row in outbox(repo)} == {"delivered"}
    again = cli(repo, "mail", "flush")
    assert again.code == 0 and "delivered 0" in again.out
    assert len(inbox(repo, "alice")) == len(made)


def test_failed_delivery_is_queued_then_flushed_once(repo, cli):
    lease(cli, repo, "q.txt", "--agent", "alice")
    stage(repo, "q.txt")
    box = repo / ".agent-mail" / "alice"
    box.mkdir(parents=True)
    (box / "new").write_text("not a directory\n")  # every delivery to alice fails
    code, err = hook(repo, env=ME)
    assert code == 1
    assert "mail to alice is queued" in err and "was already sent" not in err and "mail was sent" not in err
    assert "stays queued" in err
    assert outbox(repo)[0][:2] == ("pending", 1)
    code, err = hook(repo, env=ME)  # the same attempt within the dedup window: not "was already sent"
    assert code == 1 and "already queued" in err and "was already sent" not in err
    assert len(outbox(repo)) == 1
    failing = cli(repo, "mail", "flush")
    assert failing.code == 1 and "kept queued" in failing.err and "1 still queued" in failing.out
    (box / "new").unlink()
    done = cli(repo, "mail", "flush")
    assert done.code == 0 and "delivered 1 queued message(s); 0 still queued" in done.out
    assert outbox(repo)[0][0] == "delivered"
    assert len(inbox(repo, "alice")) == 1
    assert cli(repo, "mail", "flush").out.startswith("delivered 0")
    assert len(inbox(repo, "alice")) == 1
    code, err = hook(repo, env=ME)  # now it was delivered: "was already sent" is the truth
    assert "was already sent" in err


def test_read_message_is_not_delivered_again(repo, cli):
    lease(cli, repo, "r.txt", "--agent", "alice")
    stage(repo, "r.txt")
    assert hook(repo, env=ME)[0] == 1
    listed = cli(repo, "mail", "list", "--agent", "alice", "--json")
    assert listed.code == 0, listed.err
    [message] = listed.json["messages"]
    assert ".maf-" in message["id"] and message["type"] == "RESERVATION_CONFLICT"
    read = cli(repo, "mail", "read", message["id"], "--agent", "alice")
    assert read.code == 0 and "r.txt" in read.out
    assert [name for name in os.listdir(repo / ".agent-mail" / "alice" / "cur") if name.endswith(":2,S")]
    # the row is put back to pending as if the process died between delivering and marking it
    conn = sqlite3.connect(repo / ".git" / "maf" / "runtime.db")
    conn.execute("UPDATE mail_outbox SET status = 'pending'")
    conn.commit()
    conn.close()
    result = cli(repo, "mail", "flush")
    assert result.code == 0 and "delivered 1" in result.out  # found in cur/, marked, not written again
    assert len(list(mailbox.Maildir(str(repo / ".agent-mail" / "alice"), create=False))) == 1


def test_next_hook_run_and_escalate_tick_retry_queued_mail(repo, cli):
    lease(cli, repo, "h.txt", "--agent", "alice")
    lease(cli, repo, "t.txt", "--agent", "carol")
    for agent in ("alice", "carol"):
        (repo / ".agent-mail" / agent).mkdir(parents=True)
        (repo / ".agent-mail" / agent / "new").write_text("x\n")
    stage(repo, "h.txt")
    stage(repo, "t.txt")
    assert hook(repo, env=ME)[0] == 1
    assert [row[0] for row in outbox(repo)] == ["pending", "pending"]
    (repo / ".agent-mail" / "alice" / "new").unlink()
    git_reset = subprocess.run(["git", "reset", "-q"], cwd=repo)
    assert git_reset.returncode == 0
    stage(repo, "free.txt")
    assert hook(repo, env=ME) == (0, "")  # no conflict; the queued mail is retried after the decision
    assert len(inbox(repo, "alice")) == 1 and [row[0] for row in outbox(repo)] == ["delivered", "pending"]
    failing = cli(repo, "escalate", "tick")
    assert failing.code == 1 and "queued conflict mail" in failing.err
    (repo / ".agent-mail" / "carol" / "new").unlink()
    ticked = cli(repo, "escalate", "tick")
    assert ticked.code == 0 and "delivered 1 queued conflict message(s)" in ticked.out
    assert len(inbox(repo, "carol")) == 1 and len(inbox(repo, "alice")) == 1
    assert cli(repo, "escalate", "tick", "--json").json["mail"]["delivered"] == []


def test_flush_without_database_delivers_nothing(repo, cli):
    result = cli(repo, "mail", "flush")
    assert result.code == 0 and "delivered 0 queued message(s); 0 still queued" in result.out
    assert not (repo / ".git" / "maf").exists()
