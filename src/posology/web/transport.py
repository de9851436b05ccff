"""Whether the browser can keep the login cookie on the address the page was asked at.

The session cookie is ``Secure``: a browser keeps it only from an ``https`` address, or from its
own computer (``localhost``, ``127.0.0.1``, ``::1``), which browsers treat as secure. On a plain
``http`` address elsewhere (a LAN address) the cookie is dropped without a word and the login
page comes back for ever; the login page says why instead.

The scheme is the request's own. Behind a proxy that ends HTTPS, the server (uvicorn) takes the
proxy's ``X-Forwarded-Proto`` only from the proxies it trusts (``FORWARDED_ALLOW_IPS``, by
default this computer), so a header sent by anyone else changes nothing here.
"""

from __future__ import annotations

from fastapi import Request

from ..hosts import is_loopback as is_local


def keeps_session(request: Request) -> bool:
    """Whether a ``Secure`` cookie set in answer to ``request`` will be kept by the browser."""
    return request.url.scheme == "https" or is_local(request.url.hostname or "")
