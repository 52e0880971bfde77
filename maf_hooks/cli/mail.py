"""`maf mail`: list, read and send agent mail (one Maildir per agent under the mail root, or the
lease server in fleet mode), flush the queued conflict mail, and sync the fleet's mail into the
local Maildir."""

from __future__ import annotations

import sys

import click

from maf_hooks.cli import completion
from maf_hooks.cli.options import (
    agent_option,
    group_options,
    json_option,
    make_context,
    pass_context,
)
from maf_hooks.cli.output import emit_json, table, warn
from maf_hooks.context import Context
from maf_hooks.core.text import shown
from maf_hooks.errors import UsageError
from maf_hooks.services import documents
from maf_hooks.services import mail as service

UNREAD_MARK = "*"


def _mail():
    # imported on use: `maf` commands that do not touch mail never load mailbox/email
    from maf_hooks import mail

    return mail


@click.group("mail")
@group_options
@click.pass_context
def mail_group(ctx: click.Context, config_path, env_name, group_agent):
    """List, read and send agent mail.

    Every agent has a standard Maildir under the mail root (default .agent-mail at the top of
    the main worktree; MAF_AGENT_MAIL_ROOT or config mail.root change it), so mutt and other
    Maildir tools can read it too. In fleet mode (storage.url names a PostgreSQL server) the
    mail is kept on the server, so every machine reads the same mailboxes; `maf mail sync`
    copies it into the local Maildir for mutt.
    """
    make_context(ctx, config_path, env_name, group_agent)


def _when(date: str | None) -> str:
    return date.replace("T", " ") if date else "?"


@mail_group.command("list")
@agent_option
@click.option("--unread", is_flag=True, help="Only messages not read yet.")
@json_option
@pass_context
def list_mail(context: Context, agent, unread, as_json):
    """Messages in your mailbox, oldest first ('*' marks unread ones).

    \b
    Examples:
      maf mail list
      maf mail list --unread --json
    """
    who = context.agent(agent)
    assert who is not None  # required
    with service.mail_store(context) as store:
        box = service.inbox(context.mail_root(), who, unread_only=unread, store=store)
    if as_json:
        emit_json(documents.stamped("mail.list", box))
        return 0
    messages = box["messages"]
    if not messages:
        click.echo(f"No unread messages for {shown(who)}." if unread else f"No messages for {shown(who)}.")
        return 0
    table(["", "ID", "DATE", "FROM", "TYPE", "SUBJECT"], [
        ["" if m["seen"] else UNREAD_MARK, m["id"], _when(m["date"]), _mail().agent_of(m["from"]),
         m["type"] or "", m["subject"] or ""]
        for m in messages
    ])
    return 0


@mail_group.command("read")
@click.argument("key", metavar="ID", required=False, shell_complete=completion.mail_ids)
@click.option("--latest", is_flag=True, help="The newest message (by date), instead of an ID.")
@agent_option
@json_option
@pass_context
def read_mail(context: Context, key, latest, agent, as_json):
    """Show one message (headers and text) and mark it read.

    ID is a message's id as `maf mail list` shows it, or enough of its start to name one
    message (a start that fits several is refused, exit 2, listing them); --latest reads the
    newest message instead.

    \b
    Examples:
      maf mail read 1700000000.M123456P4242Q1.host
      maf mail read 1700000000.M12
      maf mail read --latest --json
    """
    if latest and key is not None:
        raise UsageError("Give either a message ID or --latest, not both.")
    who = context.agent(agent)
    assert who is not None  # required
    with service.mail_store(context) as store:
        message = service.read(context.mail_root(), who, key, store=store, latest=latest)
    if as_json:
        emit_json(documents.stamped("mail.read", message))
        return 0
    for label, field in (("From", "from"), ("To", "to"), ("Date", "date"), ("Subject", "subject"),
                         ("Type", "type"), ("Id", "id")):
        if message.get(field) is not None:
            click.echo(f"{label + ':':<9}{shown(str(message[field]))}")
    click.echo("")
    text = shown(message["text"], lines=True)  # another agent's text: no raw escape sequence
    click.echo(text, nl=not text.endswith("\n"))
    if message["json"] is not None:
        click.echo(f"\n[{_mail().JSON_FILENAME} attached: `maf mail read {shown(message['id'])} --json` shows it]")
    return 0


