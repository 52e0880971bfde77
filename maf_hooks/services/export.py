"""`maf db export` / `maf db import`: a repository's whole store as one JSON document.

The document (``"schema": "maf.export/1"``) holds every record kind of the transfer interface
(:mod:`maf_hooks.store.transfer`, what ``maf db copy`` moves) as its canonical rows, with the
counters and the audit chain's validation at export time::

    {"schema": "maf.export/1", "exported_at": ..., "source": {...},
     "counters": {"last_event_id": ..., "last_token": ...}, "audit": {"valid": ..., ...},
     "kinds": {"leases": {"columns": [...], "rows": [[...], ...]}, ...}}

Export streams it (one page of rows at a time, under the store's write lock so that it is one
consistent state); import parses the whole document first (memory follows its size), checks its
shape, then loads it in one write section of the target, kept whole or not at all.
"""

from __future__ import annotations

import json

from maf_hooks.errors import UsageError
from maf_hooks.services.documents import schema
from maf_hooks.services.transfer import (
    CHAIN_FIELDS,
    MAIL,
    deliver_to_maildir,
    load_pages,
    maildir_rows,
    make_room,
    settle,
)
from maf_hooks.store.transfer import BATCH, KINDS, Counters, json_value, transfer_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any, TextIO

    from maf_hooks.store.base import Store
    from maf_hooks.store.open import Location

SCHEMA = schema("export")  # "maf.export/1"


def export(location: Location, out: TextIO, *, environ: Mapping[str, str], mail_root: str,
           batch: int = BATCH) -> dict[str, Any]:
    """Write this repository's store to ``out`` as one document; returns the counts per kind,
    the counters and the chain's validation. Agent mail is in it as ``mail_messages`` whatever
    the backend (a store without mail of its own: the Maildir under ``mail_root``)."""
    with location.open(environ=environ, create=False) as store:
        return write_document(store, out, mail_root=mail_root, batch=batch,
                              source={"backend": location.backend, "location": str(location),
                                      "repository": getattr(store, "repository", None)})


def write_document(store: Store, out: TextIO, *, mail_root: str, source: dict[str, Any],
                   batch: int = BATCH) -> dict[str, Any]:
    from maf_hooks.services import audit

    reader = transfer_of(store)
    counts: dict[str, int] = {}
    with store.write() as now:  # no lease or event is written while the document is read
        counters = reader.counters()
        chain = {key: value for key, value in audit.validate(store, full=True).items() if key in CHAIN_FIELDS}
        head = {"schema": SCHEMA, "exported_at": now, "source": source, "counters": counters._asdict(),
                "audit": chain}
        out.write("{\n" + "".join(f"{json.dumps(key)}: {json.dumps(value)},\n" for key, value in head.items()))
        out.write('"kinds": {')
        for number, (kind, pages) in enumerate(_pages(reader, mail_root, batch)):
            out.write(("," if number else "") + f"\n{json.dumps(kind)}: {{\"columns\": {json.dumps(KINDS[kind])}, "
                      '"rows": [')
            counts[kind] = 0
            for rows in pages:
                out.write("".join(("," if counts[kind] + i else "") + "\n" + json.dumps([json_value(v) for v in row])
                                  for i, row in enumerate(rows)))
                counts[kind] += len(rows)
            out.write("\n]}" if counts[kind] else "]}")
        out.write("\n}\n}\n")
    return {"counts": counts, **counters._asdict(), "audit": chain}


def _pages(reader: Any, mail_root: str, batch: int) -> Iterator[tuple[str, Iterator[list[tuple]]]]:
    for kind in KINDS:
        if kind in reader.kinds:
            yield kind, reader.dump(kind, batch)
        elif kind == MAIL:
            yield kind, maildir_rows(mail_root, batch)


# --- import -----------------------------------------------------------------------------------

class Document:
    """A parsed, checked export document: its rows per kind (bytes decoded), counters and chain."""

    def __init__(self, rows: dict[str, list[tuple]], counters: Counters, audit: dict[str, Any]) -> None:
        self.rows, self.counters, self.audit = rows, counters, audit


