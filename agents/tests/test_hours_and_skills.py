"""Business hours and skill requirements, the pure parts (``agents.hours``,
``agents.skills``): no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from agents import skills
from agents.hours import Schedule, parse_week

PARIS = "Europe/Paris"


def week(text: str, *, tz: str = PARIS, holidays=()) -> Schedule:
    return Schedule.build(timezone=tz, intervals=parse_week(text), holidays=holidays)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_no_hours_is_always_open():
    always = Schedule.build(timezone="UTC", intervals=[])
    assert always.always_open
    assert always.is_open(utc(2026, 3, 1, 3, 0))
    assert always.next_opening(utc(2026, 3, 1, 3, 0)) is None
    assert always.seconds_until_open(utc(2026, 3, 1, 3, 0)) == 0


def test_open_within_the_local_hours_of_the_time_zone():
    office = week("mon-fri 09:00-17:00")
    # Monday 2 March 2026: Paris is UTC+1.
    assert not office.is_open(utc(2026, 3, 2, 7, 59))  # 08:59 in Paris
    assert office.is_open(utc(2026, 3, 2, 8, 0))  # 09:00
    assert office.is_open(utc(2026, 3, 2, 15, 59))  # 16:59
    assert not office.is_open(utc(2026, 3, 2, 16, 0))  # 17:00: closes is excluded
    assert not office.is_open(utc(2026, 3, 7, 10, 0))  # Saturday


def test_next_opening_is_the_next_local_start():
    office = week("mon-fri 09:00-17:00")
    assert office.next_opening(utc(2026, 3, 2, 6, 0)) == utc(2026, 3, 2, 8, 0)  # same morning
    assert office.next_opening(utc(2026, 3, 2, 17, 0)) == utc(2026, 3, 3, 8, 0)  # next day
    assert office.next_opening(utc(2026, 3, 6, 17, 0)) == utc(2026, 3, 9, 8, 0)  # Fri -> Mon
    assert office.seconds_until_open(utc(2026, 3, 2, 7, 0)) == 3600


def test_next_opening_crosses_daylight_saving_in_local_time():
    # Paris goes to UTC+2 on Sunday 29 March 2026: Monday's 09:00 is 07:00 UTC.
    office = week("mon-fri 09:00-17:00")
    assert office.next_opening(utc(2026, 3, 27, 18, 0)) == utc(2026, 3, 30, 7, 0)
    assert office.is_open(utc(2026, 3, 30, 7, 0))


def test_holidays_close_whole_local_days():
    office = week("mon-fri 09:00-17:00", holidays=[date(2026, 3, 2), date(2026, 3, 3)])
    assert not office.is_open(utc(2026, 3, 2, 10, 0))
    assert office.next_opening(utc(2026, 3, 1, 12, 0)) == utc(2026, 3, 4, 8, 0)


def test_split_days_midnight_and_wrapping_ranges():
    shifts = week("mon 08:00-12:00, mon 14:00-24:00, sat-sun 10:00-14:00", tz="UTC")
    assert shifts.is_open(utc(2026, 3, 2, 23, 59))  # until midnight
    assert not shifts.is_open(utc(2026, 3, 2, 13, 0))  # the lunch gap
    assert shifts.next_opening(utc(2026, 3, 2, 13, 0)) == utc(2026, 3, 2, 14, 0)
    assert parse_week("fri-mon 10:00-11:00") == [(day, time(10), time(11)) for day in (4, 5, 6, 0)]


@pytest.mark.parametrize(
    "bad", ["monday 09:00-17:00", "mon-fri 9-5", "mon 17:00-09:00", "mon 09:00-25:00"]
)
def test_a_bad_week_is_refused(bad):
    with pytest.raises(ValueError):  # noqa: PT011 (the message names the part)
        parse_week(bad)


def test_holidays_are_skipped_and_a_team_that_never_opens_has_no_next_opening():
    mondays = [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23)]
    closed = Schedule.build(timezone="UTC", intervals=[(0, time(9), time(10))], holidays=mondays)
    assert closed.next_opening(utc(2026, 3, 1)) == utc(2026, 3, 30, 9, 0)
    nothing = Schedule(hours={0: ()})  # an empty day list: never open, no opening
    assert nothing.next_opening(utc(2026, 3, 1)) is None
    assert nothing.seconds_until_open(utc(2026, 3, 1)) is None


def test_open_seconds_count_only_open_local_hours():
    office = week("mon-fri 09:00-17:00")  # Paris, UTC+1 in March
    friday_16h, monday_10h = utc(2026, 3, 6, 15, 0), utc(2026, 3, 9, 9, 0)
    assert office.open_seconds(friday_16h, monday_10h) == 2 * 3600  # 1 h Friday, 1 h Monday
    assert office.open_seconds(monday_10h, friday_16h) == 0
    assert office.open_seconds(utc(2026, 3, 7, 10, 0), utc(2026, 3, 8, 20, 0)) == 0  # weekend
    always = Schedule.build(timezone="UTC", intervals=[])
    assert always.open_seconds(friday_16h, monday_10h) == 66 * 3600


def test_open_seconds_skip_holidays_and_run_to_midnight():
    office = week("mon-fri 09:00-17:00", holidays=[date(2026, 3, 10)])
    assert office.open_seconds(utc(2026, 3, 9, 0, 0), utc(2026, 3, 12, 0, 0)) == 16 * 3600
    evenings = week("mon-sun 20:00-00:00", tz="UTC")
    assert evenings.open_seconds(utc(2026, 3, 9, 23, 0), utc(2026, 3, 10, 21, 0)) == 2 * 3600
    # Paris's short night (29 March 2026): the wall-clock 09:00-17:00 is still 8 hours.
    assert office.open_seconds(utc(2026, 3, 30, 0, 0), utc(2026, 3, 31, 0, 0)) == 8 * 3600


def test_after_open_seconds_is_where_the_open_time_runs_out():
    office = week("mon-fri 09:00-17:00")
    friday_16h = utc(2026, 3, 6, 15, 0)
    assert office.after_open_seconds(friday_16h, 1800) == utc(2026, 3, 6, 15, 30)
    assert office.after_open_seconds(friday_16h, 2 * 3600) == utc(2026, 3, 9, 9, 0)
    never = Schedule.build(timezone="UTC", intervals=[(0, time(9), time(10))], holidays=[])
    assert never.after_open_seconds(utc(2026, 3, 9, 9, 0), 10**9) is None  # past the horizon
    always = Schedule.build(timezone="UTC", intervals=[])
    assert always.after_open_seconds(friday_16h, 60) == utc(2026, 3, 6, 15, 1)


def test_requirements_parse_and_normalize():
    assert skills.parse_requirements("French, billing:2 ,french:3") == [
        {"name": "billing", "min_level": 2},
        {"name": "french", "min_level": 3},
    ]
    assert skills.parse_requirements("") == []
    assert skills.requirements_text(skills.parse_requirements("billing:2, en")) == "billing:2, en"
    for bad in ("fr ench", "billing:x", "x" * 41, "billing:11"):
        with pytest.raises(ValueError):  # noqa: PT011
            skills.parse_requirements(bad)
    with pytest.raises(ValueError, match="At most"):
        skills.normalize([{"name": f"s{n}"} for n in range(11)])


@pytest.mark.parametrize(
    ("held", "needs", "ok"),
    [
        ({}, [], True),
        ({"french": None}, [{"name": "french", "min_level": None}], True),
        ({"french": None}, [{"name": "french", "min_level": 2}], False),  # no level: no minimum
        ({"french": 2}, [{"name": "french", "min_level": 2}], True),
        ({"french": 1}, [{"name": "french", "min_level": 2}], False),
        ({"french": 5}, [{"name": "french"}, {"name": "billing"}], False),  # every skill
        ({"french": 5, "billing": None}, [{"name": "french"}, {"name": "billing"}], True),
    ],
)
def test_holding_skills(held, needs, ok):
    assert skills.holds(held, needs) is ok
