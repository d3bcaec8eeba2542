import json
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from adminstats import selectors
from adminstats.templatetags.stats_format import duration, percent
from chat_project.errors import DomainError


def _when(value: str | None, name: str):
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--{name}: not an ISO 8601 time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


class Command(BaseCommand):
    help = (
        "Print the support statistics of GET /api/admin/chat-stats (definitions: "
        "docs/stats.md): right now, and for a window (default the last 24 hours; "
        "--from/--to in ISO 8601, UTC unless a zone is given). A table, or --json for "
        "the API's exact document. Read-only; computed fresh (not from the cache)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="window start, e.g. 2026-03-01T00:00Z")
        parser.add_argument("--to", dest="end", help="window end (exclusive)")
        parser.add_argument("--json", action="store_true", help="print the JSON document")

    def handle(self, *args, **options):
        try:
            stats = selectors.chat_stats(
                start=_when(options["start"], "from"),
                end=_when(options["end"], "to"),
                use_cache=False,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.details or ''}".strip()) from exc
        if options["json"]:
            self.stdout.write(json.dumps(stats, indent=2))
            return
        for line in table(stats):
            self.stdout.write(line)


def table(stats: dict) -> list[str]:
    now, window = stats["now"], stats["window"]
    lines = [
        f"chat statistics at {stats['generated_at']}",
        "",
        "now",
        f"  rooms queued / active / closed   {now['rooms']['queued']} / "
        f"{now['rooms']['active']} / {now['rooms']['closed']}",
        f"  queue length                     {now['queue']['length']}",
        f"  longest current wait             {duration(now['queue']['longest_wait_seconds'])}",
        f"  online customers / agents        {now['online']['customers']} / "
        f"{now['online']['agents']}",
        "",
        f"window {window['from']} .. {window['to']}",
        f"  rooms created                    {window['rooms_created']}",
        f"  rooms closed                     {window['rooms_closed']} "
        f"({window['rooms_closed_unassigned']} without an agent)",
        f"  messages sent                    {window['messages_sent']} "
        f"({window['agent_messages_sent']} by agents)",
        f"  {'':31}  {'rooms':>6}  {'median':>12}  {'p90':>12}",
    ]
    for label, key in (
        ("wait (created -> assigned)", "wait_seconds"),
        ("first response", "first_response_seconds"),
        ("resolution (created -> closed)", "resolution_seconds"),
    ):
        figure = window[key]
        lines.append(
            f"  {label:31}  {figure['count']:>6}  {duration(figure['median']):>12}  "
            f"{duration(figure['p90']):>12}"
        )
    csat = window["csat"]
    breaches = window["sla_breaches"]
    lines += [
        f"  CSAT (4 or 5)                    {percent(csat['score'])} of {csat['rated']} "
        f"ratings; response rate {percent(csat['response_rate'])}",
        f"  SLA breaches                     first response {breaches['first_response']}, "
        f"resolution {breaches['resolution']}",
        "  rooms created per tag            "
        + (", ".join(f"{t['tag']} {t['rooms']}" for t in window["tags"]) or "none"),
    ]
    lines += ["", "agents"]
    header = (
        f"  {'agent':16} {'status':8} {'accepting':9} {'online':6} {'load':>7} "
        f"{'closed':>6} {'msgs':>6} {'median first response':>22} {'CSAT':>6}"
    )
    lines.append(header)
    for agent in stats["agents"]:
        load = f"{agent['active_chats']}/{agent['max_chats']}"
        lines.append(
            f"  {agent['username']:16} {agent['status']:8} "
            f"{'yes' if agent['accepting_chats'] else 'no':9} "
            f"{'yes' if agent['online'] else 'no':6} {load:>7} {agent['rooms_closed']:>6} "
            f"{agent['messages_sent']:>6} "
            f"{duration(agent['first_response_seconds']['median']):>22} "
            f"{percent(agent['csat']['score']):>6}"
        )
    if not stats["agents"]:
        lines.append("  (no agents)")
    if stats.get("teams"):
        lines += ["", "teams (the window's rooms by the team they are in)"]
        lines.append(
            f"  {'team':20} {'open':4} {'queue':>5} {'created':>7} {'offline':>7} "
            f"{'overflows':>9} {'median wait':>12} {'first response':>14} {'resolution':>12} "
            f"{'csat':>6}"
        )
        for team in stats["teams"]:
            lines.append(
                f"  {team['name'][:20]:20} {'yes' if team['open'] else 'no':4} "
                f"{team['queue']['length']:>5} {team['rooms_created']:>7} "
                f"{team['rooms_created_outside_hours']:>7} {team['overflows']:>9} "
                f"{duration(team['wait_seconds']['median']):>12} "
                f"{duration(team['first_response_seconds']['median']):>14} "
                f"{duration(team['resolution_seconds']['median']):>12} "
                f"{percent(team['csat']['score']):>6}"
            )
    return lines
