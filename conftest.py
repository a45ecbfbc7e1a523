"""Repository-wide pytest settings.

Under CI (``CI=true``) hypothesis runs derandomized, so a run is reproducible
and a red build can be replayed exactly; run locally (or with
``LADDER_PARSER_FUZZ_EXAMPLES=20000``) for fresh random fuzzing.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
