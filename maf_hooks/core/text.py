"""Text that others wrote, on a terminal or in a mail body, and what free text may hold.

A lease reason, a pattern, a file name, an agent id, an override reason, a mail subject or body
came from another agent (or an old row). Human output shows each through :func:`shown`, the one
escaping function: a control character (an ESC sequence, a carriage return, a newline in a file
name) or a bidirectional override is shown as a backslash escape (``\\x1b``, ``\\r``,
``\\u202e``), so that nobody's text can move the cursor, retitle the terminal or forge lines of a
report. JSON output keeps the exact value. :func:`problem` is the rule for the free text an agent
gives (``--reason``, ``--status``, ``MAF_OVERRIDE_REASON``): one line, no control characters
other than tab, at most :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

MAX_TEXT = 1000
SIGNATURE = "-- \nmaf-hooks"  # ends every mail maf writes: the standard "-- " line (with its space), then who wrote it

# not control characters in Unicode's C0/C1 sense, but they reorder or break what a reader sees
_INVISIBLE = frozenset("\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _hidden(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in _INVISIBLE


def shown(text: str, *, lines: bool = False) -> str:
    """``text`` for a terminal or a mail body: control characters escaped (``\\x1b``); with
    ``lines`` (a message body), newlines and tabs are kept. Text that is not UTF-8 (git's bytes
    kept as surrogates) is first made :func:`storable`."""
    text = storable(text)
    if text.isprintable():  # the common case: no control, format or separator character at all
        return text
    keep = "\n\t" if lines else ""
    return "".join(repr(char)[1:-1] if _hidden(char) and char not in keep else char for char in text)


def storable(text: str) -> str:
    """Text that SQLite, JSON and mail accept: git's bytes that are not UTF-8 (kept as
    surrogates when read) become backslash escapes, ``bad\\xff.txt``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def problem(text: str, what: str, limit: int = MAX_TEXT) -> str:
    """Why ``text`` (named ``what``, e.g. ``--reason``) is not acceptable free text, or "": it
    must be at most ``limit`` characters, with no control character but tab (check it
    :func:`storable`, as it is kept)."""
    if len(text) > limit:
        return f"{what} is {len(text):,} characters long; at most {limit:,} are accepted."
    bad = sorted({char for char in text if _hidden(char) and char != "\t"})
    if bad:
        names = ", ".join(repr(char)[1:-1] for char in bad)
        return (f"{what} holds control characters ({names}): give one line of plain text "
                "(a tab is allowed; newlines, carriage returns and escape sequences are not).")
    return ""


def quoted(text: str) -> str:
    """A pattern in a sentence: ``'src/**'``, :func:`shown` between quotes."""
    return f"'{shown(text)}'"
