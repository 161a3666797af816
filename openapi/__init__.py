"""The OpenAPI specs, installed as package data of `sandbox.openapi` (read by `sandbox.spec`)."""
