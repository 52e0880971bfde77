"""The outputs of a run: the JSON report, JUnit XML, GitHub workflow annotations, human lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from maf_hooks.preflight.result import FAILED, PASSED, SKIPPED, WARNING, Annotation, CheckResult

if TYPE_CHECKING:
    from maf_hooks.errors import ConfigError
    from maf_hooks.preflight.runner import Planned

LABELS = {PASSED: "PASS", WARNING: "WARN", FAILED: "FAIL", SKIPPED: "SKIP"}
COLOURS = {PASSED: "green", WARNING: "yellow", FAILED: "red", SKIPPED: "bright_black"}


def summary(results: Iterable[CheckResult]) -> dict:
    counts = {"passed": 0, "warnings": 0, "failed": 0, "skipped": 0}
    key = {PASSED: "passed", WARNING: "warnings", FAILED: "failed", SKIPPED: "skipped"}
    for result in results:
        counts[key[result.status]] += 1
    return counts


def recommendations(results: Iterable[CheckResult]) -> list[str]:
    """What to do about the failures and warnings, each once, in check order."""
    seen: dict[str, None] = {}
    for result in results:
        if result.status in (FAILED, WARNING) or result.fixable:
            for text in result.recommendations:
                seen.setdefault(text, None)
    return list(seen)


# --- JUnit ------------------------------------------------------------------------------------

def _seconds(ms) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def junit_xml(report: dict, results: list[CheckResult]) -> bytes:
    """One ``testsuite`` of one ``testcase`` per check, valid against the Jenkins xunit plugin's
    JUnit schema (junit-10.xsd: ``skipped`` only on ``testsuite``). JUnit has no warning: a warning
    passes, its ``system-out`` starts ``WARNING:``, and the suite's ``warnings`` property counts them."""
    import socket  # only for --junit
    import xml.etree.ElementTree as ET
    counts = report["summary"]
    totals = {
        "name": "maf-preflight",
        "tests": str(len(results)),
        "failures": str(counts["failed"]),
        "errors": "0",
        "time": _seconds(report["durationMs"]),
    }
    suites = ET.Element("testsuites", totals)
    suite = ET.SubElement(suites, "testsuite", {**totals, "skipped": str(counts["skipped"]),
                                                "timestamp": report["timestamp"].rstrip("Z"),
                                                "hostname": socket.gethostname() or "localhost"})
    properties = ET.SubElement(suite, "properties")
    for name in ("executionId", "agentId", "checkType", "configId"):
        ET.SubElement(properties, "property", {"name": name, "value": str(report.get(name) or "")})
    ET.SubElement(properties, "property", {"name": "warnings", "value": str(counts["warnings"])})
    for result in results:
        case = ET.SubElement(suite, "testcase", {
            "classname": "maf-preflight." + ("checks" if not result.smoke else "smoke_tests"),
            "name": label(result),
            "time": _seconds(result.duration_ms),
        })
        body = "\n".join([result.message, *result.findings])
        details = result.details
        for key, title in (("stdout_tail", "standard output (last 4 KB)"), ("stderr_tail", "standard error (last 4 KB)"),
                           ("body_tail", "response body (last 4 KB)")):
            if details.get(key):
                body += f"\n--- {title} ---\n{details[key]}"
        if len(result.attempts) > 1:
            body += "\n--- attempts ---\n" + "\n".join(
                f"{a['attempt']}: {a['status']} in {a['durationMs']:.0f} ms: {a['message']}" for a in result.attempts)
        if result.status == FAILED:
            failure = ET.SubElement(case, "failure", {"message": result.message,
                                                      "type": "timeout" if result.timed_out else "failed"})
            failure.text = body
        elif result.status == SKIPPED:
            ET.SubElement(case, "skipped", {"message": result.message})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = ("WARNING: " if result.status == WARNING else "") + body
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


# --- GitHub -----------------------------------------------------------------------------------

def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def config_annotations(exc: ConfigError, root: str | None) -> list[str]:
    """``::error`` workflow commands for a configuration that cannot be used: on its file, at the
    line and column where it stopped parsing; one per problem of an invalid one, at the line
    that sets its key (where the lines tell it)."""
    import os  # only on GitHub Actions

    from maf_hooks.config_read import key_position

    def props(line: int | None, column: int | None) -> str:
        found = []
        if exc.file:
            inside = os.path.relpath(exc.file, root) if root else ".."
            found.append(f"file={_escape_property(exc.file if inside.startswith('..') else inside)}")
            found += [f"{key}={value}" for key, value in (("line", line), ("col", column)) if value is not None]
        found.append(f"title={_escape_property('maf-preflight configuration')}")
        return ",".join(found)

    if not exc.problems:
        return [f"::error {props(exc.line, exc.column)}::{_escape_data(str(exc))}"]
    annotations = []
    for message in exc.problems:  # "key.path: what is wrong": at the line that sets the key
        at = key_position(exc.file, message.split(":", 1)[0]) if exc.file else None
        annotations.append(f"::error {props(*(at or (None, None)))}::{_escape_data(message)}")
    return annotations


def github_annotations(results: Iterable[CheckResult]) -> list[str]:
    """``::error``/``::warning`` workflow commands for every failed or warning check."""
    lines = []
    for result in results:
        if result.status not in (FAILED, WARNING):
            continue
        level = "error" if result.status == FAILED else "warning"
        annotations = result.annotations or [Annotation(level, result.message)]
        for annotation in annotations:
            props = [f"title={_escape_property('maf-preflight ' + result.id)}"]
            if annotation.file:
                props.insert(0, f"file={_escape_property(annotation.file)}")
            lines.append(f"::{annotation.level} {','.join(props)}::{_escape_data(annotation.message)}")
    return lines


# --- people -----------------------------------------------------------------------------------

def duration_text(ms: float) -> str:
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def label(result: CheckResult | Planned) -> str:
    return result.name if result.name == result.id else f"{result.name} [{result.id}]"
