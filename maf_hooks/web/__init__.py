"""The live board (``maf serve``): a read-only web page over the board document
(:mod:`maf_hooks.services.board`). Needs the ``serve`` extra (Starlette, uvicorn); nothing on a
hook's import path imports this package."""
