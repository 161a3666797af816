"""Thin ASGI/Connexion adapters: request context, middleware, error rendering, docs."""
