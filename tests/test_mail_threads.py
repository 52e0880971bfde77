"""What a holder's conflict mail says and how mail readers group it: the repository's name in the
subject and text, one thread per lease (In-Reply-To and References to the lease's fixed root
Message-ID), lease ends as absolute times with the span "after this message", the standard
signature line, and the JSON as a text/plain ``maf.json`` attachment. Real repositories, the real
hook and the Maildir files it writes, parsed with :mod:`email`."""

from __future__ import annotations

import email
import email.policy
import email.utils
import json
import mailbox

from conftest import commit_file, make_repo
from test_fleet_mail import machines  # noqa: F401 - the fixture
from test_hooks import ME, hook, lease, stage


def messages(repo, agent):
    """The agent's messages, parsed from the Maildir files, oldest first."""
    box = mailbox.Maildir(str(repo / ".agent-mail" / agent), factory=None, create=False)
    parsed = [email.message_from_bytes(box.get_bytes(key), policy=email.policy.default) for key in box.keys()]
    return sorted(parsed, key=lambda m: (m["Date"].datetime, str(m["Message-ID"])))


def text_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def leases(cli, repo):
    listed = cli(repo, "lease", "list", "--json")
    assert listed.code == 0, listed.err
    return {lease["pattern"]: lease for lease in listed.json["leases"]}


def test_conflict_mail_names_the_repository_threads_per_lease_and_states_times_after_the_message(tmp_path, cli):
    repo = make_repo(tmp_path / "shop-api")
    commit_file(repo, "README.md", "hello\n", "initial")
    lease(cli, repo, "src/", "--agent", "alice", "--ttl", "45m")
    lease(cli, repo, "docs/", "--agent", "alice", "--ttl", "2h")
    held = leases(cli, repo)
    src, docs = held["src/"], held["docs/"]
    at = src["expires_at_ms"] - 45 * 60_000  # the hook's clock: 45 minutes before the src/ lease ends

    stage(repo, "src/a.py")
    assert hook(repo, env=ME, clock=lambda: at)[0] == 1
    stage(repo, "src/b.py")  # another attempt (other paths, so not the same mail again)
    assert hook(repo, env=ME, clock=lambda: at + 60_000)[0] == 1
    stage(repo, "docs/guide.md")  # both leases now: docs/guide.md sorts first
    assert hook(repo, env=ME, clock=lambda: at + 120_000)[0] == 1

    first, second, third = messages(repo, "alice")
    src_root, docs_root = f"<{src['id']}@maf-hooks>", f"<{docs['id']}@maf-hooks>"
    for message in (first, second):
        assert str(message["In-Reply-To"]) == src_root and str(message["References"]) == src_root
    assert str(third["In-Reply-To"]) == docs_root  # the lease of its first path
    assert str(third["References"]).split() == [src_root, docs_root]  # every lease, In-Reply-To's last
    ids = {str(m["Message-ID"]) for m in (first, second, third)}
    assert len(ids) == 3 and not ids & {src_root, docs_root}  # the root is never a message itself

    for message in (first, second, third):
        assert str(message["Subject"]).startswith("[MAF] RESERVATION_CONFLICT in shop-api: a commit by bob ")
        assert "tried to commit changes to paths you hold a lease on in shop-api." in text_of(message)
        assert text_of(message).endswith("\n-- \nmaf-hooks\n")  # the standard signature separator

    assert email.utils.parsedate_to_datetime(str(first["Date"])).timestamp() * 1000 == at // 1000 * 1000
    assert (f"your lease {src['id']} on 'src/' ends {src['expires_at']}, 45 minutes after this message"
            in text_of(first))
    assert "44 minutes after this message" in text_of(second)
    minutes = (docs["expires_at_ms"] - (at + 120_000)) // 60_000  # 118: the docs/ lease was taken just after
    assert f"ends {docs['expires_at']}, 1 hour {minutes - 60} minutes after this message" in text_of(third)
    for message in (first, second, third):
        assert "(in " not in text_of(message)  # no countdown frozen into the mail

    attachment = [part for part in third.iter_attachments()]
    assert [(p.get_content_type(), p.get_content_charset(), p.get_filename()) for p in attachment] == [
        ("text/plain", "utf-8", "maf.json")]
    assert {e["filePath"] for e in json.loads(attachment[0].get_content())} == {"docs/guide.md", "src/a.py",
                                                                                 "src/b.py"}


