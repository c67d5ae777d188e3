"""Working days for the public notice (公示, at least 5 working days): weekends, statutory holidays and
make-up workdays (调休) from the official calendar; a year nobody has supplied is an error, never a guess.

Facts from /work/shared/CALENDAR-FACTS.md: 2026 National Day break Oct 1–7 with make-up workdays
Sun Sep 20 and Sat Oct 10; Spring Festival Feb 15–23 with make-up workdays Feb 14 and Feb 28; all 2026
make-up workdays: Jan 4, Feb 14, Feb 28, May 9, Sep 20, Oct 10. Counting starts the day after.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import processor.workdays as workdays
from processor.consolidate import notice_dates
from processor.workdays import CalendarInvalid, CalendarMissing, add_working_days, is_working_day, next_working_day
from run_helpers import consolidated_path, loose_inbox, results, run_args, run_cli, sheet_values

D = dt.date


@pytest.fixture
def calendars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty calendars folder of the county's own, instead of the project's."""
    folder = tmp_path / "calendars"
    folder.mkdir()
    monkeypatch.setattr(workdays, "CALENDAR_DIR", folder)
    workdays.supplied_year.cache_clear()
    yield folder
    workdays.supplied_year.cache_clear()


# 2027 as a county might supply it. Invented for the test, NOT the State Council's 2027 notice.
CALENDAR_2027 = """\
# test data only
holidays: [2027-01-01, "2027-02-08", 2027-02-09]
workdays: [2027-02-06]
"""


# --- 2026, from the official calendar --------------------------------------------------------

@pytest.mark.parametrize("start, days, end", [
    (D(2026, 9, 28), 5, D(2026, 10, 10)),   # Sep 29, 30, (Oct 1–7 holiday), Oct 8, 9, Sat 10 make-up
    (D(2026, 2, 11), 5, D(2026, 2, 25)),    # Feb 12, 13, Sat 14 make-up, (15–23 holiday), 24, 25
    (D(2026, 3, 6), 1, D(2026, 3, 9)),      # Friday → Monday: the weekend is skipped
    (D(2026, 3, 2), 5, D(2026, 3, 9)),      # a plain week
    (D(2026, 9, 18), 1, D(2026, 9, 20)),    # Friday → Sunday Sep 20, a make-up workday
])
def test_add_working_days__2026(start, days, end):
    assert add_working_days(start, days) == end


@pytest.mark.parametrize("day", [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20),
                                 D(2026, 10, 10)])
def test_is_working_day__2026_make_up_workdays_on_weekends(day):
    assert day.weekday() >= 5 and is_working_day(day)


@pytest.mark.parametrize("day", [D(2026, 10, d) for d in range(1, 8)] + [D(2026, 2, d) for d in range(15, 24)])
def test_is_working_day__2026_holidays(day):
    assert not is_working_day(day)


def test_next_working_day__after_the_national_day_break():
    assert next_working_day(D(2026, 9, 30)) == D(2026, 10, 8)


# --- a year nobody has supplied --------------------------------------------------------------

def test_2027_without_a_calendar_file__CalendarMissing_names_the_year_and_the_file(calendars):
    with pytest.raises(CalendarMissing) as caught:
        is_working_day(D(2027, 3, 1))
    assert caught.value.year == 2027
    assert "2027" in str(caught.value) and "calendars/2027.yaml" in str(caught.value)


def test_2026_notice_running_into_2027__CalendarMissing(calendars):
    with pytest.raises(CalendarMissing, match="calendars/2027.yaml"):
        add_working_days(D(2026, 12, 28), 5)


def test_2027_with_a_supplied_calendar_file__used(calendars):
    (calendars / "2027.yaml").write_text(CALENDAR_2027, encoding="utf-8")
    assert not is_working_day(D(2027, 1, 1))            # a supplied holiday (a Friday)
    assert is_working_day(D(2027, 2, 6))                # a supplied make-up workday (a Saturday)
    assert not is_working_day(D(2027, 2, 7))            # a plain Sunday
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert add_working_days(D(2027, 2, 4), 3) == D(2027, 2, 10)  # Fri 5, Sat 6 make-up, (8–9 holiday), Wed 10


def test_supplied_calendar_file_with_a_wrong_date__CalendarInvalid_names_the_file(calendars):
    (calendars / "2027.yaml").write_text('holidays: ["2027-02-30"]\nworkdays: []\n', encoding="utf-8")
    with pytest.raises(CalendarInvalid) as caught:
        is_working_day(D(2027, 3, 1))
    assert isinstance(caught.value, CalendarMissing) and "calendars/2027.yaml" in str(caught.value)


# --- the notice period -----------------------------------------------------------------------

def test_notice_dates__starting_on_a_working_day():
    assert notice_dates(D(2026, 9, 28), 5) == {"start": "2026-09-28", "end": "2026-10-10", "working_days": 5,
                                               "error": ""}


def test_notice_dates__starting_in_a_holiday__moves_to_the_next_working_day():
    assert notice_dates(D(2026, 10, 3), 5)["start"] == "2026-10-08"
    assert notice_dates(D(2026, 10, 3), 5)["end"] == "2026-10-14"


def test_notice_dates__unknown_year__an_error_text_not_an_exception(calendars):
    notice = notice_dates(D(2027, 1, 5), 5)
    assert (notice["start"], notice["end"]) == (None, None) and "calendars/2027.yaml" in notice["error"]


def test_run__notice_in_an_unsupplied_year__outputs_written_with_the_reason(tmp_path, calendars):
    inbox, out = loose_inbox(tmp_path / "inbox", {"城关镇": [3, 2, 1]}), tmp_path / "out"
    code, _, stderr = run_cli(*run_args(inbox, out, "--notice-start", "2027-01-05"))
    assert code == 0, stderr
    assert [p["code"] for p in results(out)["problems"]] == ["RUN_004"]
    assert "calendars/2027.yaml" in sheet_values(consolidated_path(out), "公示名单")[2][0]


def test_run__notice_in_a_supplied_year__公示名单_shows_start_and_end(tmp_path, calendars):
    (calendars / "2027.yaml").write_text(CALENDAR_2027, encoding="utf-8")
    inbox, out = loose_inbox(tmp_path / "inbox", {"城关镇": [3, 2, 1]}), tmp_path / "out"
    run_cli(*run_args(inbox, out, "--notice-start", "2027-02-04"))
    assert results(out)["notice"]["end"] == "2027-02-12"  # Fri 5, Sat 6, (8–9), Wed 10, Thu 11, Fri 12
    rows = sheet_values(consolidated_path(out), "公示名单")
    assert "2027-02-04 至 2027-02-12" in rows[2][0]
    assert rows[4][4:6] == ["2027-02-04", "2027-02-12"]  # under title, facts, note and header


def test_run__notice_start_from_the_command_line__公示名单(tmp_path):
    inbox, out = loose_inbox(tmp_path / "inbox", {"城关镇": [5, 3, 1]}), tmp_path / "out"
    run_cli(*run_args(inbox, out, "--notice-start", "2026-02-11"))
    rows = sheet_values(consolidated_path(out), "公示名单")
    assert rows[2][0].startswith("公示期：2026-02-11 至 2026-02-25")
    assert [r[4:6] for r in rows[4:6]] == [["2026-02-11", "2026-02-25"]] * 2
