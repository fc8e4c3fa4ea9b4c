"""Who may call the service, and how often: API keys, rate limits, CORS.

Keys are optional. When configured (a file, one key per line, and/or the
environment variable ``DIGITREC_API_KEYS``, comma-separated), every request to
``/v1/...`` and ``/metrics`` must send ``Authorization: Bearer KEY``; the other
routes (``/healthz``, ``/readyz``, the page, its assets, the API docs) hold no
data and stay open. A key is compared in constant time against every
configured key (their SHA-256 digests with :func:`hmac.compare_digest`, so
neither the matching key's position nor its length shows in the timing), and
is never logged: logs and metrics name a caller by the key's line number.

The rate limit is a token bucket per key (per client address without keys) on
``/v1/...``: ``rate`` requests a second on average, ``burst`` at once; beyond
it the answer is 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from digitrec.errors import InputError
from digitrec.serve.errors import error_body

__all__ = [
    "KEYS_ENV",
    "Access",
    "AccessMiddleware",
    "KeyRing",
    "TokenBuckets",
    "load_keys",
    "parse_rate",
]

#: The environment variable holding comma-separated API keys.
KEYS_ENV = "DIGITREC_API_KEYS"

#: Shortest key accepted: a guessable key is no protection.
MIN_KEY_LENGTH = 16

# RFC 6750's token68 characters: what can travel in an Authorization header.
_KEY_CHARS = re.compile(r"^[A-Za-z0-9._~+/=-]+$")


def _check_key(key: str, where: str) -> str:
    if len(key) < MIN_KEY_LENGTH or not _KEY_CHARS.match(key):
        # The key itself is never echoed, not even in an error.
        raise InputError(
            f"{where}: expected an API key of at least {MIN_KEY_LENGTH} characters from "
            f"A-Z a-z 0-9 . _ ~ + / = -, found one of {len(key)} characters"
            f"{'' if _KEY_CHARS.match(key) else ' with other characters'}; "
            "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return key


def load_keys(path: str | os.PathLike | None = None, env: str | None = None) -> tuple[str, ...]:
    """The API keys from a file and/or an environment variable's value.

    Parameters
    ----------
    path : path-like, optional
        A text file with one key per line; blank lines and lines starting with
        ``#`` are ignored, as is anything after `` #`` on a line.
    env : str, optional
        Comma-separated keys (the value of :data:`KEYS_ENV`).

    Returns
    -------
    tuple of str
        The keys, file first, without repeats; empty when neither is given.

    Raises
    ------
    digitrec.errors.InputError
        The file cannot be read or holds no key, or a key is too short or has
        characters a Bearer token cannot carry.
    """
    keys: list[str] = []
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"--api-keys {path}: expected a readable UTF-8 text file with one key per "
                f"line, found an error ({exc}); check the path and its permissions"
            ) from exc
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split(" #")[0].strip()
            if line and not line.startswith("#"):
                keys.append(_check_key(line, f"--api-keys {path}, line {number}"))
        if not keys:
            raise InputError(
                f"--api-keys {path}: expected one or more keys (one per line), found none; "
                "add a key, or leave out --api-keys to serve without keys"
            )
    for number, item in enumerate((env or "").split(","), 1):
        if item.strip():
            keys.append(_check_key(item.strip(), f"{KEYS_ENV}, item {number}"))
    return tuple(dict.fromkeys(keys))


def parse_rate(text: str) -> float:
    """Requests a second from ``"N/s"``, ``"N/min"`` or ``"N/h"`` (``N`` may be a decimal).

    Raises
    ------
    digitrec.errors.InputError
        Not of that form, or ``N`` not positive.
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*", text)
    if match is None or float(match[1]) <= 0:
        raise InputError(
            f"--rate-limit {text!r}: expected a positive number of requests per unit, "
            "like 10/s, 120/min or 1000/h"
        )
    per = {"s": 1.0, "m": 60.0, "h": 3600.0}[match[2][0]]
    return float(match[1]) / per


