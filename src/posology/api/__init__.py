"""The HTTP API and, later, the web pages (FastAPI)."""
