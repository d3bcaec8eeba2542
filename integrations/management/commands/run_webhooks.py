import logging
import os
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from integrations import services

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Deliver webhooks: scan the timeline into the outbox and send what is due, every "
        "WEBHOOK_TICK_SECONDS, until stopped (SIGTERM or Ctrl-C end it after the current "
        "tick). Any number may run, beside the gateways or instead of them "
        "(WEBHOOKS_IN_GATEWAY=0): one at a time scans the timeline, and leases keep them "
        "from sending a retry twice at once. It lowers its CPU priority by "
        "WEBHOOK_WORKER_NICE (os.nice) first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one tick, then exit")
        parser.add_argument(
            "--every", type=float, default=None, help="seconds between ticks (default: setting)"
        )

    def handle(self, *args, **options):
        # Background work: the gateways sharing this host answer chats first.
        niceness = os.nice(settings.WEBHOOK_WORKER_NICE) if settings.WEBHOOK_WORKER_NICE else 0
        if options["verbosity"] > 0:
            self.stdout.write(f"run_webhooks: pid {os.getpid()}, nice {niceness}")
        try:
            self._loop(options)
        finally:
            try:
                services.webhooks_stopped()
            except Exception:  # the database away: the scan lapses on its own
                logger.exception("could not hand the webhook scan over")

    def _loop(self, options):
        every = options["every"] or settings.WEBHOOK_TICK_SECONDS
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while True:
            started = time.monotonic()
            try:
                result = services.webhooks_tick()
            except Exception:  # the database away for a moment: the next tick tries again
                if options["once"]:
                    raise
                logger.exception("webhook tick failed")
                result = {}
            if options["verbosity"] > 1 or options["once"]:
                self.stdout.write(
                    " ".join(f"{name}={value}" for name, value in sorted(result.items()))
                )
            if options["once"] or stopping:
                return
            try:
                time.sleep(max(0.0, every - (time.monotonic() - started)))
            except KeyboardInterrupt:
                return
            if stopping:
                return
