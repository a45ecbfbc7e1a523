"""ladder_core: the domain-agnostic core of the LADDER framework."""

__version__ = "0.1.0"