def read_document(text: str, name: str) -> Document:
    """Parse and check an export document (UsageError, exit 2, naming what is wrong)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or text that is not UTF-8 JSON at all
        raise UsageError(f"{name} is not a JSON document ({exc}); a truncated or damaged export? "
                         "Nothing was imported.") from None
    if not isinstance(doc, dict) or "schema" not in doc:
        raise UsageError(f"{name} is not a maf export (no \"schema\" key); nothing was imported.")
    if doc["schema"] != SCHEMA:
        raise UsageError(f"{name} has schema {doc['schema']!r}; this maf reads {SCHEMA!r} (export it again "
                         "with this version). Nothing was imported.")
    problem = _shape_problem(doc)
    if problem:
        raise UsageError(f"{name} is not a valid {SCHEMA} document: {problem}. Nothing was imported.")
    rows = {kind: [tuple(_value(v) for v in row) for row in doc["kinds"].get(kind, {}).get("rows", [])]
            for kind in KINDS}
    counters = Counters(doc["counters"]["last_event_id"], doc["counters"]["last_token"])
    return Document(rows, counters, {key: doc["audit"].get(key) for key in CHAIN_FIELDS})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shape_problem(doc: dict[str, Any]) -> str | None:
    counters, chain, kinds = doc.get("counters"), doc.get("audit"), doc.get("kinds")
    if not isinstance(counters, dict) or not all(_is_int(counters.get(k)) and counters[k] >= 0
                                                 for k in Counters._fields):
        return f"\"counters\" must hold {' and '.join(Counters._fields)}, whole numbers"
    if not isinstance(chain, dict) or not isinstance(chain.get("valid"), bool) or not _is_int(chain.get("checked")):
        return "\"audit\" must hold the chain's validation (valid, checked)"
    if not isinstance(kinds, dict):
        return "\"kinds\" must be an object of record kinds"
    for kind, entry in kinds.items():
        if kind not in KINDS:
            return f"unknown record kind {kind!r} (known: {', '.join(KINDS)})"
        if not isinstance(entry, dict) or entry.get("columns") != list(KINDS[kind]):
            return f"{kind}: \"columns\" must be {json.dumps(KINDS[kind])}"
        rows = entry.get("rows")
        if not isinstance(rows, list):
            return f"{kind}: \"rows\" must be a list"
        for number, row in enumerate(rows, 1):
            if not isinstance(row, list) or len(row) != len(KINDS[kind]):
                return f"{kind} row {number}: expected a list of {len(KINDS[kind])} values"
            if not all(value is None or isinstance(value, str) or _is_int(value) or _is_bytes(value) for value in row):
                return f"{kind} row {number}: a value is neither text, a whole number, null nor {{\"base64\": ...}}"
    return None


def _is_bytes(value: Any) -> bool:
    if not (isinstance(value, dict) and list(value) == ["base64"] and isinstance(value["base64"], str)):
        return False
    import binascii

    try:
        _value(value)
    except (binascii.Error, ValueError):
        return False
    return True


def _value(value: Any) -> Any:
    if isinstance(value, dict):
        import base64

        return base64.b64decode(value["base64"], validate=True)
    return value


def import_document(location: Location, doc: Document, name: str, *, environ: Mapping[str, str], mail_root: str,
                    force: bool = False, batch: int = BATCH) -> dict[str, Any]:
    """Load ``doc`` into this repository's store (created, or its schema brought up to date): the
    same ids, tokens and chain, in one write section. A store already holding records of this
    repository is refused (exit 1) unless ``force`` (the rule of ``maf db copy``); a chain that
    does not validate after loading as the document says it did (an edited document) is bad
    input (exit 2); both leave the store as it was."""
    with location.open(environ=environ, upgrade=True) as target:
        writer = transfer_of(target)
        counts: dict[str, int] = {}
        with target.write():
            present, before = make_room(writer, target, force=force, verb="imported")
            for kind in KINDS:
                if kind in writer.kinds:
                    rows = doc.rows[kind]
                    counts[kind] = load_pages(writer, kind, (rows[i:i + batch] for i in range(0, len(rows), batch)))
            tokens, chain = settle(writer, target, doc.counters, before, doc.audit, name, verb="imported",
                                   error=UsageError)
        if MAIL not in writer.kinds:  # the store keeps no mail: into the Maildir, each message once
            counts[MAIL] = deliver_to_maildir(mail_root, iter([doc.rows[MAIL]]))
    return {"target": str(location), "backend": location.backend, "replaced": present, "counts": counts,
            "last_token": tokens, "last_event_id": doc.counters.last_event_id,
            "audit": {key: chain[key] for key in CHAIN_FIELDS}}
