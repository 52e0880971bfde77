"""Configuration: ``[agent_hooks]``, ``[agent_hooks.auto_claim]`` and ``[preflight.checks.agents]``."""

from __future__ import annotations

import pytest

from maf_hooks import config
from maf_hooks.agent_hooks import CLIENTS
from maf_hooks.errors import ConfigError


def _load(tmp_path, text, **kwargs):
    (tmp_path / "maf.toml").write_text(text)
    return config.load(str(tmp_path), environ={}, **kwargs)


def test_agent_hooks_defaults(tmp_path):
    cfg = config.load(str(tmp_path), environ={})
    assert cfg.get("agent_hooks.clients") == []
    assert cfg.get("agent_hooks.auto_claim.enabled") is False
    assert cfg.get("agent_hooks.auto_claim.ttl_minutes") == 15
    assert cfg.get("preflight.checks.agents.required") is False
    assert cfg.get("preflight.checks.agents.enabled") is True
    assert cfg.source("agent_hooks.auto_claim.ttl_minutes") == "default"


def test_agent_hooks_values_from_file_and_overlay(tmp_path):
    cfg = _load(tmp_path, '[agent_hooks]\nclients = ["claude", "codex"]\n'
                          "[agent_hooks.auto_claim]\nenabled = true\nttl_minutes = 30\n"
                          "[preflight.checks.agents]\nrequired = true\n"
                          "[env.ci.agent_hooks.auto_claim]\nttl_minutes = 5\n", env_name="ci")
    assert cfg.get("agent_hooks.clients") == ["claude", "codex"]
    assert cfg.get("agent_hooks.auto_claim.enabled") is True
    assert cfg.get("agent_hooks.auto_claim.ttl_minutes") == 5
    assert cfg.source("agent_hooks.auto_claim.ttl_minutes") == "env-overlay:ci"
    assert cfg.get("preflight.checks.agents.required") is True


def test_agent_hooks_every_client_accepted(tmp_path):
    listed = ", ".join(f'"{name}"' for name in CLIENTS)
    assert _load(tmp_path, f"[agent_hooks]\nclients = [{listed}]\n").get("agent_hooks.clients") == list(CLIENTS)


def test_agent_hooks_json_camel_case(tmp_path):
    path = tmp_path / "maf.json"
    path.write_text('{"agentHooks": {"clients": ["gemini"], "autoClaim": {"ttlMinutes": 20}}}')
    cfg = config.load(str(tmp_path), config_path=str(path), environ={})
    assert cfg.get("agent_hooks.clients") == ["gemini"]
    assert cfg.get("agent_hooks.auto_claim.ttl_minutes") == 20


@pytest.mark.parametrize("text, expected", [
    ('[agent_hooks]\nclients = ["claude", "vim"]\n',
     "agent_hooks.clients[1]: unknown client 'vim' (expected one of " + ", ".join(CLIENTS) + ")"),
    ("[agent_hooks]\nclients = \"claude\"\n", "agent_hooks.clients: expected a list of strings"),
    ("[agent_hooks]\nclients = [1]\n", "agent_hooks.clients: expected a list of strings"),
    ("[agent_hooks.auto_claim]\nttl_minutes = 0\n", "agent_hooks.auto_claim.ttl_minutes: expected at least 1"),
    ("[agent_hooks.auto_claim]\nttl_minutes = 1441\n", "agent_hooks.auto_claim.ttl_minutes: expected at most 1440"),
    ("[agent_hooks.auto_claim]\nenabled = 'yes'\n", "agent_hooks.auto_claim.enabled: expected true or false"),
    ("[agent_hooks.auto_claim]\nttl_minute = 5\n", "agent_hooks.auto_claim.ttl_minute: unknown key (did you mean 'ttl_minutes'?)"),
    ("[agent_hooks]\nclient = []\n", "agent_hooks.client: unknown key (did you mean 'clients'?)"),
    ("[agent_hook]\n", "agent_hook: unknown key (did you mean 'agent_hooks'?)"),
    ("[preflight.checks.agents]\nrequired = 1\n", "preflight.checks.agents.required: expected true or false"),
    ('[env.ci.agent_hooks]\nclients = ["emacs"]\n', "env.ci.agent_hooks.clients[0]: unknown client 'emacs'"),
])
def test_agent_hooks_invalid_names_key_path(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert expected in str(info.value)


def test_agent_hooks_is_not_an_agent_id(tmp_path):
    """``[agents.<id>]`` stays the permissions table: an agent may be called ``agent_hooks``."""
    cfg = _load(tmp_path, "[agents.agent_hooks]\ncan_force = false\n[agent_hooks]\nclients = [\"cursor\"]\n")
    assert cfg.get("agents.agent_hooks.can_force") is False
    assert cfg.get("agent_hooks.clients") == ["cursor"]
