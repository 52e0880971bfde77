"""The ``python`` check: the interpreter's version and the required packages (PEP 508
requirements, markers evaluated in that interpreter), in this interpreter or in
``[preflight.checks.python] interpreter`` (which runs :mod:`maf_hooks.preflight.probe`)."""

from __future__ import annotations

import json
import os
import subprocess

from maf_hooks.preflight.result import FAILED, PASSED, Outcome, summarize
from maf_hooks.preflight.runenv import RunEnv


def interpreter_info(interpreter: str | None, names: list[str], timeout: float) -> dict:
    """:func:`maf_hooks.preflight.probe.probe` in this interpreter, or in ``interpreter``."""
    from maf_hooks.preflight import probe

    if not interpreter:
        return probe.probe(names)
    proc = subprocess.run(
        [os.path.expanduser(interpreter), probe.__file__, json.dumps(names)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
    )
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"{interpreter} exited {proc.returncode}: {message[0]}")
    return json.loads(proc.stdout.decode("utf-8"))


def _satisfies(specifier, version: str) -> bool:
    from packaging.version import InvalidVersion

    try:
        return specifier.contains(version, prereleases=True)
    except InvalidVersion:  # a distribution with a non-PEP 440 version satisfies no specifier
        return False


def check_python(env: RunEnv) -> Outcome:
    from packaging.version import InvalidVersion, Version

    settings = env.check_settings("python")
    requirements = []
    if settings["required_packages"]:
        from packaging.requirements import Requirement  # the slower import, only when needed

        requirements = [Requirement(text) for text in settings["required_packages"]]
    interpreter = settings.get("interpreter")
    try:
        info = interpreter_info(interpreter, [r.name for r in requirements], env.settings["timeout_seconds"])
    except subprocess.TimeoutExpired:
        return Outcome(FAILED, f"the interpreter {interpreter} did not answer within "
                               f"{env.settings['timeout_seconds']:g} s", timed_out=True)
    except (OSError, RuntimeError, ValueError) as exc:
        return Outcome(FAILED, f"cannot run the interpreter {interpreter}: {exc}",
                       recommendations=["Fix [preflight.checks.python] interpreter: a path or a "
                                        "command on PATH."])
    minimum = settings["min_version"]
    details = {"executable": info["executable"], "version": info["version"], "min_version": minimum,
               "packages": {}}
    findings, recommendations = [], []
    try:
        too_old = Version(info["version"]) < Version(minimum)
    except InvalidVersion:
        too_old = False
    if too_old:
        findings.append(f"Python {info['version']} is older than {minimum}")
        recommendations.append(f"Use Python {minimum} or newer"
                               + (" (set [preflight.checks.python] interpreter)." if not interpreter else "."))
    installed_text, missing = [], []
    for requirement in requirements:
        installed = info["packages"].get(requirement.name)
        spec = str(requirement.specifier)
        entry = {"required": spec or "any", "installed": installed}
        if requirement.marker is not None and not requirement.marker.evaluate(info["markers"]):
            entry["status"] = "not needed here (marker)"
        elif installed is None:
            entry["status"] = "missing"
            findings.append(f"{requirement.name} is not installed")
            missing.append(str(requirement))
        elif requirement.specifier and not _satisfies(requirement.specifier, installed):
            entry["status"] = "wrong version"
            findings.append(f"{requirement.name} {installed} does not satisfy {spec}")
            missing.append(str(requirement))
        else:
            entry["status"] = "ok"
            installed_text.append(f"{requirement.name} {installed}")
        details["packages"][requirement.name] = entry
    if missing:
        quoted = " ".join(f"'{r}'" for r in missing)
        recommendations.append(f"Install the required packages: {interpreter or 'python'} -m pip install {quoted}")
    if findings:
        return Outcome(FAILED, summarize(findings), details, findings, recommendations)
    packages = ", ".join(installed_text) if installed_text else "no packages required"
    return Outcome(PASSED, f"Python {info['version']} (at least {minimum}); {packages}", details)
