"""One preflight run: choose the checks (``--only``/``--skip``/``enabled``), apply ``--fix``, run
the checks in order, build the report and record the run.

Built-in checks run first, in :data:`~maf_hooks.preflight.schema.BUILTIN_IDS` order, then the
smoke tests in the order of the configuration. One check that breaks (an unexpected exception)
fails alone; the others still run.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from typing import Callable, Optional

from maf_hooks import git
from maf_hooks.errors import UsageError
from maf_hooks.preflight import checks
from maf_hooks.preflight import report as report_mod
from maf_hooks.preflight.result import FAILED, SKIPPED, CheckResult, Outcome
from maf_hooks.preflight.runenv import RunEnv
from maf_hooks.preflight.schema import BUILTIN_IDS, SMOKE_GROUP, smoke_settings
from maf_hooks.services.documents import schema
from maf_hooks.timeutil import iso

FULL = "preflight"


@dataclass
class Options:
    only: tuple = ()
    skip: tuple = ()
    fix: bool = False
    from_ref: Optional[str] = None
    to_ref: Optional[str] = None


@dataclass
class Planned:
    id: str
    name: str
    kind: str  # "check" or the smoke test type
    spec: Optional[dict] = None  # the smoke test
    skip_reason: Optional[str] = None  # set: reported as skipped without running


@dataclass
class Run:
    report: dict
    results: list
    fixes: Optional[dict] = None
    record_note: Optional[str] = None
    planned: list = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.report["status"] == "failed"


def split_ids(values, option: str = "--only") -> list[str]:
    """The ids of repeated ``--only``/``--skip`` values, each ``ID[,ID...]``; UsageError when the
    option was given but names nothing (``--only ''``, ``--only ,``): not "no restriction"."""
    ids = [part.strip() for value in values or () for part in value.split(",") if part.strip()]
    if values and not ids:
        raise UsageError(f"{option}: no check named (got {', '.join(map(repr, values))}); give one or more "
                         f"ids separated by commas, or leave {option} out.")
    return ids


def plan(config, only=(), skip=()) -> list[Planned]:
    """What this run will report, in order; UsageError for an unknown id."""
    section = config.section("preflight")
    tests = [smoke_settings(test) for test in section.get("smoke_tests", [])]
    known = list(BUILTIN_IDS) + [test["id"] for test in tests]
    for option, ids in (("--only", only), ("--skip", skip)):
        unknown = [i for i in ids if i not in known and i != SMOKE_GROUP]
        if unknown:
            raise UsageError(f"{option}: unknown check {', '.join(map(repr, unknown))}; known: "
                             f"{', '.join(known)} (and '{SMOKE_GROUP}' for every smoke test).")

    def chosen(check_id: str, smoke: bool) -> bool:
        return not only or check_id in only or (smoke and SMOKE_GROUP in only)

    def skipped(check_id: str, smoke: bool) -> bool:
        return check_id in skip or (smoke and SMOKE_GROUP in skip)

    items = []
    for check_id in BUILTIN_IDS:
        if not chosen(check_id, False):
            continue
        item = Planned(check_id, checks.NAMES[check_id], "check")
        enabled_key = f"preflight.checks.{check_id}.enabled"
        if skipped(check_id, False):
            item.skip_reason = "skipped by --skip"
        elif not config.get(enabled_key):
            source = config.source(enabled_key)
            item.skip_reason = (f"disabled by {source[4:]}=false" if source.startswith("env:")
                                else f"disabled ({enabled_key} = false)")
        items.append(item)
    for test in tests:
        if not chosen(test["id"], True):
            continue
        item = Planned(test["id"], test["name"], test["type"], spec=test)
        if skipped(test["id"], True):
            item.skip_reason = "skipped by --skip"
        elif not test["enabled"]:
            item.skip_reason = "disabled (enabled = false)"
        items.append(item)
    return items


def check_type(items: list[Planned], only, skip) -> str:
    if not only and not skip:
        return FULL
    ids = [item for item in items if item.skip_reason is None]
    if ids and all(item.kind != "check" for item in ids):
        return "smoke_test"
    if ids and all(item.id == "reservations" for item in ids):
        return "reservation_check"
    return "custom"


def config_id(config) -> str:
    """A stable name for the configuration the run used: the file and the overlay."""
    name = os.path.basename(config.path) if config.path else "defaults"
    return f"{name}#env={config.env_name}" if config.env_name else name


def config_digest(config) -> str:
    text = json.dumps(config.section("preflight"), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def run_one(item: Planned, env: RunEnv) -> CheckResult:
    if item.skip_reason is not None:
        return CheckResult(item.id, item.name, item.kind, SKIPPED, item.skip_reason, attempts=[])
    started = env.monotonic()
    attempts: list = []
    try:
        if item.spec is not None:
            from maf_hooks.preflight import smoke

            outcome, attempts = smoke.run_smoke_test(item.spec, env)
        else:
            outcome = checks.BUILTIN[item.id](env)
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        outcome = Outcome(FAILED, f"could not run: {type(exc).__name__}: {env.redact(str(exc))}")
    duration = (env.monotonic() - started) * 1000
    if not attempts:
        attempts = [{"attempt": 1, "status": "timeout" if outcome.timed_out else outcome.status,
                     "durationMs": round(duration, 1), "message": outcome.message}]
    return CheckResult(
        item.id, item.name, item.kind, outcome.status, outcome.message, outcome.details, duration, attempts,
        outcome.findings, outcome.recommendations, outcome.annotations, outcome.fixable, outcome.timed_out,
    )


def validate_refs(env: RunEnv, from_ref: Optional[str], to_ref: Optional[str]) -> None:
    if from_ref and not to_ref:
        raise UsageError("--from-ref needs --to-ref: the range checked is FROM..TO (as the push hook sees it).")
    if to_ref and not git.verify_commit(env.context.paths, to_ref):
        raise UsageError(f"--to-ref {to_ref!r} is not a commit in this repository (fetch it first?).")
    # the all-zero sha is what CI passes for a new branch: it checks the commits on no remote
    if from_ref and from_ref != git.ZERO_SHA and not git.verify_commit(env.context.paths, from_ref):
        raise UsageError(f"--from-ref {from_ref!r} is not a commit in this repository (fetch it first?); "
                         "for a new branch, give the all-zero sha.")


def execute(env: RunEnv, options: Options, *, on_fix: Callable[[dict], None] | None = None) -> Run:
    """Plan, fix, check, report, record. Raises UsageError/ConfigError before anything runs."""
    context = env.context
    config = context.config
    only, skip = split_ids(options.only, "--only"), split_ids(options.skip, "--skip")
    items = plan(config, only, skip)
    validate_refs(env, options.from_ref, options.to_ref)
    env.from_ref, env.to_ref = options.from_ref, options.to_ref
    kind = check_type(items, only, skip)
    started_ms = env.clock()
    started = env.monotonic()
    execution_id = "pf-" + secrets.token_hex(8)
    recorder_context = {
        "config_file": env.display(config.path) if config.path else None,
        "config_digest": config_digest(config),
        "env": config.env_name,
        "only": only, "skip": skip, "fix": options.fix,
        "from_ref": options.from_ref, "to_ref": options.to_ref,
        "ci": _ci_name(env.environ),
    }
    from maf_hooks.preflight.records import Recorder
    from maf_hooks.store.preflight import PreflightRun

    record = PreflightRun(secrets.token_hex(16), config_id(config), env.agent, execution_id, kind, recorder_context,
                       started_ms)
    recorder = Recorder(context.store_location, record, environ=env.environ, clock=env.clock)
    recorder.begin()

    fixes = None
    if options.fix:
        from maf_hooks.preflight import fix

        selected = {item.id for item in items if item.skip_reason is None and item.kind == "check"}
        fixes = fix.apply(env, selected).to_json()
        if on_fix is not None:
            on_fix(fixes)

    results = []
    for item in items:
        result = run_one(item, env)
        results.append(result)
        env.progress.done(result)

    duration_ms = (env.monotonic() - started) * 1000
    status = "failed" if any(r.status == FAILED for r in results) else "passed"
    document = {
        "schema": schema("preflight.report"),
        "executionId": execution_id,
        "agentId": env.agent,
        "checkType": kind,
        "timestamp": iso(started_ms),
        "status": status,
        "durationMs": round(duration_ms, 1),
        "checks": [result.to_json() for result in results],
        "summary": report_mod.summary(results),
        "recommendations": report_mod.recommendations(results),
        "configId": config_id(config),
    }
    if fixes is not None:
        document["fixes"] = fixes
    recorder.finish(document, env.clock())
    document["recorded"] = recorder.recorded
    if status == "failed" and recorder.recorded:
        document["escalations"] = _escalate_failure(context, config, env.agent, execution_id, env.clock())
    return Run(document, results, fixes, recorder.note, items)


def _escalate_failure(context, config, agent, execution_id: str, now: int) -> list:
    """A recorded failed run counts towards `preflight_failure` escalation triggers."""
    if not config.get("escalation.paths"):
        return []  # spares opening the store
    from maf_hooks.services.escalation import open_and_deliver

    try:
        with context.store(clock=lambda: now) as store:
            return open_and_deliver(store, config, agent, "preflight_failure", {"executionId": execution_id},
                                    context.mail_root())
    except Exception as exc:  # noqa: BLE001 - the verdict stands; the escalation is best effort here
        return [f"not opened: {exc}"]


def _ci_name(environ) -> Optional[str]:
    if environ.get("GITHUB_ACTIONS") == "true":
        return "github-actions"
    if environ.get("GITLAB_CI"):
        return "gitlab-ci"
    if environ.get("CI"):
        return "ci"
    return None
