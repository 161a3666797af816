"""`python -m sandbox` is the `lead-sandbox` command."""

from __future__ import annotations

from sandbox.cli import main

raise SystemExit(main())
