"""The board in a real headless browser (Debian's chromium through Playwright): it redraws what
changes after it loaded without a reload, shows no console error, fits a phone and a desktop,
and takes its token from the address once. The screenshots the docs show are taken here
(set MAF_BOARD_SCREENSHOTS=docs/images to write them there too)."""

from __future__ import annotations

import os
import shutil
import struct

import pytest
from boardserver import Board
from conftest import git

from maf_hooks.hooks import run_hook

# read before the tests clear MAF_* variables (relative to where pytest started)
SCREENSHOTS = os.path.abspath(os.environ["MAF_BOARD_SCREENSHOTS"]) if os.environ.get("MAF_BOARD_SCREENSHOTS") else None
WAIT_MS = 60_000  # a generous bound against hanging, not a timing assertion
TOKEN = "b0ard-t0ken-for-the-browser-31d7"


def commit_attempt(repo, agent: str, name: str, **env: str) -> int:
    """``agent`` stages ``name`` and runs the pre-commit check, as `git commit` would."""
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{agent} was here\n")
    git("add", "--", name, cwd=repo)
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "GIT_CONFIG_NOSYSTEM": "1",
               "MAF_AGENT_ID": agent, **env}
    code = run_hook("commit", environ=environ, cwd=str(repo))
    git("reset", "-q", "--", name, cwd=repo)
    return code


def team_at_work(repo, cli) -> None:
    """Three agents: leases with reasons, heartbeats, a refused commit and an override."""
    for args in (("src/api/", "--agent", "alice", "--ttl", "45m", "--reason", "refactor the API client"),
                 ("docs/*.md", "--agent", "bob", "--ttl", "20m", "--shared", "--reason", "release notes"),
                 ("migrations/", "--agent", "carol", "--ttl", "8m", "--reason", "schema v17")):
        assert cli(repo, "lease", "acquire", *args).code == 0
    for agent, status in (("alice", "moving endpoints to v2"), ("bob", "writing the changelog"), ("carol", "")):
        assert cli(repo, "lease", "heartbeat", "--agent", agent, *(["--status", status] if status else [])).code == 0
    assert commit_attempt(repo, "bob", "src/api/client.py") == 1
    assert commit_attempt(repo, "carol", "src/api/auth.py", MAF_RESERVATION_OVERRIDE="1",
                          MAF_OVERRIDE_REASON="hotfix for the login outage") == 0


@pytest.fixture
def board(repo, cli):
    team_at_work(repo, cli)
    started = Board(repo)
    yield started
    started.stop()


def watch(page) -> list[str]:
    """The page's console errors and uncaught exceptions, as they happen."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def png_width(path) -> int:
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">I", head[16:20])[0]


def shoot(page, tmp_path, width: int):
    path = tmp_path / f"board-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    assert png_width(path) == width
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        shutil.copy(path, os.path.join(SCREENSHOTS, path.name))
    return path


def test_the_board_redraws_new_leases_and_escalations_without_a_reload(browser, board, repo, cli, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    errors = watch(page)
    page.goto(board.url)
    page.wait_for_selector("#state.ok", timeout=WAIT_MS)
    assert page.locator("#leases tbody tr").count() == 3
    assert "refactor the API client" in page.locator("#leases").inner_text()
    assert "blocked" in page.locator("#conflicts").inner_text()
    assert "hotfix for the login outage" in page.locator("#overrides").inner_text()
    assert page.locator("#escalations").inner_text().count("No open escalations.") == 1
    loaded = page.evaluate("performance.timeOrigin")

    taken = cli(repo, "lease", "acquire", "tests/e2e/", "--agent", "dave", "--reason", "flaky login test", "--json")
    [lease] = taken.json["granted"]
    row = page.wait_for_selector(f'#leases tr[data-id="{lease["id"]}"]', timeout=WAIT_MS)
    assert all(text in row.inner_text() for text in ("tests/e2e/", "dave", "exclusive", "flaky login test"))
    opened = cli(repo, "escalate", "--agent-id", "bob", "--error-context", "commit refused three times on src/api/",
                 "--bead-id", "bd-12", "--target", "lead", "--priority", "high", "--json")
    assert opened.code == 0, opened.err
    row = page.wait_for_selector(f'#escalations tr[data-id="{opened.json["escalationId"]}"]', timeout=WAIT_MS)
    assert all(text in row.inner_text() for text in ("1", "pending", "bob", "commit refused three times", "lead"))
    assert page.evaluate("performance.timeOrigin") == loaded  # the same document: no reload
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    shoot(page, tmp_path, 390)

    wide = browser.new_page(viewport={"width": 1280, "height": 900})
    errors += watch(wide)
    wide.goto(board.url)
    wide.wait_for_selector(f'#escalations tr[data-id="{opened.json["escalationId"]}"]', timeout=WAIT_MS)
    assert wide.locator("#leases thead").is_visible() and not page.locator("#leases thead").is_visible()
    assert wide.evaluate("document.documentElement.scrollWidth") <= 1280
    shoot(wide, tmp_path, 1280)
    page.close()
    wide.close()
    assert errors == []


def test_the_page_trades_the_token_in_its_address_for_a_cookie(browser, repo):
    served = Board(repo, "--token-env", "BOARD_TOKEN", env={"BOARD_TOKEN": TOKEN})
    try:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        errors = watch(page)
        page.goto(served.url + f"?token={TOKEN}")
        page.wait_for_selector("#state.ok", timeout=WAIT_MS)
        assert page.url == served.url and TOKEN not in page.url  # gone from the address bar
        assert page.evaluate("document.cookie") == ""  # HttpOnly: the page's scripts never see it
        [cookie] = context.cookies()
        assert cookie["httpOnly"] and TOKEN not in cookie["value"]
        page.reload()  # the cookie carries on
        page.wait_for_selector("#state.ok", timeout=WAIT_MS)
        assert errors == []
        context.close()
        stranger = browser.new_page()  # another browser profile, no token: refused
        assert stranger.goto(served.url).status == 401
        stranger.close()
    finally:
        served.stop()
