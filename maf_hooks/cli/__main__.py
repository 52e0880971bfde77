"""``python -m maf_hooks.cli ARGS``: the same as ``maf ARGS`` (for a hook run by a given Python)."""

from maf_hooks.cli import main

if __name__ == "__main__":
    main()
