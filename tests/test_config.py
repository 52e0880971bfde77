"""Configuration: files, overlays, precedence, validation messages, `maf config show`."""

from __future__ import annotations

import json

import pytest

from maf_hooks import config
from maf_hooks.errors import ConfigError


def test_load_defaults_without_file(tmp_path):
    cfg = config.load(str(tmp_path), environ={})
    assert cfg.get("reservation.default_timeout_minutes") == 30
    assert cfg.get("reservation.max_timeout_minutes") == 120
    assert cfg.get("reservation.conflict_strategy") == "block"
    assert cfg.source("reservation.max_timeout_minutes") == "default"
    assert cfg.path is None


def test_load_maf_toml_then_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.maf.reservation]\ndefault_timeout_minutes = 20\n")
    cfg = config.load(str(tmp_path), environ={})
    assert cfg.get("reservation.default_timeout_minutes") == 20
    assert cfg.source("reservation.default_timeout_minutes") == "file:pyproject.toml"
    (tmp_path / "maf.toml").write_text("[reservation]\ndefault_timeout_minutes = 15\n")
    assert config.load(str(tmp_path), environ={}).get("reservation.default_timeout_minutes") == 15


def test_load_precedence_default_file_overlay_env_flag(tmp_path):
    (tmp_path / "maf.toml").write_text(
        "[reservation]\nmax_timeout_minutes = 100\ndefault_timeout_minutes = 10\n"
        "[env.ci.reservation]\nmax_timeout_minutes = 90\n"
    )
    cfg = config.load(str(tmp_path), env_name="ci", environ={})
    assert cfg.get("reservation.max_timeout_minutes") == 90
    assert cfg.source("reservation.max_timeout_minutes") == "env-overlay:ci"
    cfg = config.load(str(tmp_path), environ={"MAF_ENV": "ci", "MAF_RESERVATION_MAX_TIMEOUT": "80"})
    assert cfg.get("reservation.max_timeout_minutes") == 80
    assert cfg.source("reservation.max_timeout_minutes") == "env:MAF_RESERVATION_MAX_TIMEOUT"
    cfg = config.load(str(tmp_path), environ={"MAF_RESERVATION_MAX_TIMEOUT": "80"},
                      flags={"reservation.max_timeout_minutes": 70})
    assert cfg.get("reservation.max_timeout_minutes") == 70 and cfg.source("reservation.max_timeout_minutes") == "flag"
    assert cfg.get("reservation.default_timeout_minutes") == 10


def test_load_json_seed_layout(tmp_path):
    path = tmp_path / "maf.json"
    path.write_text(json.dumps({"reservation": {"defaultTimeoutMinutes": 45, "conflictStrategy": "warn"}}))
    cfg = config.load(str(tmp_path), config_path=str(path), environ={})
    assert cfg.get("reservation.default_timeout_minutes") == 45
    assert cfg.get("reservation.conflict_strategy") == "warn"


