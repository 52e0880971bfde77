"""`maf mcp`: the lease and mail tools as a stdio MCP server (``server``), over the same services
as the command line (``tools``)."""