class KeyRing:
    """The configured keys, matched in constant time.

    Parameters
    ----------
    keys : iterable of str
        The valid keys.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def match(self, token: str) -> int | None:
        """The 1-based number of the key equal to ``token``, or ``None``.

        Every key is compared, whatever matches, so the time taken does not
        depend on which key (if any) matched.
        """
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for number, key in enumerate(self._digests, 1):
            if hmac.compare_digest(digest, key):
                found = number
        return found


class TokenBuckets:
    """One token bucket per caller, for at most ``max_callers`` callers.

    Parameters
    ----------
    rate : float
        Tokens added per second (the sustained request rate).
    burst : int
        Bucket size (requests accepted at once after a pause).
    max_callers : int
        Buckets kept; the least recently seen are dropped beyond it (they start
        full again), so a flood of addresses cannot grow memory without bound.
    clock : callable
        Seconds, monotonic (tests pass a fake).
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        max_callers: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate > 0 or burst < 1:
            raise InputError(f"rate limit: expected rate > 0 and burst >= 1, found {rate}, {burst}")
        self.rate, self.burst, self.max_callers = rate, burst, max_callers
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, caller: str) -> float:
        """Take a token for ``caller``: 0.0 if granted, else seconds until one is due."""
        now = self._clock()
        tokens, stamp = self._buckets.pop(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[caller] = (tokens, now)
        while len(self._buckets) > self.max_callers:
            self._buckets.popitem(last=False)
        return wait


@dataclass(frozen=True)
class Access:
    """Access settings of :func:`digitrec.serve.create_app` (all off by default).

    Parameters
    ----------
    keys : tuple of str
        API keys (see :func:`load_keys`); empty: no key needed.
    rate : float, optional
        Requests a second per caller on ``/v1/...`` (see :func:`parse_rate`).
    burst : int, optional
        Requests at once per caller; default: ``rate`` rounded up (at least 1).
    cors_origins : tuple of str
        Origins allowed to call the API from a browser; empty: CORS off.
    """

    keys: tuple[str, ...] = ()
    rate: float | None = None
    burst: int | None = None
    cors_origins: tuple[str, ...] = ()

    def buckets(self) -> TokenBuckets | None:
        """The rate limiter these settings ask for, if any."""
        if self.rate is None:
            return None
        return TokenBuckets(self.rate, self.burst or max(1, math.ceil(self.rate)))


def _guarded(path: str) -> tuple[bool, bool]:
    """(needs a key, is rate limited) for a request path."""
    api = path.startswith("/v1/")
    return api or path == "/metrics", api


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


class AccessMiddleware:
    """ASGI middleware: checks the API key, then the caller's rate limit.

    It records who called (``key_id``, never the key) and any rejection's
    code in the request's state, for the logs and metrics.
    """

    def __init__(self, app: ASGIApp, keys: KeyRing, buckets: TokenBuckets | None) -> None:
        self.app, self.keys, self.buckets = app, keys, buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needs_key, limited = _guarded(scope["path"])
        state: dict[str, Any] = scope.setdefault("state", {})
        caller = "addr:" + (scope.get("client") or ("unknown",))[0]
        if self.keys and needs_key:
            token = _bearer(scope)
            number = self.keys.match(token) if token else None
            if number is None:
                await self._refuse(scope, receive, send, *_unauthorized(token))
                return
            state["key_id"] = number
            caller = f"key:{number}"
        if limited and self.buckets is not None:
            wait = self.buckets.take(caller)
            if wait > 0:
                await self._refuse(scope, receive, send, *_rate_limited(wait, self.buckets.rate))
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str],
    ) -> None:
        scope["state"]["error_code"] = code
        response = JSONResponse(error_body(code, message), status_code=status, headers=headers)
        await response(scope, receive, send)


def _rate_limited(wait: float, rate: float) -> tuple[int, str, str, dict[str, str]]:
    seconds = str(max(1, math.ceil(wait)))
    message = f"rate limit of {rate:g} requests/s reached; retry in {seconds} s"
    return 429, "rate_limited", message, {"Retry-After": seconds}


def _unauthorized(token: str | None) -> tuple[int, str, str, dict[str, str]]:
    if not token:
        return (
            401,
            "missing_api_key",
            "this server needs an API key; send it as the header 'Authorization: Bearer KEY'",
            {"WWW-Authenticate": 'Bearer realm="digitrec"'},
        )
    return (
        401,
        "invalid_api_key",
        "the API key sent is not valid here; check it with the server's operator",
        {"WWW-Authenticate": 'Bearer realm="digitrec", error="invalid_token"'},
    )
