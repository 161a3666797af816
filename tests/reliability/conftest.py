"""tests/reliability: failures found by attacking the sandbox from outside (issue 12), one test each."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # serve_process helper
