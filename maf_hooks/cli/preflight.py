"""`maf preflight` / `maf-preflight`: environment checks and smoke tests, one verdict.

Exit codes: 0 nothing failed (warnings allowed), 1 a check failed, 2 invalid configuration or
usage, 3 the repository or the lease database could not be read at all.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import click

from maf_hooks.cli.errors import entry
from maf_hooks.cli.help_text import document
from maf_hooks.cli.options import config_options, json_option, version_option
from maf_hooks.cli.output import emit_json, styled, table
from maf_hooks.context import Context
from maf_hooks.core.text import shown
from maf_hooks.errors import ConfigError, UsageError
from maf_hooks.services import documents

EXAMPLES = """
\b
Examples:
  maf-preflight                          every check; exit 1 if one fails
  maf-preflight --fix                    repair what it can, then check
  maf-preflight --only python,environment --json
  maf-preflight --skip smoke --junit reports/preflight.xml
  maf-preflight --only database --thorough   the full integrity check
  maf-preflight --only reservations --from-ref origin/main --to-ref HEAD
  maf-preflight --validate-config
  maf-preflight history
"""


class Seconds(click.ParamType):
    """A positive, finite number of seconds (``float()`` alone also takes nan and inf)."""

    name = "seconds"

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and number > 0):
            self.fail(f"{value!r} is not a positive finite number of seconds (such as 30 or 2.5).", param, ctx)
        return number


def _context(ctx: click.Context, config_path, env_name, flags: dict) -> Context:
    parent = ctx.find_object(Context)
    if parent is not None:
        config_path = config_path or parent.config_path
        env_name = env_name or parent.env_name
    context = Context(config_path=config_path, env_name=env_name, flags=flags)
    ctx.obj = context
    return context


OUTPUT_LINES = 5  # of a failed command's output, under its line (the report keeps the last 4 KB)


class CliProgress:
    """The runner's progress (:class:`maf_hooks.preflight.runenv.Progress`) for people: result
    lines as each check ends; on a terminal a transient "running ..." line on stderr (rich's
    status spinner, cleared when the check ends), elsewhere (CI logs) one stderr line when a
    smoke test starts or is retried. (Not a subclass, so that `maf` commands other than preflight
    do not import the preflight package.)"""

    def __init__(self, human: bool, width: int):
        from maf_hooks.cli.output import console

        self.human = human
        self.width = width
        self.err = console(err=True)
        self.status: Any = None  # rich's Status while a "running ..." line is shown

    def _say(self, text: str) -> None:
        if self.err.is_interactive:
            if self.status is None:
                self.status = self.err.status(text, spinner="dots")
                self.status.start()
            else:
                self.status.update(text)
        elif self.human:
            click.echo(f"maf-preflight: {text}", err=True)

    def _clear(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def start(self, check_id, name, attempt, attempts, timeout):
        of = f", attempt {attempt} of {attempts}" if attempts > 1 else ""
        self._say(f"running {check_id} (timeout {timeout:g} s{of}) ...")

    def retry(self, check_id, name, attempt, attempts, delay):
        self._say(f"{check_id} failed; retrying in {delay:g} s (attempt {attempt} of {attempts}) ...")

    def done(self, result) -> None:
        from maf_hooks.preflight.report import COLOURS, LABELS, duration_text, label
        from maf_hooks.preflight.result import FAILED, WARNING

        self._clear()
        if not self.human:
            return
        status = styled(LABELS[result.status], COLOURS[result.status] + (" bold" if result.status == FAILED else ""))
        click.echo(f"{status}  {label(result):<{self.width}}  {duration_text(result.duration_ms):>7}  {shown(result.message)}")
        if result.status in (FAILED, WARNING) and len(result.findings) > 1:
            for finding in result.findings:
                click.echo(f"      - {shown(finding)}")
        if result.status == FAILED:
            tail = result.details.get("stderr_tail") or result.details.get("stdout_tail") or ""
            for line in tail.rstrip("\n").splitlines()[-OUTPUT_LINES:]:
                click.echo(f"      | {line}")


def _write(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


@click.group("preflight", invoke_without_command=True, epilog=EXAMPLES, subcommand_metavar="[history]",
             context_settings={"help_option_names": ["-h", "--help"]})
@version_option  # maf-preflight --version
@config_options
@click.option("--agent-id", "agent_id", metavar="ID",
              help="Acting agent (else MAF_AGENT_ID, git maf.agentId, git user.email).")
@click.option("--check-only", is_flag=True, help="Change nothing (the default).")
@click.option("--fix", is_flag=True,
              help="First create/migrate the lease database, create the mail root, install the git hooks "
                   "and end expired leases, printing each change; then check.")
@click.option("--only", multiple=True, metavar="ID[,ID...]",
              help="Run only these checks or smoke tests ('smoke': every smoke test).")
@click.option("--skip", multiple=True, metavar="ID[,ID...]", help="Do not run these (reported as skipped).")
@json_option
@click.option("--report", "report_flag", is_flag=True,
              help="Write the JSON report: to --output PATH, else on stdout (as --json).")
@click.option("--output", "output_path", metavar="PATH", type=click.Path(dir_okay=False),
              help="File to write the JSON report to.")
@click.option("--junit", "junit_path", metavar="PATH", type=click.Path(dir_okay=False),
              help="Also write JUnit XML (one test case per check) to PATH.")
@click.option("--timeout", type=Seconds(), metavar="SECONDS",
              help="Default timeout of a smoke test (preflight.timeout_seconds).")
@click.option("--retry", type=click.IntRange(min=0), metavar="COUNT",
              help="Default retries of a failed smoke test (preflight.retry_count).")
@click.option("--validate-config", is_flag=True,
              help="Validate the configuration, smoke tests included, and stop (exit 0 valid, 2 invalid).")
@click.option("--thorough", is_flag=True, default=None,
              help="The database check runs the full integrity_check instead of quick_check "
                   "(preflight.checks.database.thorough).")
@click.option("--from-ref", metavar="REF", help="With --to-ref: check the paths changed in FROM..TO, as the push hook.")
@click.option("--to-ref", metavar="REF", help="The last commit of the range to check.")
@click.pass_context
def preflight_command(ctx: click.Context, config_path, env_name, agent_id, check_only, fix, only, skip, as_json,
                      report_flag, output_path, junit_path, timeout, retry, validate_config, thorough, from_ref, to_ref):
    """Check the environment before work starts: Python and packages, environment variables, MCP
    configuration, the lease database, the git hooks, reservations, and the configured smoke tests.
    """
    flags = {"preflight.timeout_seconds": timeout, "preflight.retry_count": retry,
             "preflight.checks.database.thorough": thorough}
    context = _context(ctx, config_path, env_name, flags)
    if ctx.invoked_subcommand is not None:
        return 0
    if check_only and fix:
        raise UsageError("--check-only and --fix contradict each other: give one (checking only is the default).")
    json_out = as_json or (report_flag and not output_path)
    if context.environ.get("GITHUB_ACTIONS") == "true":
        _annotate_config(context, to_stderr=json_out)
    if validate_config:
        return _validate(context, as_json)
    return _run(context, agent_id=agent_id, fix=fix, only=only, skip=skip, json_out=json_out,
                output_path=output_path, junit_path=junit_path, from_ref=from_ref, to_ref=to_ref)


def _annotate_config(context: Context, *, to_stderr: bool) -> None:
    """A configuration that cannot be used, as GitHub annotations (the error itself follows: exit 2)."""
    from maf_hooks.preflight.report import config_annotations

    try:
        context.config  # noqa: B018 - loading it is what may fail
    except ConfigError as exc:
        for line in config_annotations(exc, context.root):
            click.echo(line, err=to_stderr)


def _validate(context: Context, as_json: bool) -> int:
    from maf_hooks.preflight.runner import plan

    try:
        config = context.config
    except ConfigError as exc:
        if not as_json:
            raise
        emit_json(documents.stamped("preflight.config", {"valid": False, "problems": exc.problems or [str(exc)]}))
        return 2
    items = plan(config)
    tests = [item.id for item in items if item.kind != "check"]
    if as_json:
        emit_json(documents.stamped("preflight.config", {"valid": True, "file": config.path, "env": config.env_name,
                   "checks": [item.id for item in items if item.kind == "check"], "smoke_tests": tests}))
    else:
        click.echo(f"configuration is valid ({config.path or 'defaults only'}): "
                   f"{len(items) - len(tests)} checks, {len(tests)} smoke tests")
    return 0


def _run(context: Context, *, agent_id, fix, only, skip, json_out, output_path, junit_path, from_ref, to_ref) -> int:
    from maf_hooks.preflight import report as report_mod
    from maf_hooks.preflight import runner
    from maf_hooks.preflight.runenv import RunEnv
    from maf_hooks.preflight.runner import execute as run_checks

    config = context.config  # ConfigError (exit 2) before anything runs
    agent = context.agent(agent_id, required=False)
    items = runner.plan(config, runner.split_ids(only, "--only"), runner.split_ids(skip, "--skip"))
    width = min(max((len(report_mod.label(item)) for item in items), default=10), 60)
    progress = CliProgress(human=not json_out, width=width)
    env = RunEnv(context, agent=agent, progress=progress)

    def show_fixes(fixes: dict) -> None:
        if json_out:
            return
        for change in fixes["changes"]:
            click.echo(f"fixed: {change}")
        for failure in fixes["failures"]:
            click.echo(styled(f"not fixed: {failure}", "red"))
        if not fixes["changes"] and not fixes["failures"]:
            click.echo("fixed: nothing needed fixing")

    run = run_checks(env, runner.Options(only=only, skip=skip, fix=fix, from_ref=from_ref, to_ref=to_ref),
                     on_fix=show_fixes)
    document = run.report
    if output_path:
        _write(output_path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
    if junit_path:
        _write(junit_path, report_mod.junit_xml(document, run.results))
    if json_out:
        emit_json(document)
    else:
        _summary(document, run)
        if output_path:
            click.echo(f"report written to {output_path}")
        if junit_path:
            click.echo(f"JUnit XML written to {junit_path}")
    if context.environ.get("GITHUB_ACTIONS") == "true":
        for line in report_mod.github_annotations(run.results):
            click.echo(line, err=json_out)
    return 1 if run.failed else 0


def _summary(document: dict, run) -> None:
    from maf_hooks.preflight.report import duration_text
    from maf_hooks.preflight.result import plural

    counts = document["summary"]
    failed = document["status"] == "failed"
    verdict = styled(f"preflight {document['status']}", "bold red" if failed else "bold green")
    click.echo(f"{verdict}: {counts['passed']} passed, {plural(counts['warnings'], 'warning')}, {counts['failed']} failed, "
               f"{counts['skipped']} skipped in {duration_text(document['durationMs'])} "
               f"({document['executionId']}, agent {document['agentId'] or 'unknown'})")
    if document["recommendations"]:
        click.echo("recommendations:")
        for text in document["recommendations"]:
            click.echo(f"  - {shown(text)}")
    if run.record_note and "no lease database" not in run.record_note:
        click.echo(styled(run.record_note, "dim"))


@preflight_command.command("history")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@click.option("--agent", metavar="ID", help="Only this agent's runs.")
@click.option("--status", type=click.Choice(["running", "passed", "failed", "pending", "timeout"]),
              help="Only runs with this status.")
@json_option
@click.pass_obj
def history_command(context: Context, limit, agent, status, as_json):
    """Recent preflight runs recorded in the lease database, newest first."""
    from maf_hooks.preflight.records import history

    runs = history(context.store_location, environ=context.environ, limit=limit, agent=agent, status=status)
    if as_json:
        emit_json(documents.stamped("preflight.history", {"runs": runs}))
        return 0
    if not runs:
        click.echo("No preflight runs recorded.")
        return 0
    rows = []
    for run in runs:
        counts = run["summary"] or {}
        checks = "/".join(str(counts.get(k, "-")) for k in ("passed", "warnings", "failed", "skipped"))
        duration = f"{run['durationMs'] / 1000:.2f} s" if run["durationMs"] is not None else ""
        rows.append([run["createdAt"], run["status"], run["agentId"] or "", run["checkType"], checks,
                     duration, run["executionId"], (run["errorMessage"] or "")[:80]])
    table(["WHEN", "STATUS", "AGENT", "TYPE", "PASS/WARN/FAIL/SKIP", "DURATION", "EXECUTION", "FAILURES"], rows)
    return 0


preflight_main = entry(document(preflight_command, "preflight"), "maf-preflight")
