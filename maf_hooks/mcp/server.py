"""The `maf mcp` server: the lease and mail tools (:mod:`maf_hooks.mcp.tools`) on the official MCP
SDK's ``MCPServer``, over stdio.

Each tool returns its command's ``--json`` document as structured output (and as JSON text for
clients that read only text); a refusal, bad input or a storage failure is a tool error
(``isError``) whose text starts with the exit code's meaning and goes on with what the command
would print. The SDK is imported only when the server is built, so this module imports without it.
"""

# No `from __future__ import annotations`: the SDK reads the tools' parameter types and
# descriptions from their evaluated annotations.
from typing import Any, List, Mapping, Optional

from maf_hooks import __version__
from maf_hooks.errors import USAGE
from maf_hooks.mcp.tools import Failure, Outcome, Tools

NAME = "maf"
INSTRUCTIONS = (
    "maf-hooks file leases and agent mail for this git repository. Before editing files another agent may "
    "be working on, take a lease with lease_acquire (a refused lease names its holder: wait, write to the "
    "holder with mail_send, or check again with lease_check); renew it with lease_renew while you work and "
    "give it back with lease_release when done. The git hooks refuse commits that touch another agent's "
    "exclusive lease. Read your mail with mail_inbox and mail_read."
)


def result(outcome: Outcome) -> Any:
    """A successful call: the document as structured output and as JSON text, then any notes."""
    from mcp.types import CallToolResult, TextContent

    content: List[Any] = [TextContent(type="text", text=outcome.text())]
    content += [TextContent(type="text", text=note) for note in outcome.notes]
    return CallToolResult(content=content, structured_content=outcome.document)


def error(failure: Failure) -> Any:
    """A tool error (``isError``): the meaning and what the command prints, for the model to read;
    the same as data in structured content."""
    from mcp.types import CallToolResult, TextContent

    return CallToolResult(content=[TextContent(type="text", text=failure.text())],
                          structured_content=failure.details(), is_error=True)


def answer(call: Any) -> Any:
    try:
        return result(call())
    except Failure as failure:
        return error(failure)


