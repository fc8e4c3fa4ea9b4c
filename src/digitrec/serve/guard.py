"""Bounding what a slow or vanishing client costs while it uploads.

:mod:`~digitrec.serve.uploads` already refuses a body past its size limit.
:class:`BodyGuard` adds a time limit: the whole body must arrive within
``timeout_s`` of the request's start, else the answer is 408 and the
connection's coroutine ends (a client sending a byte a minute holds nothing
longer). A client that disconnects mid-upload ends its request at once with the
code ``client_closed_request`` (status 499, as nginx logs it), recorded as a
rejection instead of an unexpected error. Reads run on a thread pool and
uploads are awaited on the event loop, so neither blocks other requests.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitrec.serve.errors import ApiError

__all__ = ["BodyGuard"]


class BodyGuard:
    """ASGI middleware: a deadline on the request body, and disconnects as errors.

    Parameters
    ----------
    app : ASGI app
        The app to guard.
    timeout_s : float
        Time allowed from the request's start to its body's last byte.
    """

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app, self.timeout_s = app, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout_s
        complete = False

        async def guarded() -> Message:
            nonlocal complete
            if complete:
                # The body is in; later receives only wait for a disconnect.
                return await receive()
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    message = await receive()
            except TimeoutError:
                raise ApiError(
                    408,
                    "body_timeout",
                    f"the request body did not arrive within {self.timeout_s:g} s; "
                    "send it faster, or send a smaller image",
                    headers={"Connection": "close"},
                ) from None
            if message["type"] == "http.disconnect":
                raise ApiError(499, "client_closed_request", "the client left mid-upload")
            complete = not message.get("more_body", False)
            return message

        await self.app(scope, guarded, send)
