"""maf-hooks: file leases and git hooks for coding agents that share one repository."""

__version__ = "0.1.0"