@mail_group.command("send")
@click.option("--to", "recipient", required=True, metavar="AGENT", help="The agent to write to.")
@click.option("--subject", required=True, help="One line.")
@click.option("--body", default=None, metavar="TEXT", help="The message text.")
@click.option("--body-file", default=None, metavar="FILE",
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Read the message text from FILE (UTF-8; '-' reads stdin).")
@agent_option
@json_option
@pass_context
def send_mail(context: Context, recipient, subject, body, body_file, agent, as_json):
    """Send a message to another agent's mailbox.

    \b
    Examples:
      maf mail send --to bob --subject "src/api/ is yours after 15:00" --body "I am done then."
      git diff | maf mail send --to bob --subject "my changes" --body-file -
    """
    if (body is None) == (body_file is None):
        raise UsageError("Give the message text with exactly one of --body TEXT or --body-file FILE.")
    text = body if body is not None else _read_body(body_file)
    who = context.agent(agent)
    assert who is not None  # required
    with service.mail_store(context) as store:
        sent = service.send(context.mail_root(), sender=who, recipient=recipient, subject=subject, text=text,
                            store=store)
    if as_json:
        emit_json(documents.stamped("mail.send", sent))
    else:
        click.echo(f"sent {sent['id']} to {shown(recipient)}")
    return 0


@mail_group.command("flush")
@json_option
@pass_context
def flush_mail(context: Context, as_json):
    """Deliver the queued conflict mail (RESERVATION_CONFLICT messages to lease holders).

    The git hook queues each holder's message together with the conflict record and delivers it
    after its decision; what could not be delivered then stays queued. This delivers every queued
    message exactly once (safe to run from cron or CI, or twice in a row). Exit 1 when a delivery
    failed (the message stays queued).

    \b
    Example:
      maf mail flush
    """
    result: dict = {"delivered": [], "failed": [], "pending": 0}
    with context.store_if_exists() as store:
        if store is not None:
            result = service.flush(store, context.mail_root())
    for failure in result["failed"]:
        warn(f"maf: could not deliver queued mail {failure['id']} to {shown(failure['recipient'])}: "
             f"{shown(failure['error'] or '')} (attempt {failure['attempts']}; kept queued)")
    if as_json:
        emit_json(documents.stamped("mail.flush", result))
    else:
        click.echo(f"delivered {len(result['delivered'])} queued message(s); {result['pending']} still queued")
    return 1 if result["failed"] else 0


@mail_group.command("sync")
@agent_option
@json_option
@pass_context
def sync_mail(context: Context, agent, as_json):
    """Copy your mail from the lease server into your local Maildir (fleet mode), for mutt.

    Writes each message the server holds for you into <mail root>/<agent>/new/, as the file a
    local delivery would make (same content, same name as its `maf mail list` id); a message
    already in new/ or cur/ is not written again, so running it twice writes nothing twice.
    Then "read" is carried both ways: a message you read in the Maildir (flag S, as mutt sets
    it) is marked read on the server, and one read with `maf mail read` (on any machine) gets
    the S flag here. Messages you delete from the Maildir stay on the server (the next sync
    writes them again). Without a server (storage.url unset) the mail is already in the
    Maildir and there is nothing to do.

    \b
    Examples:
      maf mail sync
      maf mail sync --agent alice --json
    """
    who = context.agent(agent)
    assert who is not None  # required
    with service.mail_store(context) as store:
        result = service.sync(context.mail_root(), who, store=store)
    if as_json:
        emit_json(documents.stamped("mail.sync", result))
    elif not result["fleet"]:
        click.echo(f"Nothing to sync: without a lease server, mail for {shown(who)} is delivered to "
                   f"{shown(result['mailbox'])} already.")
    else:
        click.echo(f"{len(result['written'])} new message(s) written to {shown(result['mailbox'])}; "
                   f"{len(result['marked_read'])} marked read on the server, "
                   f"{len(result['marked_seen'])} marked seen in the Maildir ({result['messages']} on the server)")
    return 0


def _read_body(path: str) -> str:
    if path == "-":
        stdin = sys.stdin
        data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
        where = "standard input"
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise UsageError(f"--body-file {path!r} does not exist.") from None
        except IsADirectoryError:
            raise UsageError(f"--body-file {path!r} is a directory.") from None
        where = repr(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"The message text from {where} is not UTF-8.") from None
