"""Agent mail: real Maildirs on disk, delivery safety, header injection, `maf mail` end to end."""

from __future__ import annotations

import email
import email.policy
import email.utils
import errno
import io
import json
import mailbox
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import click
import pytest

from maf_hooks import mail
from maf_hooks.cli.mail import mail_group
from maf_hooks.cli.options import make_context
from maf_hooks.errors import Refused, StorageError, UsageError


@click.group()
@click.pass_context
def root_group(ctx):
    """A stand-in for `maf`, so these tests do not depend on where mail_group is registered."""
    make_context(ctx, None, None)


root_group.add_command(mail_group)


@pytest.fixture
def mcli(cli):
    def invoke(cwd, *args, env=None):
        return cli(cwd, "mail", *args, env=env, command=root_group)

    return invoke


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "mail")


def tree(path) -> list:
    """Every file and directory under path (relative), to prove that nothing was written."""
    found = []
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            found.append(os.path.relpath(os.path.join(top, name), path))
    return sorted(found)


def files_in(root, agent, sub) -> list:
    return sorted(os.listdir(os.path.join(root, agent, sub)))


def conflict_message(**overrides):
    arguments = dict(
        sender="alice", recipient="bob", subject="Lease conflict on src/api/",
        text="alice tried to commit src/api/x.py, which you lease.\n",
        maf_type="LEASE_CONFLICT", json_payload={"paths": ["src/api/x.py"], "lease": {"id": 7}},
        extra_headers={"X-MAF-Lease-Id": "7"}, date_ms=1_700_000_000_000,
    )
    arguments.update(overrides)
    return mail.build_message(**arguments)


# --- addresses -------------------------------------------------------------------------------------


def test_address_plain_agent_id():
    assert mail.address("alice") == "alice <alice@agents.maf.invalid>"


def test_address_email_like_id_is_its_own_address():
    name, addr = email.utils.parseaddr(mail.address("dev@example.com"))
    assert (name, addr) == ("dev@example.com", "dev@example.com")


def test_address_none_is_unknown_agent():
    assert mail.address(None) == "unknown agent <unknown@agents.maf.invalid>"


def test_address_odd_id_still_parses():
    for agent in ("a..b", "x@y@z", "trailing."):
        parsed = email.message_from_string(f"From: {mail.address(agent)}\n\n", policy=email.policy.default)
        (only,) = parsed["From"].addresses
        assert only.display_name == agent and only.username == agent
        assert only.domain == "agents.maf.invalid"


# --- building and delivering -------------------------------------------------------------------------


def test_deliver_creates_maildir_and_puts_message_in_new(root):
    key = mail.deliver(root, "bob", conflict_message())
    box_path = os.path.join(root, "bob")
    assert sorted(os.listdir(box_path)) == ["cur", "new", "tmp"]
    assert files_in(root, "bob", "new") == [key]
    assert files_in(root, "bob", "tmp") == [] and files_in(root, "bob", "cur") == []
    assert mail.mailbox_path(root, "bob") == box_path

    box = mailbox.Maildir(box_path, factory=None, create=False)
    assert list(box.keys()) == [key]
    assert box.get_message(key).get_subdir() == "new"
    with open(os.path.join(box_path, "new", key), "rb") as handle:
        parsed = email.message_from_binary_file(handle, policy=email.policy.default)
    assert str(parsed["From"]) == "alice <alice@agents.maf.invalid>"
    assert str(parsed["To"]) == "bob <bob@agents.maf.invalid>"
    assert str(parsed["Subject"]) == "Lease conflict on src/api/"
    assert parsed["Date"].datetime.timestamp() == 1_700_000_000
    assert str(parsed["Message-ID"]).startswith("<") and str(parsed["Message-ID"]).endswith("@maf.local>")
    assert str(parsed["X-MAF-Type"]) == "LEASE_CONFLICT"
    assert str(parsed["X-MAF-Lease-Id"]) == "7"

    assert parsed.get_content_type() == "multipart/mixed"
    text_part, json_part = parsed.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert text_part.get_content() == "alice tried to commit src/api/x.py, which you lease.\n"
    # text/plain, so that mutt shows it inline; an attachment named maf.json
    assert json_part.get_content_type() == "text/plain" and json_part.get_content_charset() == "utf-8"
    assert json_part.get_content_disposition() == "attachment" and json_part.get_filename() == "maf.json"
    assert json.loads(json_part.get_content()) == {"paths": ["src/api/x.py"], "lease": {"id": 7}}


