"""Security headers on every HTTP response (ASGI middleware :class:`SecurityHeaders`).

- ``Content-Security-Policy``: everything from this origin only. Scripts: the built client's
  and the playground's files, plus their inline scripts by hash (the theme script of
  ``index.html``, read from the build when the app starts: :func:`inline_script_hashes`), never
  ``eval``; styles may be inline (the playground's editor and the charts set them); images and
  fonts may be ``data:``/``blob:`` URLs; workers from this origin or ``blob:`` (the
  playground's editor); requests (``fetch``, the websocket) to this origin only; no plugins,
  no ``<base>`` elsewhere, forms post here, and no page may frame ours
  (``frame-ancestors 'none'``).
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: strict-origin-when-cross-origin``,
  ``X-Frame-Options: DENY`` (for browsers without ``frame-ancestors``),
  ``Cross-Origin-Opener-Policy: same-origin``.
- ``Strict-Transport-Security: max-age=<HSTS_MAX_AGE>; includeSubDomains`` on answers to HTTPS
  requests (the scheme uvicorn reports: behind a TLS proxy, from ``X-Forwarded-Proto`` when
  the proxy is in ``FORWARDED_ALLOW_IPS``); ``HSTS_MAX_AGE=0`` sends none.

A header the app set itself is kept as it is.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>",
                            re.DOTALL | re.IGNORECASE)


def inline_script_hashes(pages: Iterable[Path]) -> list[str]:
    """``'sha256-...'`` sources for the inline scripts of the HTML ``pages`` that exist."""
    found: list[str] = []
    for page in pages:
        try:
            html = page.read_text(encoding="utf-8")
        except OSError:
            continue
        for body in _INLINE_SCRIPT.findall(html):
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            source = f"'sha256-{digest}'"
            if source not in found:
                found.append(source)
    return found


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    """The policy (see the module docstring), allowing the inline scripts ``script_hashes``."""
    scripts = " ".join(["'self'", *script_hashes])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class SecurityHeaders:
    """ASGI middleware: the headers of the module docstring on every HTTP response."""

    def __init__(self, app: ASGIApp, *, csp: str, hsts_max_age: int = 0) -> None:
        self.app = app
        self.headers = [(b"content-security-policy", csp.encode()),
                        (b"x-content-type-options", b"nosniff"),
                        (b"referrer-policy", b"strict-origin-when-cross-origin"),
                        (b"x-frame-options", b"DENY"),
                        (b"cross-origin-opener-policy", b"same-origin")]
        self.hsts = (f"max-age={hsts_max_age}; includeSubDomains".encode()
                     if hsts_max_age > 0 else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.headers)
        if self.hsts is not None and scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", self.hsts))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [h for h in extra if h[0] not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
