"""`maf db export` / `maf db import`: a repository's whole store as one JSON document, loaded into
a fresh SQLite file and a fresh PostgreSQL database, exported again and compared."""

from __future__ import annotations

import json
import os
import stat

from conftest import db_snapshot, make_repo
from test_db_copy import RENUMBERED, ok, team  # noqa: F401 - team is a fixture

from maf_hooks.services.transfer import maildir_rows
from maf_hooks.store.transfer import KINDS

KEY = "example.com/team/app"


def content(doc: dict, *, renumbered: bool = False) -> dict:
    """What must be equal between two exports of one state (not when or where they were made);
    ``renumbered``: without the ids a server numbers for every repository at once."""
    kept = {key: value for key, value in doc.items() if key not in ("exported_at", "source")}
    if renumbered:
        kept["kinds"] = {kind: {"columns": entry["columns"][1:], "rows": [row[1:] for row in entry["rows"]]}
                         if kind in RENUMBERED else entry for kind, entry in doc["kinds"].items()}
    return kept


def exported(cli, repo, path) -> dict:
    ok(cli(repo, "db", "export", "--output", path))
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def test_export_import_reproduces_the_store_on_sqlite_and_postgres(team, cli, pg_url, tmp_path):  # noqa: F811
    first = exported(cli, team, tmp_path / "first.json")
    assert first["schema"] == "maf.export/1" and first["audit"]["valid"]
    assert list(first["kinds"]) == list(KINDS)
    assert all(first["kinds"][kind]["rows"] for kind in KINDS), "the fixture holds every kind"
    streamed = json.loads(ok(cli(team, "db", "export")).out)  # stdout: the same document
    assert content(streamed) == content(first)
    assert oct(stat.S_IMODE(os.stat(tmp_path / "first.json").st_mode)) == "0o600"

    # into a fresh SQLite store of another clone: its mail goes into that clone's Maildir
    fresh = make_repo(tmp_path / "fresh")
    imported = ok(cli(fresh, "db", "import", tmp_path / "first.json", "--json")).json
    assert imported["backend"] == "sqlite" and imported["replaced"] == {} and imported["audit"]["valid"]
    assert imported["counts"] == {kind: len(first["kinds"][kind]["rows"]) for kind in KINDS}
    assert ok(cli(fresh, "audit", "validate", "--full")).out.startswith(
        f"audit chain valid: {len(first['kinds']['events']['rows'])} ")
    again = exported(cli, fresh, tmp_path / "again.json")
    assert content(again) == content(first)  # same ids, tokens, hashes, counters, mail (seen times too)
    mail = [row for page in maildir_rows(str(fresh / ".agent-mail")) for row in page]
    assert len(mail) == len(first["kinds"]["mail_messages"]["rows"])

    # into a fresh PostgreSQL database: the mail is the server's
    server = make_repo(tmp_path / "server")
    (server / "maf.toml").write_text(f'[storage]\nurl = "{pg_url}"\nrepository = "{KEY}"\n')
    ok(cli(server, "db", "import", tmp_path / "first.json"))
    assert ok(cli(server, "audit", "validate", "--full")).out.startswith("audit chain valid: ")
    on_server = exported(cli, server, tmp_path / "server.json")
    assert on_server["source"]["backend"] == "postgresql" and on_server["source"]["repository"] == KEY
    assert content(on_server, renumbered=True) == content(first, renumbered=True)

    # and back from the server into SQLite: the same document again
    back = make_repo(tmp_path / "back")
    ok(cli(back, "db", "import", tmp_path / "server.json"))
    assert content(exported(cli, back, tmp_path / "back.json"), renumbered=True) == content(first, renumbered=True)

    # the next fencing token follows the imported ones
    granted = ok(cli(fresh, "lease", "acquire", "new.txt", "--agent", "dana", "--json")).json
    assert granted["granted"][0]["token"] == first["counters"]["last_token"] + 1


