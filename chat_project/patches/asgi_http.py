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

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse, HttpRequest, HttpResponseBase

from chat_project.middleware import with_envelope


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
        idle = self._idle_executors()
        executor = await idle.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            idle.put_nowait(executor)

    def create_request(self, scope, body_file):
        # Django answers a request it cannot even build (a query string that is not
        # UTF-8, a body over DATA_UPLOAD_MAX_MEMORY_SIZE) here, before any middleware:
        # under /api/ that answer gets the contract's envelope too (issue 18).
        request, error_response = super().create_request(scope, body_file)
        if error_response is not None:
            error_response = with_envelope(scope.get("path", ""), error_response)
        return request, error_response

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        # One hop: the sync chain (middleware, view, exception handling) on the
        # request's thread.
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # as ASGIHandler: daphne chunks itself
        return response