def test_maf_mail_read_shows_the_json_of_mail_written_either_way(repo, cli):
    """`maf mail read --json` reads the text/plain maf.json of new mail and the application/json
    part of mail delivered before (still in people's mailboxes)."""
    from maf_hooks import mail

    root = str(repo / ".agent-mail")
    new = mail.deliver(root, "alice", mail.build_message(sender="bob", recipient="alice", subject="new",
                                                         text="hi", json_payload={"n": 1}))
    old = mail.build_message(sender="bob", recipient="alice", subject="old", text="hi")
    old.add_attachment(b'{"n": 2}\n', maintype="application", subtype="json", filename="maf.json")
    old_key = mail.deliver(root, "alice", old)
    for key, expected in ((new, {"n": 1}), (old_key, {"n": 2})):
        shown = cli(repo, "mail", "read", key, "--agent", "alice", "--json")
        assert shown.code == 0, shown.err
        assert shown.json["json"] == expected and shown.json["text"] == "hi\n"


# --- maf mail read: a unique prefix of an id, or --latest ------------------------------------------

def sent(repo, cli, subject):
    result = cli(repo, "mail", "send", "--to", "alice", "--subject", subject, "--body", subject, "--agent", "bob",
                 "--json")
    assert result.code == 0, result.err
    return result.json["id"]


def test_mail_read_takes_a_unique_prefix_refuses_an_ambiguous_one_and_reads_the_latest(repo, cli):
    first, second = sent(repo, cli, "one"), sent(repo, cli, "two")
    common = next(i for i in range(len(first)) if first[i] != second[i])  # where the two ids part

    prefix = cli(repo, "mail", "read", second[:common + 1], "--agent", "alice", "--json")
    assert prefix.code == 0, prefix.err
    assert prefix.json["id"] == second and prefix.json["subject"] == "two" and prefix.json["seen"] is True

    ambiguous = cli(repo, "mail", "read", first[:common], "--agent", "alice")
    assert ambiguous.code == 2 and ambiguous.out == ""
    assert f"The id {first[:common]!r} is ambiguous: 2 messages of alice begin with it" in ambiguous.err
    assert first in ambiguous.err and second in ambiguous.err and "Traceback" not in ambiguous.err
    assert cli(repo, "mail", "list", "--unread", "--agent", "alice", "--json").json["messages"][0]["id"] == first

    named = cli(repo, "mail", "read", f".agent-mail/alice/cur/{second}:2,S", "--agent", "alice", "--json")
    assert named.code == 0 and named.json["id"] == second  # as the Maildir file is named once read

    unknown = cli(repo, "mail", "read", "9" + first, "--agent", "alice")
    assert unknown.code == 1 and "No message" in unknown.err and "`maf mail list` shows the ids" in unknown.err

    third = sent(repo, cli, "three")
    latest = cli(repo, "mail", "read", "--latest", "--agent", "alice")
    assert latest.code == 0 and "Subject: three" in latest.out and f"Id:      {third}" in latest.out
    for args in (["--latest", first], []):
        refused = cli(repo, "mail", "read", *args, "--agent", "alice")
        assert refused.code == 2 and ("--latest" in refused.err) and "Traceback" not in refused.err
    nobody = cli(repo, "mail", "read", "--latest", "--agent", "carol")
    assert nobody.code == 1 and "No messages for carol" in nobody.err


def test_mail_read_prefix_and_latest_on_a_server(machines, cli):  # noqa: F811 - the fixture
    from test_fleet_mail import ALICE, BOB

    a, b = machines
    ids = []
    for subject in ("one", "two"):
        result = cli(b, "mail", "send", "--to", "alice", "--subject", subject, "--body", subject, "--json", env=BOB)
        assert result.code == 0, result.err
        ids.append(result.json["id"])
    common = next(i for i in range(len(ids[0])) if ids[0][i] != ids[1][i])
    assert cli(a, "mail", "read", ids[0][:common], env=ALICE).code == 2
    shown = cli(a, "mail", "read", ids[0][:common + 1], "--json", env=ALICE)
    assert shown.code == 0 and shown.json["id"] == ids[0] and shown.json["subject"] == "one"
    latest = cli(a, "mail", "read", "--latest", "--json", env=ALICE)
    assert latest.code == 0 and latest.json["id"] == ids[1]
