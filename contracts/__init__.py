"""The contract suite: Schemathesis over our OpenAPI specs, plus checks of each vendor's conventions."""