def test_build_message_without_json_is_text_plain():
    message = mail.build_message(sender="alice", recipient="bob", subject="hi", text="héllo")
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "héllo\n"
    assert message["X-MAF-Type"] is None
    assert message["Message-ID"] and message["Date"]


def test_build_message_unknown_sender():
    message = mail.build_message(sender=None, recipient="bob", subject="s", text="t")
    assert str(message["From"]) == "unknown agent <unknown@agents.maf.invalid>"


def test_build_message_long_json_lines_stay_exact(root):
    payload = {"long": "é" * 2000, "n": [1, 2]}
    key = mail.deliver(root, "bob", conflict_message(json_payload=payload))
    assert mail.read_message(root, "bob", key, mark_seen=False)["json"] == payload
    with open(os.path.join(root, "bob", "new", key), "rb") as handle:
        assert max(len(line) for line in handle.read().splitlines()) <= 998


def test_build_message_refuses_unserializable_payload():
    with pytest.raises(UsageError, match="JSON"):
        conflict_message(json_payload={"x": object()})


def test_deliver_completes_an_incomplete_maildir(root):
    os.makedirs(os.path.join(root, "bob"))
    key = mail.deliver(root, "bob", conflict_message())
    assert files_in(root, "bob", "new") == [key]


def test_deliver_link_failure_leaves_nothing_in_new(root, monkeypatch):
    mail.deliver(root, "bob", conflict_message())  # the Maildir exists
    before = files_in(root, "bob", "new")

    def broken_link(src, dst, *args, **kwargs):
        raise OSError(errno.EIO, "Input/output error", dst)

    monkeypatch.setattr(os, "link", broken_link)
    with pytest.raises(StorageError, match="Could not deliver mail"):
        mail.deliver(root, "bob", conflict_message())
    assert files_in(root, "bob", "new") == before
    assert files_in(root, "bob", "tmp") == []


