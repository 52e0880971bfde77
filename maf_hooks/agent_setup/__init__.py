"""Set-up of the agent clients' project files: ``maf init --agents`` and preflight's ``agents`` check.

:mod:`clients` says which files hold each client's edit hook and MCP entry and what maf writes there;
:mod:`merge` adds those entries keeping everything else; :mod:`formats` reads and writes JSON, JSON
with comments and TOML without losing what is in them; :mod:`verify` reads a new file back and
checks that only maf's entries changed; :mod:`install` plans and applies the changes.
"""
