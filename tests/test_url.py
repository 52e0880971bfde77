"""Server URLs and repository keys (maf_hooks/store/url.py): pure text, no server."""

from __future__ import annotations

import pytest

from maf_hooks.store.url import redact, repository_key, url_problem


@pytest.mark.parametrize("remote", [
    "git@github.com:org/app.git",
    "git@GitHub.com:org/app",
    "https://github.com/org/app",
    "https://github.com/org/app.git/",
    "https://alice:ghp_token123@GITHUB.COM/org/app.git",
    "ssh://git@github.com/org/app.git",
    "ssh://git@github.com:22/org/app",
    "https://oauth2:tok@github.com:443/org/app",
])
def test_every_way_of_naming_one_repository_is_one_key(remote):
    assert repository_key(remote) == "github.com/org/app"


def test_the_path_keeps_its_case_and_depth():
    assert repository_key("https://gitlab.example.com/Group/Sub/App.git") == "gitlab.example.com/Group/Sub/App"
    assert repository_key("git@gitlab.example.com:Group/Sub/App.git") == "gitlab.example.com/Group/Sub/App"


def test_local_remotes_are_file_keys():
    assert repository_key("/srv/git/app.git") == "file:srv/git/app"
    assert repository_key("file:///srv/git/app.git") == "file:srv/git/app"


@pytest.mark.parametrize("remote", ["", "   ", "https:///", "git@:"])
def test_no_key_from_text_that_names_no_repository(remote):
    assert repository_key(remote) is None


def test_a_key_never_holds_credentials():
    key = repository_key("https://alice:s3cret@host.example/org/app")
    assert "alice" not in key and "s3cret" not in key


def test_redact_hides_passwords_in_urls_and_keywords():
    assert redact("postgresql://maf:s3cret@db.example:5432/maf") == "postgresql://maf:***@db.example:5432/maf"
    assert "s3cret" not in redact("postgresql://db.example/maf?password=s3cret&sslmode=require")
    assert redact("postgresql://maf@db.example/maf") == "postgresql://maf@db.example/maf"


def test_url_problems():
    assert url_problem("postgresql://maf@db.example/maf?sslmode=require") is None
    assert url_problem("postgres://db.example/maf") is None
    assert "postgresql://" in url_problem("mysql://db.example/maf")
    assert "postgresql://" in url_problem("db.example")
    problem = url_problem("postgresql://maf:s3cret@db.example/maf")
    assert "password" in problem and "s3cret" not in problem and "PGPASSWORD" in problem
    assert "not a valid URL" in url_problem("postgresql://db.example:port/maf")


def test_a_password_in_the_query_is_refused_too():
    problem = url_problem("postgresql://db.example/maf?user=team&password=s3cret")
    assert "password" in problem and "s3cret" not in problem


def test_an_unknown_connection_parameter_is_a_configuration_problem():
    pytest.importorskip("psycopg")
    problem = url_problem("postgresql://maf@db.example/maf?sslmod=require")
    assert "sslmod" in problem and "libpq" in problem
    assert url_problem("postgresql://maf@db.example/maf?sslmode=require&options=-csearch_path%3Dteam_a") is None