@pytest.mark.parametrize("text, expected", [
    ("[reservation]\nmax_timeout_minuts = 5\n", "reservation.max_timeout_minuts: unknown key (did you mean 'max_timeout_minutes'?)"),
    ("[reservation]\nconflict_strategy = 'maybe'\n", "reservation.conflict_strategy: expected one of block, warn"),
    ("[reservation]\ndefault_timeout_minutes = 'ten'\n", "reservation.default_timeout_minutes: expected a whole number"),
    ("[reservation]\ndefault_timeout_minutes = 0\n", "expected at least 1"),
    ("[reservaton]\n", "reservaton: unknown key (did you mean 'reservation'?)"),
    ("[reservation]\ndefault_timeout_minutes = 200\n", "is above reservation.max_timeout_minutes"),
    ("[env.ci.reservation]\nhook_mode = 'loud'\n", "env.ci.reservation.hook_mode: expected one of strict, warn, off"),
    ("reservation = [1]\n", "reservation: expected a table"),
])
def test_load_invalid_names_key_path(tmp_path, text, expected):
    (tmp_path / "maf.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        config.load(str(tmp_path), environ={})
    assert expected in str(info.value)


def test_load_lists_every_problem(tmp_path):
    (tmp_path / "maf.toml").write_text("[reservation]\nbad_one = 1\nconflict_strategy = 3\n[storage]\ndb_path = 5\n")
    with pytest.raises(ConfigError) as info:
        config.load(str(tmp_path), environ={})
    assert len(info.value.problems) == 3


def test_load_bad_env_variable(tmp_path):
    with pytest.raises(ConfigError, match="MAF_RESERVATION_MAX_TIMEOUT"):
        config.load(str(tmp_path), environ={"MAF_RESERVATION_MAX_TIMEOUT": "lots"})


def test_load_unknown_overlay(tmp_path):
    (tmp_path / "maf.toml").write_text("[env.ci.reservation]\nhook_mode = 'warn'\n")
    with pytest.raises(ConfigError, match="no \\[env.prod\\] overlay .*available: ci"):
        config.load(str(tmp_path), env_name="prod", environ={})


def test_load_broken_toml(tmp_path):
    (tmp_path / "maf.toml").write_text("[reservation\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(str(tmp_path), environ={})


def test_config_show_cli(repo, cli):
    (repo / "maf.toml").write_text("[reservation]\ndefault_timeout_minutes = 12\n")
    shown = cli(repo, "config", "show", "--json")
    assert shown.code == 0
    assert shown.json["values"]["reservation"]["default_timeout_minutes"] == 12
    assert shown.json["sources"]["reservation.default_timeout_minutes"] == "file:maf.toml"
    assert shown.json["sources"]["reservation.max_timeout_minutes"] == "default"
    text = cli(repo, "config", "show").out
    assert "reservation.default_timeout_minutes" in text and "file:maf.toml" in text


def test_config_invalid_cli_exit_2(repo, cli):
    (repo / "maf.toml").write_text("[reservation]\nconflict_strategy = 'maybe'\n")
    result = cli(repo, "lease", "acquire", "x", "--agent", "a")
    assert result.code == 2 and "reservation.conflict_strategy" in result.err
    assert cli(repo, "config", "validate").code == 2


def test_config_flag_and_env_option(repo, cli, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text("[reservation]\nmax_timeout_minutes = 5\ndefault_timeout_minutes = 1\n"
                     "[env.fast.reservation]\nmax_timeout_minutes = 2\n")
    result = cli(repo, "--config", str(other), "lease", "acquire", "x", "--agent", "a", "--ttl", "10m")
    assert result.code == 2 and "maximum of 5 minutes" in result.err
    result = cli(repo, "lease", "--config", str(other), "--env", "fast", "acquire", "x", "--agent", "a", "--ttl", "3m")
    assert result.code == 2 and "maximum of 2 minutes" in result.err
    assert cli(repo, "--config", str(other), "config", "validate").code == 0


def test_load_pyproject_key_paths_and_case_insensitive_env_choices(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.maf.reservation]\nmax_timeout = 5\n")
    with pytest.raises(ConfigError, match=r"tool\.maf\.reservation\.max_timeout: unknown key"):
        config.load(str(tmp_path), environ={})
    cfg = config.load(None, environ={"MAF_RESERVATION_HOOK_MODE": "Off"})
    assert cfg.get("reservation.hook_mode") == "off"


def test_load_fills_entry_defaults_after_overlay(tmp_path):
    (tmp_path / "maf.toml").write_text(
        "[escalation.targets.lead]\nmax_retries = 5\n[env.ci.escalation.targets.lead]\nenabled = false\n"
    )
    cfg = config.load(str(tmp_path), env_name="ci", environ={})
    lead = cfg.get("escalation.targets")["lead"]
    assert lead["max_retries"] == 5 and lead["enabled"] is False and lead["timeout_seconds"] == 30.0


NOT_UTF8 = b"[reservation]\nhook_mode = 'warn'\nx = '\xff'\n"  # byte 0xff on line 3


@pytest.mark.parametrize("name, text", [
    ("c.toml", NOT_UTF8),
    ("c.json", b'{"reservation": {"hookMode": "\xff"}}'),
    ("pyproject.toml", b"[tool.maf.reservation]\nhook_mode = '\xff'\n"),
], ids=["toml", "json", "pyproject"])
def test_load_config_option_file_not_utf8(tmp_path, name, text):
    path = tmp_path / "elsewhere" / name
    path.parent.mkdir()
    path.write_bytes(text)
    with pytest.raises(ConfigError, match=r"is not valid UTF-8 \(byte 0xff on line") as info:
        config.load(str(tmp_path), config_path=str(path), environ={})
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name, text", [
    ("maf.toml", NOT_UTF8),
    ("pyproject.toml", b"[project]\nname = 'x'\n[tool.maf.reservation]\nhook_mode = '\xff'\n"),
], ids=["maf.toml", "pyproject.toml"])
def test_load_repository_file_not_utf8(tmp_path, name, text):
    (tmp_path / name).write_bytes(text)
    with pytest.raises(ConfigError, match=r"is not valid UTF-8 \(byte 0xff on line (3|4)\)") as info:
        config.load(str(tmp_path), environ={})
    assert str(tmp_path / name) in str(info.value)


def test_config_not_utf8_cli_exit_2(repo, cli, tmp_path):
    other = tmp_path / "c.toml"
    other.write_bytes(b"x = \xff\n")
    (repo / "maf.toml").write_bytes(b"x = \xff\n")
    for result in (cli(repo, "--config", str(other), "config", "show"), cli(repo, "config", "show")):
        assert result.code == 2, result.err
        assert "is not valid UTF-8" in result.err and "internal error" not in result.err
        assert len(result.err.strip().splitlines()) == 1


def test_load_refuses_non_finite_numbers(tmp_path):
    (tmp_path / "maf.toml").write_text("[escalation.smtp]\ntimeout_seconds = nan\n")
    with pytest.raises(ConfigError, match=r"escalation\.smtp\.timeout_seconds: expected a finite number"):
        config.load(str(tmp_path), environ={})


# --- limits: nesting, ranges, huge numbers (exit 2 naming the key, never an internal error) ----

def _lease_list(cli, repo, env=None):
    from maf_hooks.cli.lease import lease_group

    return cli(repo, "list", env=env, command=lease_group, prog="maf-lease")


def _refused(result, *expected):
    assert result.code == 2, (result.code, result.err)
    assert "internal error" not in result.err and "Traceback" not in result.err
    for text in expected:
        assert text in result.err, result.err


@pytest.mark.parametrize("text, expected", [
    # too deep for the TOML parser itself: the file is named
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply to read"),
    ("[reservation]\nx = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "nested too deeply to read"),
    # parsed, but past the limit of 32: the key path is named
    ("[reservation]\nmax_timeout_minutes = " + "[" * 40 + "]" * 40 + "\n",
     "reservation.max_timeout_minutes[0][0][0]"),
    ("[preflight]\n" + "".join(f"a{i}." for i in range(50)) + "z = 1\n", "preflight.a0.a1.a2"),
])
def test_deep_toml_nesting_exit_2(repo, cli, text, expected):
    (repo / "maf.toml").write_text(text)
    for result in (cli(repo, "config", "validate"), _lease_list(cli, repo)):
        _refused(result, expected, "maf.toml")
        assert "32" in result.err


def test_deep_json_nesting_exit_2(repo, cli):
    deep = repo / "deep.json"
    deep.write_text("{" + '"a": {' * 5000 + "}" * 5001)
    _refused(cli(repo, "--config", str(deep), "config", "validate"), "deep.json", "nested too deeply to read")
    run: list = ["x"]
    for _ in range(40):
        run = [run]
    deep.write_text(json.dumps({"preflight": {"smokeTests": [{"run": run}]}}))
    result = cli(repo, "--config", str(deep), "config", "validate")
    _refused(result, "preflight.smokeTests[0].run[0][0]", "nested more than 32 levels")


@pytest.mark.parametrize("text, expected", [
    ("[reservation]\nmax_timeout_minutes = 9223372036854775807\n",
     "reservation.max_timeout_minutes: expected at most 52560000, got 9223372036854775807"),
    ("[reservation]\nmax_timeout_minutes = 9223372036854775807\ndefault_timeout_minutes = 9223372036854775807\n",
     "reservation.default_timeout_minutes: expected at most 52560000"),
    ("[reservation]\nmax_timeout_minutes = " + "9" * 5000 + "\n", "maf.toml is not valid TOML"),
    ("[preflight]\ntimeout_seconds = 1e300\n", "preflight.timeout_seconds: expected at most 86400, got 1e+300"),
    ("[preflight]\nretry_count = -1\n", "preflight.retry_count: expected at least 0, got -1"),
    ("[preflight]\nretry_count = 1000000\n", "preflight.retry_count: expected at most 100"),
    ("[mail]\ndedup_minutes = -5\n", "mail.dedup_minutes: expected at least 0, got -5"),
    ("[[preflight.smoke_tests]]\nid = 'x'\ntype = 'database'\nsqlite = 'a.db'\nquery = 'select 1'\n"
     "expected_rows = -1\n", "preflight.smoke_tests[0].expected_rows: expected at least 0, got -1"),
    ("[escalation.smtp]\nport = 70000\n", "escalation.smtp.port: expected at most 65535"),
    ("[agents.bob]\nmax_lease_timeout_minutes = 99999999999999999\n",
     "agents.bob.max_lease_timeout_minutes: expected at most 52560000"),
    ("[reservation]\nmax_timeout_minutes = '" + "x" * 10000 + "'\n", "(10002 characters)"),
])
def test_numbers_out_of_range_exit_2(repo, cli, text, expected):
    (repo / "maf.toml").write_text(text)
    for result in (cli(repo, "config", "validate"), _lease_list(cli, repo)):
        _refused(result, expected)
    assert len(_lease_list(cli, repo).err) < 1000


def test_env_variable_out_of_range_exit_2(repo, cli):
    huge = {"MAF_RESERVATION_MAX_TIMEOUT": "99999999999999999999"}
    expected = ("MAF_RESERVATION_MAX_TIMEOUT (for reservation.max_timeout_minutes): expected at most 52560000, "
                "got 99999999999999999999")
    _refused(cli(repo, "config", "validate", env=huge), expected)
    _refused(_lease_list(cli, repo, env=huge), expected)
    acquire = cli(repo, "lease", "acquire", "x", "--agent", "a", env={**huge, "MAF_RESERVATION_DEFAULT_TIMEOUT": huge[
        "MAF_RESERVATION_MAX_TIMEOUT"]})
    _refused(acquire, "MAF_RESERVATION_DEFAULT_TIMEOUT (for reservation.default_timeout_minutes)")
    _refused(_lease_list(cli, repo, env={"MAF_PREFLIGHT_RETRY_COUNT": "-3"}), "MAF_PREFLIGHT_RETRY_COUNT", "at least 0")
    _refused(_lease_list(cli, repo, env={"MAF_RESERVATION_MAX_TIMEOUT": "9" * 5000}),
             "MAF_RESERVATION_MAX_TIMEOUT", "expected a whole number", "characters)")


def test_json_layout_goes_through_the_same_limits(repo, cli):
    path = repo / "maf.json"
    path.write_text(json.dumps({"reservation": {"maxTimeoutMinutes": 2**63 - 1},
                                "preflight": {"retryCount": -1, "timeoutSeconds": 10**6}}))
    result = cli(repo, "--config", str(path), "config", "validate")
    _refused(result, "reservation.maxTimeoutMinutes: expected at most 52560000",
             "preflight.retryCount: expected at least 0", "preflight.timeoutSeconds: expected at most 86400")
    path.write_text('{"reservation": {"maxTimeoutMinutes": ' + "9" * 5000 + "}}")
    _refused(cli(repo, "--config", str(path), "config", "validate"), "maf.json is not valid JSON")


@pytest.mark.parametrize("value", ['"0400"', '"0200"', '"4660"', '"rw-rw----"', '"0o660"', "660", '"06600"'])
def test_storage_file_mode_validated(repo, cli, value):
    (repo / "maf.toml").write_text(f"[storage]\nfile_mode = {value}\n")
    _refused(cli(repo, "config", "validate"), "storage.file_mode")


def test_storage_file_mode_accepted(repo, cli):
    (repo / "maf.toml").write_text('[storage]\nfile_mode = "0640"\n')
    assert cli(repo, "config", "validate").code == 0
    assert cli(repo, "config", "show", "--json").json["values"]["storage"]["file_mode"] == "0640"


def test_a_nul_character_in_a_text_setting_is_refused(repo, cli):
    """A NUL cannot be in a path: once it made the hook look for a database that cannot exist
    (and so let every change through)."""
    (repo / "maf.toml").write_text('[storage]\ndb_path = ".git/maf/runtime.db\\u0000x"\n')
    result = cli(repo, "config", "validate")
    assert result.code == 2 and "storage.db_path" in result.err and "NUL" in result.err
    (repo / "maf.toml").write_text('[mail]\nroot = "a\\u0000b"\n')
    result = cli(repo, "config", "validate")
    assert result.code == 2 and "mail.root" in result.err
