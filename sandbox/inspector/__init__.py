"""What a person sees in a browser: the landing page at `/`, each API's Swagger UI with a test key in
Authorize, and the web inspector at `/_sandbox/ui/` (server-rendered Jinja2, a small script, no CDN)."""
