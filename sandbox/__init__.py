"""lead-sandbox: stateful local sandboxes for lead-management and CRM REST APIs."""

from __future__ import annotations

import warnings

# Connexion imports starlette.testclient at import time, which warns about httpx on every start.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

__version__ = "0.1.0"
