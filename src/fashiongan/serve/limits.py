"""What a client may send the studio, enforced below the routes (an ASGI middleware), and
how a refusal reads.

- Every request body is bounded (MAX_JSON_BYTES; a route may allow more, as the photo upload
  does): a declared Content-Length over the bound is refused at once, and the bytes are
  counted as they arrive, so a chunked or lying body is cut off too. A 57 MB JSON body was
  parsed on the event loop (every other request waited 19 s) and echoed back in its 422.
- A body that stops arriving for IDLE_TIMEOUT_S is answered 408 and dropped: a half-sent
  upload was held for ever.
- A client that goes away mid-body is one line in the log (it was a 60-line traceback).
- A validation error never echoes its input beyond a few characters, and holds no number JSON
  cannot carry (NaN or 1e400 in a body made the 422 itself fail: a 500).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

MAX_JSON_BYTES = 256 * 2**10  # the largest valid JSON body (a restyle's 4096 latents) is ~100 KB
IDLE_TIMEOUT_S = 10.0  # a body that sends nothing for this long is dropped
MAX_ECHO = 80  # characters of an offending value a refusal quotes

log = logging.getLogger("uvicorn.error")  # uvicorn's own log: one line, its format


class BodyLimits:
    """ASGI middleware: `limits` maps a path to its body bound (default MAX_JSON_BYTES)."""

    def __init__(self, app, limits: dict[str, int] | None = None,
                 default: int = MAX_JSON_BYTES, idle_s: float = IDLE_TIMEOUT_S):
        self.app, self.limits, self.default, self.idle_s = app, limits or {}, default, idle_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limits.get(scope["path"], self.default)
        size = f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 2**10} KB"
        too_large = HTTPException(413, f"the request body is larger than {size}")
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await _answer(send, too_large)
        received, done, started = 0, False, False

        async def bounded():
            nonlocal received, done
            if done:  # the body is in: later reads wait for a disconnect, untimed
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_s)
            except TimeoutError:
                raise HTTPException(408, f"the request body stopped arriving for "
                                         f"{self.idle_s:.0f} s") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
                done = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":  # told here, once, whatever comes next
                client = scope.get("client") or ("?", 0)
                log.warning("aborted request: %s %s from %s: the client went away after %d "
                            "bytes of its body", scope["method"], scope["path"], client[0],
                            received)
                raise ClientDisconnect
            return message

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, tracked)
        except ClientDisconnect:  # logged by bounded(); no one is left to answer
            pass
        except HTTPException as e:  # raised where no route turned it into a response
            if not started:
                await _answer(send, e)


async def _answer(send, e: HTTPException) -> None:
    body = json.dumps({"detail": e.detail}).encode()
    await send({"type": "http.response.start", "status": e.status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def validation_problem(request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, each error's input quoted short and JSON-safe."""
    return JSONResponse({"detail": [_safe(e) for e in exc.errors()]}, status_code=422)


def _safe(error: dict) -> dict:
    out = {k: error[k] for k in ("type", "loc", "msg") if k in error}
    out["loc"] = [x if isinstance(x, int | str) else str(x) for x in out.get("loc", ())]
    out["msg"] = str(out.get("msg", ""))[:300]
    value = error.get("input")
    if isinstance(value, bool | int | str | None) and len(str(value)) <= MAX_ECHO \
            or isinstance(value, float) and math.isfinite(value):
        out["input"] = value
    elif "input" in error:
        text = repr(value)
        out["input"] = text if len(text) <= MAX_ECHO else \
            f"{text[:MAX_ECHO]}... ({len(text):,} characters)"
    return out
