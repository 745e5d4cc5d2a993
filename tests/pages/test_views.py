"""The week, month and agenda views put every occurrence on its days."""

from __future__ import annotations

from datetime import date

from calendars.models import Calendar
from tests.conftest import make_calendar
from tests.pages.conftest import WEEK, all_day_event, store, timed_event


def chips_by_day(view):
    return {
        day.date: [(chip.summary, chip.label) for chip in day.chips]
        for day in view.days
    }


def test_the_week_view_is_the_default_and_starts_on_monday(owner_client, berlin_owner):
    response = owner_client.get("/", {"date": "2026-03-04"})

    view = response.context["view"]
    assert view.period.view == "week"
    assert [day.date for day in view.days][0] == date(2026, 3, 2)
    assert len(view.days) == 7
    assert "2 Mar 2026 – 8 Mar 2026" in response.text


def test_the_week_view_shows_a_recurring_event_on_its_days(
    owner_client, berlin_owner, standup
):
    response = owner_client.get("/", {"view": "week", "date": WEEK})

    days = chips_by_day(response.context["view"])
    assert days[date(2026, 3, 2)] == [("Standup", "09:00 – 09:15")]
    assert days[date(2026, 3, 4)] == [("Standup", "09:00 – 09:15")]
    assert all(not chips for day, chips in days.items() if day.day not in (2, 4))


def test_times_follow_the_viewers_time_zone(owner_client, owner, standup):
    response = owner_client.get("/", {"view": "week", "date": WEEK})

    days = chips_by_day(response.context["view"])
    assert days[date(2026, 3, 2)] == [("Standup", "08:00 – 08:15")]
    assert "Times in UTC" in response.text


def test_an_all_day_trip_spans_its_days_in_the_week(
    owner_client, berlin_owner, ski_trip
):
    response = owner_client.get("/", {"view": "week", "date": WEEK})

    view = response.context["view"]
    (banner,) = view.banners
    assert banner.summary == "Ski trip"
    assert "grid-column: 5 / 8" in banner.style
    assert view.banner_rows == 1
    assert 'style="grid-column: 5 / 8; grid-row: 1"' in response.text


def test_an_event_across_midnight_is_cut_into_two_days(owner_client, berlin_owner):
    calendar = make_calendar(
        berlin_owner.google_accounts.create(email="night@example.com")
    )
    store(
        calendar,
        timed_event(
            "night",
            "Night train",
            "2026-03-03T22:00:00+01:00",
            "2026-03-04T06:00:00+01:00",
        ),
    )

    response = owner_client.get("/", {"view": "week", "date": WEEK})

    days = chips_by_day(response.context["view"])
    assert days[date(2026, 3, 3)] == [("Night train", "from 22:00")]
    assert days[date(2026, 3, 4)] == [("Night train", "until 06:00")]


def test_the_month_view_puts_series_and_trips_on_their_days(
    owner_client, berlin_owner, standup, ski_trip
):
    response = owner_client.get("/", {"view": "month", "date": "2026-03-15"})

    view = response.context["view"]
    days = chips_by_day(view)
    mondays = [day for day in days if day.weekday() == 0 and day.month == 3]
    assert all(("Standup", "09:00 – 09:15") in days[day] for day in mondays)
    assert ("Ski trip", "All day") in days[date(2026, 3, 6)]
    assert ("Ski trip", "All day") in days[date(2026, 3, 8)]
    assert ("Ski trip", "All day") not in days[date(2026, 3, 9)]
    assert view.days[0].date == date(2026, 2, 23)
    assert len(view.weeks) == 6
    assert "March 2026" in response.text


def test_the_agenda_lists_only_days_with_events(
    owner_client, berlin_owner, standup, ski_trip
):
    response = owner_client.get("/", {"view": "agenda", "date": "2026-03-05"})

    view = response.context["view"]
    days = chips_by_day(view)
    assert days[date(2026, 3, 6)] == [("Ski trip", "All day")]
    assert days[date(2026, 3, 7)] == [("Ski trip", "All day")]
    assert days[date(2026, 3, 9)] == [("Standup", "09:00 – 09:15")]
    assert date(2026, 3, 5) not in days
    assert max(days) < date(2026, 4, 4)


