"""The integration domain: LADDER's reference plugin (integrals, safe parsing, numerical verification)."""

__version__ = "0.1.0"