def test_import_into_a_store_with_records_is_refused_unless_force(team, cli, tmp_path):  # noqa: F811
    doc = exported(cli, team, tmp_path / "doc.json")
    other = make_repo(tmp_path / "other")
    ok(cli(other, "lease", "acquire", "mine.txt", "--agent", "zed"))
    db = other / ".git" / "maf" / "runtime.db"
    before = db_snapshot(db)
    refused = cli(other, "db", "import", tmp_path / "doc.json")
    assert refused.code == 1 and "already holds records" in refused.err and "Nothing was imported" in refused.err
    assert db_snapshot(db) == before
    replaced = ok(cli(other, "db", "import", tmp_path / "doc.json", "--force"))
    assert replaced.out.startswith("replaced the records of this repository in")
    after = exported(cli, other, tmp_path / "after.json")
    assert content(after)["kinds"] == doc["kinds"]
    assert after["counters"] == {"last_event_id": doc["counters"]["last_event_id"],
                                 "last_token": doc["counters"]["last_token"]}  # zed's token 1 is below


def test_bad_documents_are_refused_with_nothing_written(team, cli, tmp_path):  # noqa: F811
    doc = exported(cli, team, tmp_path / "doc.json")
    text = (tmp_path / "doc.json").read_text()
    target = make_repo(tmp_path / "target")
    ok(cli(target, "db", "migrate"))
    db = target / ".git" / "maf" / "runtime.db"
    before = db_snapshot(db)

    def refused(name, body, *words):
        (tmp_path / name).write_text(body) if isinstance(body, str) else (tmp_path / name).write_bytes(body)
        result = cli(target, "db", "import", tmp_path / name)
        assert result.code == 2, (name, result.err)
        assert all(word in result.err for word in words), (name, result.err)
        assert "Traceback" not in result.err and result.out == ""
        assert db_snapshot(db) == before, name

    refused("truncated.json", text[: len(text) // 2], "not a JSON document", "truncated")
    refused("binary.json", b"\xff\xfe\x00", "not UTF-8")
    refused("list.json", "[]", "not a maf export")
    refused("future.json", json.dumps({**doc, "schema": "maf.export/2"}), "'maf.export/2'", "maf.export/1")

    def changed(change) -> str:
        copy = json.loads(text)
        change(copy)
        return json.dumps(copy)

    refused("kind.json", changed(lambda d: d["kinds"].update(tasks={"columns": [], "rows": []})), "unknown record kind")
    refused("columns.json", changed(lambda d: d["kinds"]["leases"]["columns"].pop()), "leases", "columns")
    refused("short.json", changed(lambda d: d["kinds"]["events"]["rows"][0].pop()), "events row 1")
    refused("value.json", changed(lambda d: d["kinds"]["agents"]["rows"][0].__setitem__(1, [1])), "agents row 1")
    refused("base64.json", changed(lambda d: d["kinds"]["mail_outbox"]["rows"][0].__setitem__(4, {"base64": "!"})),
            "mail_outbox row 1")
    refused("counters.json", changed(lambda d: d["counters"].pop("last_token")), "counters")

    def edit_event(d):  # an event's text changed, its hash left: the chain no longer validates
        d["kinds"]["events"]["rows"][1][4] = json.dumps({"pattern": "elsewhere/"})
    refused("edited.json", changed(edit_event), "audit chain does not validate", "nothing was imported")
    refused("missing.txt", "", "not a JSON document")
    result = cli(target, "db", "import", tmp_path / "absent.json")
    assert result.code == 2 and "Cannot read" in result.err


def test_export_output_is_whole_or_not_at_all(cli, repo, tmp_path):
    failed = cli(repo, "db", "export", "--output", tmp_path / "none.json")  # no store yet
    assert failed.code == 3 and "No lease database" in failed.err
    assert os.listdir(tmp_path) == ["repo"]  # no document, no temporary file left
    ok(cli(repo, "lease", "acquire", "a.txt", "--agent", "alice"))
    (tmp_path / "old.json").write_text("old")
    report = ok(cli(repo, "db", "export", "-o", tmp_path / "old.json", "--json")).json
    assert report["counts"]["leases"] == 1 and report["output"] == str(tmp_path / "old.json")
    assert json.loads((tmp_path / "old.json").read_text())["kinds"]["leases"]["rows"][0][2] == "a.txt"
    assert sorted(os.listdir(tmp_path)) == ["old.json", "repo"]
    usage = cli(repo, "db", "export", "--json")
    assert usage.code == 2 and "--output" in usage.err and usage.out == ""
    missing = cli(repo, "db", "export", "-o", tmp_path / "no" / "such.json")
    assert missing.code == 2 and "does not exist" in missing.err
    directory = cli(repo, "db", "export", "-o", tmp_path)
    assert directory.code == 2 and "is a directory" in directory.err
    assert sorted(os.listdir(tmp_path)) == ["old.json", "repo"]