def test_previous_and_next_move_by_the_views_length(owner_client, berlin_owner):
    week = owner_client.get("/", {"view": "week", "date": WEEK}).context["view"]
    month = owner_client.get("/", {"view": "month", "date": "2026-01-31"}).context[
        "view"
    ]

    assert "date=2026-02-23" in week.links["previous"].page
    assert "date=2026-03-09" in week.links["next"].page
    assert "date=2026-02-01" in month.links["next"].page
    assert "date=2025-12-01" in month.links["previous"].page


def test_a_nonsense_date_or_view_falls_back_to_this_week(owner_client, berlin_owner):
    response = owner_client.get("/", {"view": "year", "date": "2026-13-45"})

    assert response.status_code == 200
    assert response.context["view"].period.view == "week"


def test_hidden_calendars_are_left_out(owner_client, berlin_owner, standup):
    Calendar.objects.update(selected=False)

    response = owner_client.get("/", {"view": "week", "date": WEEK})

    assert response.context["view"].empty
    assert "Standup" not in response.text.split('id="view"')[1]


def test_the_view_fragment_renders_the_same_chips(owner_client, berlin_owner, standup):
    response = owner_client.get("/calendar/view", {"view": "agenda", "date": WEEK})

    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="view"' in response.text
    assert "Standup" in response.text


def test_hostile_titles_are_escaped_everywhere(
    owner_client, berlin_owner, owner_calendar
):
    event = store(
        owner_calendar,
        timed_event(
            "evil",
            "<script>alert(1)</script>",
            "2026-03-02T10:00:00+01:00",
            "2026-03-02T11:00:00+01:00",
            location='<img src=x onerror="alert(2)">',
            description="<b>bold</b>\nline two",
            htmlLink="javascript:alert(3)",
        ),
    )

    page = owner_client.get("/", {"view": "week", "date": WEEK}).text
    detail = owner_client.get(f"/events/{event.pk}").text

    for html in (page, detail):
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in detail
    assert "&lt;b&gt;bold&lt;/b&gt;<br>line two" in detail
    assert "javascript:alert(3)" not in detail


def test_event_details_show_the_occurrence_and_link_to_google(
    owner_client, berlin_owner, standup
):
    response = owner_client.get(
        f"/events/{standup.pk}",
        {"start": "2026-03-04T09:00:00+01:00", "end": "2026-03-04T09:15:00+01:00"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Wednesday 4 Mar 2026, 09:00 – 09:15" in response.text
    assert 'href="https://www.google.com/calendar/event?eid=standup"' in response.text


def test_event_details_without_a_moment_show_the_events_own_time(
    owner_client, berlin_owner, ski_trip
):
    response = owner_client.get(f"/events/{ski_trip.pk}", {"start": "nonsense"})

    assert "6 Mar 2026 – 8 Mar 2026, all day" in response.text
    assert "Back to the calendar" in response.text


def test_the_week_page_costs_the_same_queries_for_many_events(
    owner_client, berlin_owner, owner_calendar, django_assert_max_num_queries
):
    for index in range(60):
        day = 2 + index % 7
        store(
            owner_calendar,
            timed_event(
                f"e{index}",
                f"Meeting {index}",
                f"2026-03-{day:02d}T{8 + index % 9:02d}:00:00+01:00",
                f"2026-03-{day:02d}T{9 + index % 9:02d}:00:00+01:00",
            ),
        )
        store(
            owner_calendar,
            all_day_event(f"a{index}", "Holiday", "2026-03-02", "2026-03-04"),
        )

    # One of them finds the series no view can show, for the sidebar.
    with django_assert_max_num_queries(11):
        response = owner_client.get("/", {"view": "week", "date": WEEK})

    assert response.text.count("Meeting ") == 60
