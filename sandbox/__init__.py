"""lead-sandbox: stateful local sandboxes for lead-management and CRM REST APIs."""

from __future__ import annotations

__version__ = "0.1.0"
