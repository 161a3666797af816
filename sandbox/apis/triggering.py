"""`stripe trigger` for every API: run the state change behind an event in a workspace that records
what it publishes, and return the event of the requested type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from sandbox.core.errors import NotFound
from sandbox.core.webhooks import publish
from sandbox.core.workspace import Workspace

if TYPE_CHECKING:
    from sandbox.runtime import Runtime

Action = Callable[["Runtime", Workspace], Any]


def run_trigger(api: str, event_type: str, action: Action, runtime: Runtime, tenant: str) -> dict[str, Any]:
    style = runtime.apis[api].webhooks
    assert style is not None, f"{api} sends no webhooks"
    published: list[dict[str, Any]] = []
    ws = Workspace(runtime.store, api, tenant, runtime.clock_for(api, tenant), runtime.ids)

    def events(kind: str, data: dict[str, Any]) -> None:
        event = publish(ws, style, kind, data)
        assert event is not None  # always=True
        published.append(event)

    action(runtime, replace(ws, events=events))
    return next(event for event in reversed(published) if event["type"] == event_type)


def triggers(api: str, actions: Mapping[str, Action]) -> dict[str, Callable[[Runtime, str], dict[str, Any]]]:
    """event type -> fn(runtime, tenant) for `ApiDefinition.triggers`."""
    return {event_type: partial(run_trigger, api, event_type, action) for event_type, action in actions.items()}


def newest(ws: Workspace, kind: str, missing: str) -> dict[str, Any]:
    """The tenant's newest record of `kind`: what most triggers act on; NotFound(`missing`) if none."""
    page = ws.collection(kind).page(before_seq=None, limit=1)
    if not page.items:
        raise NotFound(missing)
    return page.items[0]
