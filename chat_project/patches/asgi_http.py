"""HTTP under ASGI: Django's own handler, with each request's sync work on a pooled
thread and the middleware and view in one hop (issue 8, scenarios 4 and 5).

What stock Django 5.2 does (``django/core/handlers/asgi.py`` and ``base.py``): every
request enters a fresh ``ThreadSensitiveContext``, so its first thread-sensitive call
starts a new thread (a new ``ThreadPoolExecutor``) for that one request; and the
middleware chain is built for async, so each sync middleware method
(``process_request``, ``process_view``, ``process_response``: 14 with our MIDDLEWARE),
the view, the ``request_started`` receivers and ``response.close()`` are separate
``sync_to_async`` hops between the event loop and that thread, ~17 per request. Each
hop hands the GIL over twice; with a few requests in flight a hand-over waits for the
running thread's switch interval (5 ms), and starting the thread blocks the event loop
until the new thread runs. Measured (docs/benchmarks.md): the cached newest history page
took p50 10 ms alone but 75 ms with 8 in flight, at the same throughput.

Here, with the same ``handle()``:
- the middleware chain is the sync one (as under WSGI), so ``get_response`` runs the
  middleware, view, exception handling and DRF (auth, CSRF, throttling) in one call;
- each request leases one of ``HTTP_THREADS`` long-lived single-thread executors and
  passes it to ``ThreadSensitiveContext`` (asgiref >= 3.13): every thread-sensitive call
  of the request (signals, the response, ``close()``) runs there, in order, on one
  thread, as Django expects; nothing starts a thread per request. A request that finds
  every thread busy waits on the event loop, in arrival order.

Database connections are per thread as always (``django_mongodb_backend`` shares one
MongoClient pool between them); ``request_started`` / ``request_finished`` still run
``close_old_connections`` on the request's thread. Static files keep Django's own
handler (``ASGIStaticFilesHandler`` wraps this one).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse, HttpRequest, HttpResponseBase, JsonResponse

from chat_project import deadlines
from chat_project.api import error_body
from chat_project.errors import ErrorCode
from chat_project.middleware import with_envelope

# The request's view on its thread, for its handler to free the thread once it is done
# (a request answered at its deadline may still hold it).
_running: ContextVar[list[asyncio.Future] | None] = ContextVar("running", default=None)


class PooledThreadASGIHandler(ASGIHandler):
    def __init__(self, *, threads: int) -> None:
        # Not ASGIHandler.__init__: that builds the async middleware chain.
        self.load_middleware(is_async=False)
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"http-{i}")
            for i in range(max(1, threads))
        ]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: asyncio.LifoQueue[ThreadPoolExecutor] | None = None

    def _idle_executors(self) -> asyncio.LifoQueue[ThreadPoolExecutor]:
        # Last in, first out: a light load keeps reusing the same warm thread (each
        # starts on its first request). Waiting requests are still served in order.
        # Bound to the running loop: daphne runs one per process, tests may run several
        # one after another.
        loop = asyncio.get_running_loop()
        if self._idle is None or self._loop is not loop:
            self._loop, self._idle = loop, asyncio.LifoQueue()
            for executor in self._executors:
                self._idle.put_nowait(executor)
        return self._idle

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # Answered within the bound of its arrival, whatever waits before it
        # (chat_project.deadlines): a thread, the database.
        deadline = deadlines.of()
        idle = self._idle_executors()
        try:
            async with asyncio.timeout_at(deadline + deadlines.MARGIN):
                executor = await idle.get()
        except TimeoutError:
            await _send_unavailable(scope, send)
            return
        running: list[asyncio.Future] = []
        token = _running.set(running)
        try:
            with deadlines.until(deadline):
                async with ThreadSensitiveContext(executor=executor):
                    await self.handle(scope, receive, send)
        finally:
            _running.reset(token)
            if running and not running[0].done():
                # Answered already; the thread is still at it: free once it is done.
                running[0].add_done_callback(lambda _f: idle.put_nowait(executor))
            else:
                idle.put_nowait(executor)

    def create_request(self, scope, body_file):
        # Django answers a request it cannot even build (a query string that is not
        # UTF-8, a body over DATA_UPLOAD_MAX_MEMORY_SIZE) here, before any middleware:
        # under /api/ that answer gets the contract's envelope too (issue 18).
        request, error_response = super().create_request(scope, body_file)
        if error_response is not None:
            error_response = with_envelope(scope.get("path", ""), error_response)
        return request, error_response

    def _respond_in_time(self, request: HttpRequest) -> HttpResponseBase:
        if deadlines.current() is not None and deadlines.now() >= deadlines.current():
            return _unavailable(request.path)  # waited past its deadline: not started
        return self.get_response(request)

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        # One hop: the sync chain (middleware, view, exception handling) on the
        # request's thread, awaited until the request's deadline.
        work = asyncio.ensure_future(
            sync_to_async(self._respond_in_time, thread_sensitive=True)(request)
        )
        running = _running.get()
        if running is not None:
            running.append(work)
        deadline = deadlines.current()
        try:
            if deadline is None:
                response = await work
            else:
                async with asyncio.timeout_at(deadline + deadlines.MARGIN):
                    response = await asyncio.shield(work)
        except TimeoutError:
            response = _unavailable(request.path)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # as ASGIHandler: daphne chunks itself
        return response


UNAVAILABLE = "The server did not answer in time; try again."


def _unavailable(path: str) -> HttpResponseBase:
    body: dict = error_body(ErrorCode.SERVICE_UNAVAILABLE, UNAVAILABLE)
    if path.startswith("/compat/"):
        # The compatibility edge's envelope (compat.envelope), whose clients read a
        # top-level message: answered here, before any view, in its shape too.
        body.update(
            success=False,
            message=UNAVAILABLE,
            data=None,
            statusCode=503,
            code="service_unavailable",
        )
    return with_envelope(path, JsonResponse(body, status=503))


async def _send_unavailable(scope: dict, send) -> None:
    response = _unavailable(scope.get("path", ""))
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
