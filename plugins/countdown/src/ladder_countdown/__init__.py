"""ladder_countdown: the Countdown numbers game as a LADDER domain plugin.

Importing the package is cheap on purpose (no submodules are imported here):
the core loads ``ladder_countdown.plugin`` at start-up and verifier worker
processes import only ``ladder_countdown.worker``.
"""

__version__ = "0.1.0"
