"""Keeping agent mail inside its mail root: no symbolic link on the way to a Maildir is followed.

A repository is shared by everyone who can commit to it, so a tracked ``.agent-mail`` symlink (or
a ``<agent>/new`` link inside it) could otherwise make every later commit write files wherever it
points. Mail is therefore written by walking the path one directory at a time, each opened with
``O_NOFOLLOW`` relative to the one before (``dir_fd``), and the message file is created the same
way: a link anywhere from the anchor down (the mail root, the agent directory, ``tmp/``, ``new/``,
``cur/``) is refused with :class:`MailPathRefused`, and nothing is written through it.

The anchor is the directory the walk starts from, trusted as it is: the top of the main worktree
when the mail root lies inside it (the default ``.agent-mail``), else the mail root's parent (a
``mail.root`` / ``MAF_AGENT_MAIL_ROOT`` that points elsewhere on purpose). :class:`MailRoot` (a
``str``) carries it from :func:`maf_hooks.context.mail_root_for` to the mail functions.
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
import time

from maf_hooks.errors import ENVIRONMENT, MafError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_DIR_FLAGS = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC
_LINK_ERRNOS = {errno.ELOOP, errno.ENOTDIR, getattr(errno, "EMLINK", errno.ELOOP), getattr(errno, "EFTYPE", errno.ELOOP)}
_NO_LINK_ERRNOS = {errno.EXDEV, errno.ENOSYS, getattr(errno, "EOPNOTSUPP", errno.ENOSYS)}
SUBDIRS = ("tmp", "new", "cur")
_counter = itertools.count()


class MailPathRefused(MafError):
    """A component of the path to a Maildir is a symbolic link (or not a directory): no mail is
    written or read through it."""

    exit_code = ENVIRONMENT


class MailRoot(str):
    """A mail root path that also knows its :attr:`anchor`: the directory below which no component
    may be a symbolic link."""

    anchor: str

    def __new__(cls, path: str, anchor: str) -> MailRoot:
        self = super().__new__(cls, path)
        self.anchor = anchor
        return self


def anchor_of(root: str) -> tuple[str, list[str]]:
    """The anchor of ``root`` and the names from it down to the root."""
    path = os.path.abspath(root)
    anchor = getattr(root, "anchor", None)
    if anchor is not None:
        relative = os.path.relpath(path, os.path.abspath(anchor))
        if relative == ".":
            return os.path.abspath(anchor), []
        if relative != ".." and not relative.startswith(".." + os.sep):
            return os.path.abspath(anchor), relative.split(os.sep)
    return os.path.dirname(path), [os.path.basename(path)]


def refusal(shown: str, what: str = "a symbolic link") -> MailPathRefused:
    return MailPathRefused(
        f"Refusing to use the agent mail path {shown}: it is {what}. maf-hooks never follows a link "
        "inside the mail root, since a link committed to the repository could point anywhere; no mail "
        "was written. Remove it (and `git rm --cached` it if it is tracked), or set mail.root / "
        "MAF_AGENT_MAIL_ROOT to a real directory."
    )


def _is_link(parent_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _step(parent_fd: int, name: str, shown: str, *, create: bool, mode: int) -> int | None:
    """Open directory ``name`` inside ``parent_fd`` without following a link (creating it first
    when asked); None when it does not exist and ``create`` is false."""
    if create:
        try:
            os.mkdir(name, mode, dir_fd=parent_fd)  # mkdir never follows a link at its last component
        except FileExistsError:
            pass
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        if create:
            raise
        return None
    except OSError as exc:
        if _is_link(parent_fd, name):
            raise refusal(shown) from None
        if exc.errno in _LINK_ERRNOS:
            raise refusal(shown, "not a directory") from None
        raise


class Maildir:
    """Open directory descriptors of one Maildir: ``box``, ``tmp``, ``new``, ``cur``."""

    def __init__(self, fds: dict[str, int], path: str):
        self.fds = fds
        self.path = path

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


def open_dirs(root: str, names: list[str], *, create: bool) -> tuple[list[int], str] | None:
    """Walk from the anchor of ``root`` through its components and then ``names``; the open
    descriptors (anchor first) and the path reached, or None when something does not exist."""
    anchor, below = anchor_of(root)
    if create:
        os.makedirs(anchor, exist_ok=True)
    try:
        fds = [os.open(anchor, os.O_RDONLY | _DIRECTORY | _CLOEXEC)]
    except FileNotFoundError:
        if create:
            raise
        return None
    shown = anchor
    try:
        steps = [(name, 0o777) for name in below] + [(name, 0o700) for name in names]
        for name, mode in steps:
            shown = os.path.join(shown, name)
            fd = _step(fds[-1], name, shown, create=create, mode=mode)
            if fd is None:
                for opened in fds:
                    os.close(opened)
                return None
            fds.append(fd)
    except BaseException:
        for opened in fds:
            os.close(opened)
        raise
    return fds, shown


def open_maildir(root: str, agent_id: str, *, create: bool) -> Maildir | None:
    """The Maildir of ``agent_id`` (created when asked), every component checked; None when it
    does not exist (and ``create`` is false). An existing ``tmp/``, ``new/`` or ``cur/`` that is a
    link is refused even when reading."""
    opened = open_dirs(root, [agent_id], create=create)
    if opened is None:
        return None
    fds, path = opened
    for fd in fds[:-1]:
        os.close(fd)
    box = Maildir({"box": fds[-1]}, path)
    try:
        for sub in SUBDIRS:
            sub_fd = _step(box.fds["box"], sub, os.path.join(path, sub), create=create, mode=0o700)
            if sub_fd is not None:
                box.fds[sub] = sub_fd
    except BaseException:
        box.close()
        raise
    return box


def check_root(root: str, *, create: bool) -> bool:
    """Walk to the mail root (creating it when asked) refusing links; whether it exists."""
    opened = open_dirs(root, [], create=create)
    if opened is None:
        return False
    for fd in opened[0]:
        os.close(fd)
    return True


def unique_name() -> str:
    """A Maildir file name: ``<seconds>.M<microseconds>P<pid>Q<count>R<random>.<host>``."""
    import secrets  # here: delivering under a fixed key (the conflict outbox) needs neither
    import socket

    now = time.time()
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"
    return (f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(_counter)}"
            f"R{secrets.token_hex(4)}.{host}")


def write_message(root: str, agent_id: str, data: bytes, key: str | None = None) -> str:
    """Deliver ``data`` to the Maildir of ``agent_id`` the Maildir way (write in ``tmp/``, link into
    ``new/``), every directory opened without following links; return the message key.

    With ``key`` (a fixed file name), a message already in ``new/`` or ``cur/`` under that key
    (readers append ``:2,S`` and the like) is not written again: delivery is exactly once."""
    box = open_maildir(root, agent_id, create=True)
    assert box is not None
    try:
        tmp, new = box.fds["tmp"], box.fds["new"]
        if key is not None:
            if _present(box, key):
                return key
            _unlink_quietly(key, tmp)  # left by a delivery killed half way
        key = key or unique_name()
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=tmp)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(key, key, src_dir_fd=tmp, dst_dir_fd=new)
            except FileExistsError:
                pass  # a concurrent delivery of the same fixed key won
            except OSError as exc:
                if not isinstance(exc, PermissionError) and exc.errno not in _NO_LINK_ERRNOS:
                    raise
                os.rename(key, key, src_dir_fd=tmp, dst_dir_fd=new)  # a file system without hard links
                return key
        except OSError:
            _unlink_quietly(key, tmp)
            raise
        _unlink_quietly(key, tmp)
        return key
    finally:
        box.close()


def _present(box: Maildir, key: str) -> bool:
    """Whether a message with this key is in ``new/`` or ``cur/`` (with any ``:2,...`` info)."""
    prefix = key + ":"
    for sub in ("new", "cur"):
        for name in os.listdir(box.fds[sub]):
            if name == key or name.startswith(prefix):
                return True
    return False


def _unlink_quietly(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def links_below(root: str) -> Iterator[str]:
    """Each path in an existing mail root that is a link where a directory belongs: an agent
    directory or its ``tmp/``, ``new/``, ``cur/`` (for reports; delivery refuses them anyway)."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            yield entry.path
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        for sub in SUBDIRS:
            path = os.path.join(entry.path, sub)
            if os.path.islink(path):
                yield path


def linked_component(root: str) -> str | None:
    """The first component from the anchor down to ``root`` that is a symbolic link, if any."""
    anchor, below = anchor_of(root)
    path = anchor
    for name in below:
        path = os.path.join(path, name)
        if os.path.islink(path):
            return path
        if not os.path.isdir(path):
            return None
    return None
