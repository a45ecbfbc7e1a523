"""Helpers for testing ladder and its plugins: a toy domain and contract checks.

Plugin authors get these as pytest fixtures automatically (the ``ladder``
pytest plugin is registered by installing ladder-core); see
``docs/writing-a-domain-plugin.md``.
"""
