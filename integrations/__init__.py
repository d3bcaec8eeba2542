"""Outbound integrations: webhooks from the timeline (issue 30).

Why an app of its own (the fixed design lists four apps; this is the fifth): outbound
delivery is a separable concern. It reads ``chat`` (the stored timeline, rendered by
``chat.render`` for the endpoint's audience) and ``agents`` (offline messages, teams),
and nothing in ``accounts``, ``chat`` or ``agents`` imports it: it hooks itself into the
gateway from ``apps.py`` (``accounts.liveness.register_periodic_hook``), and its worker
reads what those apps have already stored. Removing it leaves the chat unchanged, and
no send ever waits for it.

Modules: ``models`` (endpoints, deliveries, per-room cursors), ``outbox`` (the scanner
that turns stored rows into deliveries: the cursor design is explained there),
``signing`` and ``sender`` (the HTTP side: signature, backoff, one attempt),
``services`` (writes), ``selectors`` (reads), ``worker`` (one tick: scan, then send),
``api/`` (the admin REST API), ``admin`` and ``management/commands/run_webhooks``.
"""