def build(agent: Optional[str] = None, *, cwd: Optional[str] = None, environ: Optional[Mapping[str, str]] = None,
          config_path: Optional[str] = None, env_name: Optional[str] = None) -> Any:
    """The ``MCPServer`` with every tool, acting as ``agent`` (else the agent resolved at each call)."""
    from typing import Annotated

    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
    from mcp.types import CallToolResult, ToolAnnotations
    from pydantic import Field

    class Server(MCPServer):
        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            """Arguments the schema refuses (and an unknown tool) are bad input, reported as ours are."""
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as exc:
                if isinstance(exc, UnexpectedToolError):
                    raise
                return error(Failure(USAGE, [str(exc)]))

    tools = Tools(agent, cwd=cwd, environ=environ, config_path=config_path, env_name=env_name)
    server = Server(NAME, version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    Document = Annotated[CallToolResult, dict[str, Any]]  # structured output: one JSON object
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

    Patterns = Annotated[List[str], Field(
        description="Files, directories (a trailing '/' covers everything below) or git wildmatch globs "
                    "('src/**/*.py'), relative to the repository directory the server runs in.")]
    Ttl = Annotated[Optional[str], Field(
        description="Lease length: '90s', '30m', '2h' (default: the configured default).")]
    Minutes = Annotated[Optional[int], Field(description="Lease length in minutes (instead of ttl).", ge=1)]

    @server.tool(annotations=writes)
    def lease_acquire(
        patterns: Patterns,
        ttl: Ttl = None,
        timeout_minutes: Minutes = None,
        shared: Annotated[bool, Field(description="A shared lease: blocks only exclusive requests.")] = False,
        reason: Annotated[str, Field(description="Why you need it; shown to whoever collides with you.")] = "",
        force: Annotated[bool, Field(description="Take over other agents' conflicting leases "
                                                 "(needs the can_force permission; opens an escalation).")] = False,
    ) -> Document:
        """Lease files or patterns for yourself before editing them (all or nothing). Returns the granted
        leases (a lease you already hold is renewed). When another agent's lease overlaps, nothing is
        leased and the call fails as `refused`, naming the holder, its pattern, when it ends and why:
        wait for it to end, ask the holder with mail_send, or (if allowed) retry with force=true."""
        return answer(lambda: tools.lease_acquire(patterns, ttl, timeout_minutes, shared, reason, force))

    @server.tool(annotations=writes)
    def lease_renew(
        patterns: Annotated[List[str], Field(description="The patterns of your leases to renew.")] = [],  # noqa: B006
        all: Annotated[bool, Field(description="Renew every lease you hold (instead of patterns).")] = False,
        ttl: Ttl = None,
        timeout_minutes: Minutes = None,
    ) -> Document:
        """Extend your leases while you are still working: new expiry = now + ttl (up to the maximum).
        Give the patterns, or all=true. Returns the renewed leases."""
        return answer(lambda: tools.lease_renew(patterns, all, ttl, timeout_minutes))

    @server.tool(annotations=writes)
    def lease_release(
        patterns: Annotated[List[str], Field(description="The patterns of the leases to release.")] = [],  # noqa: B006
        ids: Annotated[List[str], Field(description="Lease ids to release.")] = [],  # noqa: B006
        all: Annotated[bool, Field(description="Release every lease you hold.")] = False,
        force: Annotated[bool, Field(description="Release another agent's lease (a takeover; needs "
                                                 "can_force).")] = False,
    ) -> Document:
        """Give leases back as soon as you are done with the files, by patterns, by ids, or all=true.
        Returns the released leases (none when nothing matched)."""
        return answer(lambda: tools.lease_release(patterns, ids, all, force))

    @server.tool(annotations=reads)
    def lease_list(
        agent: Annotated[Optional[str], Field(description="Only this agent's leases.")] = None,
        mine: Annotated[bool, Field(description="Only your own leases.")] = False,
        all: Annotated[bool, Field(description="Include released and expired leases.")] = False,
    ) -> Document:
        """The active leases in this repository: who holds which pattern, until when and why."""
        return answer(lambda: tools.lease_list(agent, mine, all))

    @server.tool(annotations=reads)
    def lease_check(
        paths: Annotated[List[str], Field(description="Paths to check, relative to the repository directory "
                                                      "the server runs in.")],
    ) -> Document:
        """Before editing, ask whether files are free: for each path the active leases covering it
        (for a directory, anything in it) and whether one blocks you (`blocked`: another agent's
        exclusive lease). A blocked path is an answer, not an error."""
        return answer(lambda: tools.lease_check(paths))

    @server.tool(annotations=writes)
    def heartbeat(
        status: Annotated[Optional[str], Field(description="A short line saying what you are doing "
                                                           "(kept when not given).")] = None,
    ) -> Document:
        """Record that you are alive (and, optionally, what you are doing), so other agents and
        escalation rules can tell an active lease holder from an abandoned one."""
        return answer(lambda: tools.heartbeat(status))

    @server.tool(annotations=reads)
    def conflicts(
        since: Annotated[Optional[str], Field(description="Only conflicts newer than this: '90s', '30m', "
                                                          "'2h', '7d'.")] = None,
    ) -> Document:
        """The recorded lease conflicts: commits, pushes and edits that touched another agent's lease
        (refused, warned or overridden), with the agent, path and holder."""
        return answer(lambda: tools.conflicts(since))

    @server.tool(annotations=reads)
    def mail_inbox(
        unread: Annotated[bool, Field(description="Only messages not read yet.")] = False,
    ) -> Document:
        """Your mailbox, oldest first: other agents' messages and conflict notices about your leases.
        Read one with mail_read."""
        return answer(lambda: tools.mail_inbox(unread))

    @server.tool(annotations=writes)
    def mail_read(
        id: Annotated[str, Field(description="The message id, from mail_inbox.")],
    ) -> Document:
        """One message of yours (headers, text, attached JSON), marked read."""
        return answer(lambda: tools.mail_read(id))

    @server.tool(annotations=writes)
    def mail_send(
        to: Annotated[str, Field(description="The agent id to write to (e.g. a lease holder).")],
        subject: Annotated[str, Field(description="One line.")],
        body: Annotated[str, Field(description="The message text.")],
    ) -> Document:
        """Send a message to another agent's mailbox, e.g. to ask a lease holder when a file is free."""
        return answer(lambda: tools.mail_send(to, subject, body))

    return server


def serve(server: Any) -> None:
    """Serve on stdin/stdout until the client closes them."""
    server.run("stdio")

