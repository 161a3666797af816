"""`make drift`: `python -m sandbox.contracts.docs_check [SEEDS_DIR]` refreshes docs/vendor-docs-drift.md."""

import sys

from sandbox.contracts.docs_check.drift import main

main(sys.argv[1:])
