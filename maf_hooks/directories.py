"""The directories that exist now, for deciding overlap at acquire time.

``patterns.overlaps`` presumes that a name matched by a file-like pattern is a file unless it is
known as a directory; :class:`ExistingDirectories` is what it asks. It answers from git's view of
the working tree, read once and only when first asked: the leading directories of every path in
the index and of every untracked file that is not ignored (``git ls-files --cached --others
--exclude-standard``), and the ignored directories git reports without descending into them
(``--ignored --directory``). A directory that holds only ignored files beneath an ignored one is
not listed; an empty directory is not either (git does not track directories).
"""

from __future__ import annotations

TYPE_CHECKING = False


class ExistingDirectories:
    """``ExistingDirectories(root)(prefix)`` -> the repository-relative directories (no trailing
    '/') under ``prefix`` (``''``: all of them)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._all: list[str] | None = None

    def _read(self) -> list[str]:
        from maf_hooks import git  # only when a directory is asked about: most commands never do

        listed = git.zsplit(git.run(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], self.root)[1])
        ignored = git.zsplit(git.run(
            ["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"], self.root)[1])
        found: set[str] = set()
        for path in listed + ignored:
            if path.endswith("/"):  # an ignored directory
                path = path[:-1]
                found.add(path)
            index = path.rfind("/")
            while index > 0 and path[:index] not in found:
                found.add(path[:index])
                index = path.rfind("/", 0, index)
        return sorted(found)

    def __call__(self, prefix: str) -> list[str]:
        if self._all is None:
            self._all = self._read()
        if not prefix:
            return self._all
        return [path for path in self._all if path.startswith(prefix)]