def test_deliver_link_and_rename_failure_leaves_nothing_in_new(root, monkeypatch):
    def no_link(src, dst, *args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted", dst)

    def broken_rename(src, dst, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", dst)

    monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(os, "rename", broken_rename)
    with pytest.raises(StorageError):
        mail.deliver(root, "bob", conflict_message())
    assert files_in(root, "bob", "new") == [] and files_in(root, "bob", "tmp") == []


def test_deliver_crash_between_tmp_and_new_shows_no_message(root, monkeypatch):
    class Crash(BaseException):
        """The process dying after the file is written in tmp/ and before it moves to new/."""

    def crash(src, dst, *args, **kwargs):
        assert os.stat(src, dir_fd=kwargs["src_dir_fd"]).st_size > 0  # the whole message is in tmp/ already
        raise Crash()

    with monkeypatch.context() as patch:
        patch.setattr(os, "link", crash)
        patch.setattr(os, "rename", crash)
        with pytest.raises(Crash):
            mail.deliver(root, "bob", conflict_message())
    assert files_in(root, "bob", "new") == [] and files_in(root, "bob", "cur") == []
    assert len(files_in(root, "bob", "tmp")) == 1  # Maildir readers ignore tmp/
    assert mail.list_messages(root, "bob") == []
    assert len(mailbox.Maildir(os.path.join(root, "bob"), create=False)) == 0


ESCAPING_IDS = ["../x", "a/b", ".hidden", "-x", "..", ".", "", "x" * 129, "a\\b", "a b", "/etc"]


@pytest.mark.parametrize("agent", ESCAPING_IDS)
def test_deliver_refuses_escaping_ids(tmp_path, root, agent):
    before = tree(tmp_path)
    message = mail.build_message(sender="alice", recipient="bob", subject="s", text="t")
    with pytest.raises(UsageError, match="agent id"):
        mail.deliver(root, agent, message)
    with pytest.raises(UsageError):
        mail.send(root, sender="alice", recipient=agent, subject="s", text="t")
    with pytest.raises(UsageError):
        mail.send(root, sender=agent, recipient="bob", subject="s", text="t")
    with pytest.raises(UsageError):
        mail.list_messages(root, agent)
    with pytest.raises(UsageError):
        mail.read_message(root, agent, "1.M1P1Q1.host")
    with pytest.raises(UsageError):
        mail.mailbox_path(root, agent)
    assert tree(tmp_path) == before
    assert not os.path.exists(root)


def test_deliver_refuses_absolute_path_id(tmp_path, root):
    outside = tmp_path / "outside"
    outside.mkdir()
    before = tree(tmp_path)
    message = mail.build_message(sender="alice", recipient="bob", subject="s", text="t")
    with pytest.raises(UsageError):
        mail.deliver(root, str(outside), message)
    with pytest.raises(UsageError):
        mail.send(root, sender="alice", recipient=str(outside / "x"), subject="s", text="t")
    assert tree(tmp_path) == before


def test_mailbox_path_refuses_symlink_leaving_root(tmp_path, root):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.makedirs(root)
    os.symlink(outside, os.path.join(root, "bob"))
    with pytest.raises(UsageError, match="directly inside the mail root"):
        mail.deliver(root, "bob", conflict_message())
    assert tree(outside) == []


INJECTIONS = ["x\r\nBcc: victim@example.com", "x\nX-MAF-Type: FORGED", "x\rY", "x\0y", "x\u2028y", "x\x0by"]


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("field", ["subject", "sender", "recipient", "maf_type", "extra_header"])
def test_build_message_refuses_header_injection(tmp_path, root, field, value):
    before = tree(tmp_path)
    overrides = {"extra_headers": {"X-MAF-Lease-Id": value}} if field == "extra_header" else {field: value}
    with pytest.raises(UsageError):
        conflict_message(**overrides)
    if field in ("subject", "sender", "recipient"):
        with pytest.raises(UsageError):
            mail.send(root, **{"sender": "alice", "recipient": "bob", "subject": "s", "text": "t", field: value})
    assert tree(tmp_path) == before


def test_build_message_refusal_says_why():
    with pytest.raises(UsageError, match="line breaks"):
        conflict_message(subject="a\r\nBcc: x")


@pytest.mark.parametrize("name", ["Bcc", "X-MAF-1", "X-MAF-", "X-MAF-A\r\nBcc", "x-maf-lower", "X-MAF-A B"])
def test_build_message_refuses_bad_extra_header_names(name):
    with pytest.raises(UsageError, match="X-MAF-"):
        conflict_message(extra_headers={name: "v"})


def test_build_message_undecodable_bytes_replaced_in_text_refused_in_subject():
    # what Python makes of invalid UTF-8 in argv, the environment or file names (surrogateescape)
    message = conflict_message(text="bad \udcff byte in a/\udce9.py")
    assert message.get_body(("plain",)).get_content() == "bad \ufffd byte in a/\ufffd.py\n"
    with pytest.raises(UsageError, match="undecodable"):
        conflict_message(subject="bad \udcff byte")


def test_build_message_refuses_impossible_date():
    with pytest.raises(UsageError, match="date"):
        conflict_message(date_ms=10**20)


def test_build_message_refuses_type_given_twice():
    with pytest.raises(UsageError, match="twice"):
        conflict_message(extra_headers={"X-MAF-Type": "OTHER"})


def test_build_message_body_with_header_like_lines_stays_body(root):
    text = "Hello\r\n\r\nBcc: victim@example.com\nFrom: mallory\n"
    key = mail.send(root, sender="alice", recipient="bob", subject="s", text=text)
    message = mail.read_message(root, "bob", key)
    assert "Bcc: victim@example.com" in message["text"]
    assert message["from"] == "alice <alice@agents.maf.invalid>"
    parsed = email.message_from_bytes(mailbox.Maildir(os.path.join(root, "bob")).get_bytes(key))
    assert parsed["Bcc"] is None


# --- listing and reading ----------------------------------------------------------------------------


def test_list_messages_missing_mailbox_is_empty(root):
    assert mail.list_messages(root, "nobody") == []
    assert not os.path.exists(root)


def test_list_messages_oldest_first_by_date(root):
    keys = {}
    for minute, subject in ((3, "third"), (1, "first"), (2, "second")):
        message = conflict_message(subject=subject, date_ms=1_700_000_000_000 + minute * 60_000)
        keys[subject] = mail.deliver(root, "bob", message)
    listed = mail.list_messages(root, "bob")
    assert [m["subject"] for m in listed] == ["first", "second", "third"]
    first = listed[0]
    assert first == {
        "id": keys["first"], "from": "alice <alice@agents.maf.invalid>", "to": "bob <bob@agents.maf.invalid>",
        "subject": "first", "date": "2023-11-14T22:14:20Z", "type": "LEASE_CONFLICT",
        "seen": False, "folder": "new",
    }


def test_list_messages_same_second_keeps_delivery_order(root):
    keys = [mail.send(root, sender="alice", recipient="bob", subject=f"n{i}", text="t") for i in range(5)]
    assert [m["id"] for m in mail.list_messages(root, "bob")] == keys


def test_read_message_marks_seen_the_maildir_way(root):
    key = mail.deliver(root, "bob", conflict_message())
    other = mail.send(root, sender="carol", recipient="bob", subject="ping", text="are you there?")
    message = mail.read_message(root, "bob", key)
    assert message["seen"] is True and message["folder"] == "cur"
    assert message["text"] == "alice tried to commit src/api/x.py, which you lease.\n"
    assert message["json"] == {"paths": ["src/api/x.py"], "lease": {"id": 7}}
    assert message["type"] == "LEASE_CONFLICT"
    assert message["headers"] == {"X-MAF-Type": "LEASE_CONFLICT", "X-MAF-Lease-Id": "7"}
    assert message["message_id"].endswith("@maf.local>")

    assert files_in(root, "bob", "cur") == [f"{key}:2,S"]
    assert files_in(root, "bob", "new") == [other]
    box = mailbox.Maildir(os.path.join(root, "bob"), create=False)
    on_disk = box.get_message(key)
    assert on_disk.get_subdir() == "cur" and on_disk.get_flags() == "S"

    assert [(m["id"], m["seen"], m["folder"]) for m in mail.list_messages(root, "bob")] == [
        (key, True, "cur"), (other, False, "new"),
    ]
    assert [m["id"] for m in mail.list_messages(root, "bob", unread_only=True)] == [other]
    # reading again changes nothing and still returns the whole message
    again = mail.read_message(root, "bob", key)
    assert again["json"] == message["json"] and again["text"] == message["text"]
    assert files_in(root, "bob", "cur") == [f"{key}:2,S"]


def test_read_message_without_mark_seen_leaves_it_new(root):
    key = mail.send(root, sender="alice", recipient="bob", subject="hi", text="hello")
    message = mail.read_message(root, "bob", key, mark_seen=False)
    assert message["seen"] is False and message["folder"] == "new"
    assert message["text"] == "hello\n" and message["json"] is None and message["type"] == "MESSAGE"
    assert files_in(root, "bob", "new") == [key]


def test_read_message_keeps_flags_set_by_other_tools(root):
    key = mail.send(root, sender="alice", recipient="bob", subject="hi", text="hello")
    box = mailbox.Maildir(os.path.join(root, "bob"), create=False)
    flagged = box.get_message(key)
    flagged.set_subdir("cur")
    flagged.add_flag("F")  # mutt's "flagged"
    box[key] = flagged
    assert mail.list_messages(root, "bob")[0]["seen"] is False
    mail.read_message(root, "bob", key)
    assert files_in(root, "bob", "cur") == [f"{key}:2,FS"]


def test_read_message_unknown_key_is_refused(root):
    with pytest.raises(Refused, match="no mailbox"):
        mail.read_message(root, "bob", "1.M1P1Q1.host")
    mail.send(root, sender="alice", recipient="bob", subject="hi", text="hello")
    for key in ("1.M1P1Q1.host", "../new", "", "new/x"):
        with pytest.raises(Refused, match="maf mail list"):
            mail.read_message(root, "bob", key)
    assert Refused.exit_code == 1


def test_list_messages_reads_mail_from_other_tools(root):
    os.makedirs(root)
    box = mailbox.Maildir(os.path.join(root, "bob"), create=True)
    key = box.add(b"From: someone <s@example.com>\nSubject: =?utf-8?q?caf=C3=A9?=\n\nplain body\n")
    (listed,) = mail.list_messages(root, "bob")
    assert listed["subject"] == "café" and listed["date"] is None and listed["type"] is None
    message = mail.read_message(root, "bob", key)
    assert message["text"] == "plain body\n" and message["json"] is None


# --- the command line --------------------------------------------------------------------------------


def test_mail_cli_send_list_read_round_trip_json(repo, mcli):
    sent = mcli(repo, "send", "--to", "bob", "--subject", "src/api/ is free", "--body", "Done, take it.",
                "--agent", "alice", "--json")
    assert sent.code == 0, sent.err
    key = sent.json["id"]
    assert sent.json == {"schema": "maf.mail.send/1", "id": key, "from": "alice", "to": "bob", "subject": "src/api/ is free", "type": "MESSAGE"}
    assert files_in(repo / ".agent-mail", "bob", "new") == [key]

    listed = mcli(repo, "list", "--agent", "bob", "--json")
    assert listed.code == 0, listed.err
    assert listed.json["agent"] == "bob"
    assert os.path.samefile(listed.json["mailbox"], repo / ".agent-mail" / "bob")
    (entry,) = listed.json["messages"]
    assert entry["id"] == key and entry["from"] == "alice <alice@agents.maf.invalid>"
    assert entry["seen"] is False and entry["type"] == "MESSAGE" and entry["date"].endswith("Z")

    read = mcli(repo, "read", key, "--agent", "bob", "--json")
    assert read.code == 0, read.err
    assert read.json["text"] == "Done, take it.\n" and read.json["subject"] == "src/api/ is free"
    assert read.json["seen"] is True and read.json["json"] is None

    unread = mcli(repo, "list", "--agent", "bob", "--unread", "--json")
    assert unread.code == 0 and unread.json["messages"] == []
    assert mcli(repo, "list", "--agent", "bob", "--json").json["messages"][0]["seen"] is True


def test_mail_cli_list_table_marks_unread(repo, mcli):
    first = mcli(repo, "send", "--to", "bob", "--subject", "one", "--body", "1", "--agent", "alice", "--json").json["id"]
    second = mcli(repo, "send", "--to", "bob", "--subject", "two", "--body", "2", "--agent", "carol", "--json").json["id"]
    assert mcli(repo, "read", first, "--agent", "bob").code == 0
    result = mcli(repo, "list", "--agent", "bob")
    assert result.code == 0, result.err
    header, row_one, row_two = result.out.splitlines()
    assert header.split() == ["ID", "DATE", "FROM", "TYPE", "SUBJECT"]
    assert row_one.split()[0] == first and "alice" in row_one and row_one.rstrip().endswith("one")
    assert row_two.split()[:2] == ["*", second] and "carol" in row_two and "MESSAGE" in row_two
    unread = mcli(repo, "list", "--agent", "bob", "--unread")
    assert len(unread.out.splitlines()) == 2 and second in unread.out and first not in unread.out


def test_mail_cli_list_empty_mailbox(repo, mcli):
    result = mcli(repo, "list", "--agent", "bob")
    assert result.code == 0 and "No messages for bob." in result.out
    assert not (repo / ".agent-mail").exists()
    assert "No unread messages" in mcli(repo, "list", "--agent", "bob", "--unread").out


def test_mail_cli_read_prints_headers_and_text(repo, mcli):
    key = mcli(repo, "send", "--to", "bob", "--subject", "hello", "--body", "line one\nline two",
               "--agent", "alice", "--json").json["id"]
    result = mcli(repo, "read", key, "--agent", "bob")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "From:    alice <alice@agents.maf.invalid>" in lines
    assert "To:      bob <bob@agents.maf.invalid>" in lines
    assert "Subject: hello" in lines and f"Id:      {key}" in lines and "Type:    MESSAGE" in lines
    assert result.out.endswith("\n\nline one\nline two\n")
    assert files_in(repo / ".agent-mail", "bob", "cur") == [f"{key}:2,S"]


def test_mail_cli_read_mentions_json_part(repo, mcli):
    key = mail.deliver(str(repo / ".agent-mail"), "bob", conflict_message())
    result = mcli(repo, "read", key, "--agent", "bob")
    assert result.code == 0 and "maf.json attached" in result.out
    assert mcli(repo, "read", key, "--agent", "bob", "--json").json["json"]["lease"] == {"id": 7}


def test_mail_cli_read_unknown_id_exit_1(repo, mcli):
    result = mcli(repo, "read", "1.M1P1Q1.nowhere", "--agent", "bob")
    assert result.code == 1 and "1.M1P1Q1.nowhere" in result.err
    mcli(repo, "send", "--to", "bob", "--subject", "s", "--body", "b", "--agent", "alice")
    again = mcli(repo, "read", "1.M1P1Q1.nowhere", "--agent", "bob", "--json")
    assert again.code == 1 and "maf mail list" in again.err
    assert json.loads(again.out)["schema"] == "maf.error/1"  # stdout: the error as a document, not a message


@pytest.mark.parametrize("bodies", [[], ["--body", "x", "--body-file", "-"]])
def test_mail_cli_send_needs_exactly_one_body_option(repo, mcli, bodies):
    result = mcli(repo, "send", "--to", "bob", "--subject", "s", "--agent", "alice", *bodies)
    assert result.code == 2 and "exactly one of --body" in result.err
    assert not (repo / ".agent-mail").exists()


def test_mail_cli_send_undecodable_subject_exit_2(repo, mcli):
    result = mcli(repo, "send", "--to", "bob", "--subject", "bad \udcff", "--body", "b", "--agent", "alice")
    assert result.code == 2 and "undecodable" in result.err
    assert not (repo / ".agent-mail").exists()


def test_mail_cli_send_body_file(repo, mcli, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("from a file — ünïcode\n", encoding="utf-8")
    sent = mcli(repo, "send", "--to", "bob", "--subject", "file", "--body-file", body, "--agent", "alice", "--json")
    assert sent.code == 0, sent.err
    read = mcli(repo, "read", sent.json["id"], "--agent", "bob", "--json")
    assert read.json["text"] == "from a file — ünïcode\n"


def test_mail_cli_send_body_file_stdin(repo, mcli, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("piped in\nsecond line\n".encode())))
    sent = mcli(repo, "send", "--to", "bob", "--subject", "stdin", "--body-file", "-", "--agent", "alice", "--json")
    assert sent.code == 0, sent.err
    assert mail.read_message(str(repo / ".agent-mail"), "bob", sent.json["id"])["text"] == "piped in\nsecond line\n"


def test_mail_cli_send_body_file_missing_or_not_utf8_exit_2(repo, mcli, tmp_path):
    missing = mcli(repo, "send", "--to", "bob", "--subject", "s", "--body-file", tmp_path / "nope.txt", "--agent", "alice")
    assert missing.code == 2 and "nope.txt" in missing.err
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    not_utf8 = mcli(repo, "send", "--to", "bob", "--subject", "s", "--body-file", binary, "--agent", "alice")
    assert not_utf8.code == 2 and "not UTF-8" in not_utf8.err
    assert not (repo / ".agent-mail").exists()


@pytest.mark.parametrize("args", [
    ["--to", "../bob", "--subject", "s"],
    ["--to", "bob", "--subject", "s\r\nBcc: x@example.com"],
    ["--to", "bob", "--subject", "s", "--agent", "a/b"],
])
def test_mail_cli_send_refuses_bad_input_exit_2(repo, mcli, args):
    full = ["send", *args, "--body", "b"] + ([] if "--agent" in args else ["--agent", "alice"])
    result = mcli(repo, *full)
    assert result.code == 2, result.err
    assert result.err.startswith("maf: error: ")
    assert not (repo / ".agent-mail").exists()


def test_mail_cli_uses_git_identity_and_env_root(repo, mcli, tmp_path):
    elsewhere = tmp_path / "shared-mail"
    env = {"MAF_AGENT_MAIL_ROOT": str(elsewhere)}
    sent = mcli(repo, "send", "--to", "dev@example.com", "--subject", "note to self", "--body", "b", "--json", env=env)
    assert sent.code == 0, sent.err
    assert sent.json["from"] == "dev@example.com"  # the repository's git user.email
    assert files_in(elsewhere, "dev@example.com", "new") == [sent.json["id"]]
    listed = mcli(repo, "list", "--json", env=env)
    assert listed.json["agent"] == "dev@example.com"
    assert [m["id"] for m in listed.json["messages"]] == [sent.json["id"]]
    assert email.utils.parseaddr(listed.json["messages"][0]["from"]) == ("dev@example.com", "dev@example.com")


# --- the one HTTP POST -------------------------------------------------------------------------------

class _Answer(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Content-Type"], self.headers["User-Agent"], body))
        if self.server.delay:
            time.sleep(self.server.delay)
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def answering():
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    server.received, server.status, server.delay = [], 200, 0.0
    server.url = f"http://127.0.0.1:{server.server_address[1]}/in"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_post_sends_json_and_returns_the_status(answering):
    from maf_hooks.mail import http

    assert http.post_json(answering.url, {"a": [1, "ü"]}, 5.0) == 200
    [(path, kind, agent, body)] = answering.received
    assert path == "/in" and kind == "application/json" and agent == "maf-hooks"
    assert json.loads(body) == {"a": [1, "ü"]}


def test_post_error_status_names_url_and_status(answering):
    from maf_hooks.mail import http

    answering.status = 503
    with pytest.raises(http.PostFailed, match=r"/in answered HTTP 503"):
        http.post(answering.url, b"{}", 5.0)


def test_post_unreachable_and_slow_and_bad_urls_are_clear(answering):
    from maf_hooks.mail import http

    with pytest.raises(http.PostFailed, match="cannot reach http://127.0.0.1:9/"):
        http.post("http://127.0.0.1:9/", b"{}", 5.0)  # nothing listens on the discard port
    answering.delay = 1.0
    with pytest.raises(http.PostFailed, match=r"did not answer within 0.2 s"):
        http.post(answering.url, b"{}", 0.2)
    with pytest.raises(http.PostFailed, match="only http:// and https://"):
        http.post("file:///etc/passwd", b"{}", 1.0)


def test_mail_service_send_inbox_read_marks_seen(tmp_path):
    """The use cases every front end shares: what ``send`` returns is what ``inbox`` lists, and
    ``read`` marks it read."""
    from maf_hooks.services import mail as service

    root = str(tmp_path / "mail")
    sent = service.send(root, sender="alice", recipient="bob", subject="hi", text="hello")
    assert {key: sent[key] for key in ("from", "to", "subject", "type")} == {
        "from": "alice", "to": "bob", "subject": "hi", "type": "MESSAGE"}
    box = service.inbox(root, "bob", unread_only=True)
    assert box["agent"] == "bob" and [m["id"] for m in box["messages"]] == [sent["id"]]
    assert service.read(root, "bob", sent["id"])["text"].strip() == "hello"
    assert service.inbox(root, "bob", unread_only=True)["messages"] == []
    assert [m["seen"] for m in service.inbox(root, "bob")["messages"]] == [True]


def test_mail_cli_read_and_list_show_others_text_escaped(repo, mcli):
    """Mail another tool (or agent) wrote: its subject and body reach the terminal with their
    control characters escaped (newlines and tabs of the body kept); --json keeps them exact."""
    root = repo / ".agent-mail"
    root.mkdir()
    box = mailbox.Maildir(str(root / "bob"), create=True)
    key = box.add(b"From: mallory <m@example.com>\nSubject: =?utf-8?q?hi_=1B[2J=1B]0;pwned=07?=\n"
                  b"Content-Type: text/plain; charset=utf-8\n\n"
                  b"line one\x1b[31m red\n\tindented\xc2\x9b2J\n")
    read = mcli(repo, "read", key, "--agent", "bob")
    assert read.code == 0, read.err
    assert "\x1b" not in read.out and "\x07" not in read.out and "\x9b" not in read.out
    assert "Subject: hi \\x1b[2J\\x1b]0;pwned\\x07\n" in read.out
    assert "line one\\x1b[31m red\n\tindented\\x9b2J\n" in read.out
    listed = mcli(repo, "list", "--agent", "bob")
    assert listed.code == 0 and "\x1b" not in listed.out and "hi \\x1b[2J" in listed.out
    exact = mcli(repo, "read", key, "--agent", "bob", "--json").json
    assert exact["subject"] == "hi \x1b[2J\x1b]0;pwned\x07"
    assert exact["text"] == "line one\x1b[31m red\n\tindented\x9b2J\n"
