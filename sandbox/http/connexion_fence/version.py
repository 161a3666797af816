"""The Connexion releases the fence was written against (and read the source of).

The seams rely on private names (`_validate_spec`, `_parse`/`_validate` of the validators,
`RequestValidationOperation.__call__`'s steps, `AsyncApp._middleware_app`...). A release that renames
one would not fail: stock Draft-4 validation would quietly come back. So another minor release is
refused at `create_app` until the fence has been re-read against it and this tuple extended."""

from __future__ import annotations

from importlib.metadata import version

#: major.minor releases of Connexion the fence's seams were checked against
WRITTEN_FOR: tuple[str, ...] = ("3.3",)


class UnsupportedConnexion(RuntimeError):
    """The installed Connexion is not one the fence was written against."""


def installed_version() -> str:
    return version("connexion")


def check_connexion_version() -> None:
    found = installed_version()
    if ".".join(found.split(".")[:2]) not in WRITTEN_FOR:
        raise UnsupportedConnexion(
            f"Connexion {found} is installed, but sandbox/http/connexion_fence/ was written against Connexion "
            f"{', '.join(WRITTEN_FOR)}.x: re-read its seams against the new release's source, run "
            "tests/http/test_connexion_fence.py, then add the release to WRITTEN_FOR"
        )
