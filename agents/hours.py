"""Business hours (issue 15): is a team open at an instant, and when does it open next;
and (issue 30, the SLA clock) how much open time lies between two instants. Pure: no
database (``agents.directory`` builds a :class:`Schedule` per team).

A schedule is weekly opening intervals in the team's time zone, ``[opens, closes)`` on
a weekday (``closes`` 00:00 is midnight at the end of that day), minus holidays (whole
local days). No interval at all means always open. Local times are wall-clock times:
on a day that skips or repeats an hour (daylight saving) an interval opens and closes
at those wall-clock times, as people read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MIDNIGHT = time(0)
# How far ahead the next opening is looked for (a year of holidays is the worst case).
HORIZON_DAYS = 400


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    # weekday (Monday 0) -> [(opens, closes)], sorted by opening
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        timezone: str,
        intervals: Iterable[tuple[int, time, time]],
        holidays: Iterable[date] = (),
    ) -> Schedule:
        hours: dict[int, list[tuple[time, time]]] = {}
        for weekday, opens, closes in intervals:
            hours.setdefault(int(weekday), []).append((opens, closes))
        return cls(
            tz=ZoneInfo(timezone),
            hours={day: tuple(sorted(spans)) for day, spans in hours.items()},
            holidays=frozenset(holidays),
        )

    @property
    def always_open(self) -> bool:
        return not self.hours

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(self.tz)
        if local.date() in self.holidays:
            return False
        now = local.time().replace(tzinfo=None)
        return any(
            opens <= now and (closes == MIDNIGHT or now < closes)
            for opens, closes in self.hours.get(local.weekday(), ())
        )

    def next_opening(self, at: datetime) -> datetime | None:
        """The next instant after ``at`` when the team opens, in UTC; None when it is
        open at ``at`` or never opens within the horizon."""
        if self.is_open(at):
            return None
        day = at.astimezone(self.tz).date()
        for offset in range(HORIZON_DAYS):
            current = day + timedelta(days=offset)
            if current in self.holidays:
                continue
            for opens, _closes in self.hours.get(current.weekday(), ()):
                start = datetime.combine(current, opens, tzinfo=self.tz)
                if start > at:
                    return start.astimezone(UTC)
                # Opened earlier that day and closed again (we are not open): later ones.
        return None

    def seconds_until_open(self, at: datetime) -> int | None:
        """0 when open; None when it never opens within the horizon."""
        if self.is_open(at):
            return 0
        opening = self.next_opening(at)
        if opening is None:
            return None
        return max(int((opening - at).total_seconds() + 0.999), 0)

    def _open_spans(
        self, start: datetime, end: datetime | None
    ) -> Iterable[tuple[datetime, datetime]]:
        """The open intervals (UTC) that overlap ``[start, end)``, in order, clipped to
        it (``end`` None: up to the horizon)."""
        first = start.astimezone(self.tz).date() - timedelta(days=1)  # an interval to midnight
        for offset in range(HORIZON_DAYS + 1):
            day = first + timedelta(days=offset)
            if end is not None and datetime.combine(day, MIDNIGHT, tzinfo=self.tz) >= end:
                return
            if day in self.holidays:
                continue
            for opens, closes in self.hours.get(day.weekday(), ()):
                span_start = datetime.combine(day, opens, tzinfo=self.tz)
                closing_day = day + timedelta(days=1) if closes == MIDNIGHT else day
                span_end = datetime.combine(closing_day, closes, tzinfo=self.tz)
                low = max(span_start, start)
                high = span_end if end is None else min(span_end, end)
                if low < high:
                    yield low.astimezone(UTC), high.astimezone(UTC)

    def open_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds the team is open in ``[start, end)`` (all of them when always open)."""
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        return sum((high - low).total_seconds() for low, high in self._open_spans(start, end))

    def after_open_seconds(self, start: datetime, seconds: float) -> datetime | None:
        """The instant when the team has been open ``seconds`` since ``start``; None when
        that is past the horizon."""
        if self.always_open:
            return start + timedelta(seconds=seconds)
        left = seconds
        for low, high in self._open_spans(start, None):
            length = (high - low).total_seconds()
            if length >= left:
                return low + timedelta(seconds=left)
            left -= length
        return None


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_week(text: str) -> list[tuple[int, time, time]]:
    """``"mon-fri 09:00-17:00, sat 10:00-14:00"`` -> ``[(weekday, opens, closes)...]``
    (``manage.py create_team --hours``). A day range wraps (``fri-mon``); ``24:00`` or
    ``00:00`` as the closing time is midnight. ``ValueError`` says what is wrong."""
    intervals = []
    for part in (text or "").split(","):
        part = part.strip().lower()
        if not part:
            continue
        try:
            days, span = part.split()
            first, _, last = days.partition("-")
            opens_text, closes_text = span.split("-")
            start, end = DAYS.index(first), DAYS.index(last or first)
        except ValueError:
            raise ValueError(f"{part!r}: write e.g. 'mon-fri 09:00-17:00'.") from None
        opens, closes = _clock(opens_text), _clock(closes_text)
        if closes != MIDNIGHT and closes <= opens:
            raise ValueError(f"{part!r}: closes after it opens (24:00 is midnight).")
        day = start
        while True:
            intervals.append((day, opens, closes))
            if day == end:
                break
            day = (day + 1) % 7
    return intervals


def _clock(text: str) -> time:
    if text == "24:00":
        return MIDNIGHT
    try:
        hours, minutes = (int(n) for n in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ValueError(f"{text!r} is not a time (HH:MM).") from None
