"""The one place that touches Connexion's non-public internals.

The sandbox rents Connexion 3.3 for spec-first routing, parameter parsing and the middleware frame, but
needs what Connexion does not offer through its public API:

- `spec31`: accept OpenAPI 3.1 specs. Connexion checks every spec against the 3.0 meta-schema (our
  3.1 specs fail it); `Specification31` skips that check for 3.1 only, per app, never process-wide.
- `validators`: validate with compiled JSON Schema 2020-12 validators (Connexion validates with Draft 4,
  under which `const`, numeric `exclusiveMinimum` and type arrays silently misbehave), raising our own
  `ValidationFailed`; and response validation that ignores the headers the edge adds outside Connexion.
- `validate_once` / `lean_operation`: build per operation what Connexion rebuilds per request
  (about 10% of a GET's CPU under `make bench`), and hand handlers the body the validator parsed.
- `security`: Connexion's security step reduced to reading the principal the gate verified.
- `direct_routes`: a routed request goes straight through its operation's chain of per-operation
  objects, matched once, instead of through three routers and a lookup per routed middleware.
- `routing`: which operation Connexion routed a request to (a private key of the ASGI scope's extensions),
  for the gate and the fault injection.

Everything here is applied by `FencedApp` (what `sandbox.app.create_app` builds), never at import:
importing `sandbox` or the pytest plugin changes nothing in a user's own Connexion apps. The versions
this was written against are declared in `version`; `FencedApp` refuses any other, and
`tests/http/test_connexion_fence.py` fails loudly when an upgrade bypasses a seam.
"""

from sandbox.http.connexion_fence.app import FencedApp, middleware_stack
from sandbox.http.connexion_fence.direct_routes import DirectRoutes
from sandbox.http.connexion_fence.routing import routed_operation_id
from sandbox.http.connexion_fence.version import WRITTEN_FOR, UnsupportedConnexion, check_connexion_version

__all__ = [
    "DirectRoutes",
    "WRITTEN_FOR",
    "FencedApp",
    "UnsupportedConnexion",
    "check_connexion_version",
    "middleware_stack",
    "routed_operation_id",
]
