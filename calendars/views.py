"""The pages people use: the calendar in week, month and agenda views.

A view is drawn from the database alone, so it renders at once; the page's
script and the live stream only ever ask for a fresh fragment of it.
Recurring series are expanded here, in the viewer's time zone, and every
layout decision (which column, which lane, how tall) is made in Python so
the templates only display.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from calendars.forms import SignupForm, TimeZoneForm
from calendars.invalid import invalid_series
from calendars.models import Calendar, Event, GoogleAccount, SyncState, UserProfile
from chronos.types import AuthenticatedRequest
from syncengine import dispatch
from syncengine.publish import committed_cursor
from syncengine.recurrence import Occurrence, expand_occurrences, recurrence_problem
from webhooks.channels import stop_channels

logger = logging.getLogger(__name__)


class HtmxRequest(AuthenticatedRequest):
    """A signed-in request that went through django-htmx's middleware."""

    htmx: HtmxDetails


VIEWS = {
    "week": "calendars/_week.html",
    "month": "calendars/_month.html",
    "agenda": "calendars/_agenda.html",
}
AGENDA_DAYS = 30
# A month cell shows this many events, then "+N more".
MONTH_CHIPS = 4
# All-day dates float: a day in the viewer's zone begins up to 14 hours away
# from the UTC midnight they are stored at, so the query looks a day wider.
FLOATING_SLACK = timedelta(days=1)
# An exception sits near the occurrence it replaces, at most a day away.
EXCEPTION_SLACK = timedelta(days=1)
# The shortest chip the week view draws, so a 5-minute event stays readable.
MIN_CHIP_MINUTES = 24
MINUTES_PER_DAY = 24 * 60
# Chips shorter than this put time and title on one line.
COMPACT_MINUTES = 50
DEFAULT_COLOR = "#4b6bd6"
# Colours end up in style attributes; anything else could inject CSS.
COLOR = re.compile(r"#[0-9a-fA-F]{3,8}")
# A view reaches weeks to either side of its date, which the ends of the
# calendar leave no room for: dates beyond these are treated as nonsense.
EARLIEST_DATE = date.min + timedelta(days=366)
LATEST_DATE = date.max - timedelta(days=366)


@dataclass(frozen=True)
class Period:
    """The days one view shows, and where previous and next lead."""

    view: str
    anchor: date
    first: date
    last: date  # exclusive
    previous: date
    next: date
    title: str


@dataclass(frozen=True)
class Link:
    """A place in the calendar: the full page and its view fragment."""

    page: str
    fragment: str


@dataclass(frozen=True)
class Chip:
    """One occurrence as the pages draw it, in the viewer's zone."""

    event_pk: int
    summary: str
    calendar: str
    color: str
    start: datetime | date
    end: datetime | date
    all_day: bool
    href: str
    label: str = ""
    style: str = ""
    continues_before: bool = False
    continues_after: bool = False
    # Too short in the week view for the time on a line of its own.
    compact: bool = False

    @property
    def classes(self) -> str:
        flags = (
            (self.all_day, "all-day"),
            (self.continues_before, "continues-before"),
            (self.continues_after, "continues-after"),
            (self.compact, "compact"),
        )
        return " ".join(["event", *(name for on, name in flags if on)])

    @property
    def first_day(self) -> date:
        return _day_of(self.start)

    @property
    def last_day(self) -> date:
        """The last day the chip covers; ends are exclusive."""
        if isinstance(self.end, datetime):
            return _day_of(self.end - timedelta(microseconds=1))

        return self.end - timedelta(days=1)

    @property
    def is_banner(self) -> bool:
        """All-day and day-long events run along the top of the week."""
        return self.all_day or _elapsed(self.start, self.end) >= timedelta(days=1)


@dataclass
class Day:
    """One day of a view with the chips drawn on it."""

    date: date
    is_today: bool
    in_period: bool = True
    chips: list[Chip] = field(default_factory=list)
    more: int = 0
    link: Link | None = None


@dataclass
class CalendarView:
    """Everything the view fragment displays."""

    period: Period
    zone: str
    days: list[Day]
    banners: list[Chip] = field(default_factory=list)
    banner_rows: int = 0
    weeks: list[list[Day]] = field(default_factory=list)
    hours: list[str] = field(default_factory=list)
    template: str = ""
    links: dict[str, Link] = field(default_factory=dict)
    view_links: list[tuple[str, Link, bool]] = field(default_factory=list)
    fragment_url: str = ""
    empty: bool = False


# Pages

# Pages never show an account's tokens, so they are not even decrypted.
SECRET_ACCOUNT_FIELDS = ("refresh_token", "access_token")


@login_required
@require_GET
def home(request: AuthenticatedRequest) -> HttpResponse:
    # Read before the events: the live stream replays whatever commits
    # between here and the moment it subscribes.
    stream_after = committed_cursor()
    zone = viewer_zone(request.user)
    accounts = list(_accounts_of(request.user))
    calendars = [c for account in accounts for c in account.calendars.all()]
    context = {
        "stream_after": stream_after,
        "accounts": accounts,
        "view": build_view(request, calendars, zone),
        "sync": _sync_context(accounts),
        "report_time_zone": not UserProfile.objects.filter(user=request.user)
        .exclude(time_zone="")
        .exists(),
    }
    return render(request, "calendars/home.html", context)


@login_required
@require_GET
def view_fragment(request: AuthenticatedRequest) -> HttpResponse:
    zone = viewer_zone(request.user)
    calendars = list(
        Calendar.objects.filter(account__owner=request.user)
        .select_related("account")
        .defer(*(f"account__{name}" for name in SECRET_ACCOUNT_FIELDS))
    )
    context = {"view": build_view(request, calendars, zone)}
    return render(request, "calendars/_view.html", context)


@login_required
@require_GET
def sidebar_fragment(request: AuthenticatedRequest) -> HttpResponse:
    return _sidebar(request)


def _sidebar(request: AuthenticatedRequest) -> HttpResponse:
    accounts = list(_accounts_of(request.user))
    context = {"accounts": accounts, "sync": _sync_context(accounts)}
    return render(request, "calendars/_sidebar.html", context)


@login_required
@require_GET
def event_detail(request: HtmxRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(
        Event.objects.select_related("calendar"),
        pk=pk,
        calendar__account__owner=request.user,
    )
    zone = viewer_zone(request.user)
    context = {"detail": _detail(event, request.GET, zone)}
    if request.htmx:
        return render(request, "calendars/_event_detail.html", context)
    return render(request, "calendars/event_detail.html", context)


@login_required
@require_POST
def select_calendar(request: HtmxRequest, pk: int) -> HttpResponse:
    """Show or hide a calendar; a hidden calendar is no longer watched."""
    calendar = get_object_or_404(
        Calendar.objects.select_related("account"),
        pk=pk,
        account__owner=request.user,
    )
    selected = request.POST.get("selected") == "on"
    Calendar.objects.filter(pk=calendar.pk).update(selected=selected)
    if selected:
        _request_sync(calendar.pk)
    else:
        stop_channels(calendar)

    if not request.htmx:
        return redirect("home")
    response = _sidebar(request)
    # The view shows the calendar's events, or stops showing them.
    response["HX-Trigger"] = "chronos-refresh"
    return response


@login_required
def time_zone_settings(request: HtmxRequest) -> HttpResponse:
    """The time zone the pages use: reported by the browser, or chosen."""
    profile, _ = UserProfile.objects.get_or_create(user=request.user)
    form = TimeZoneForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        if request.htmx or request.POST.get("reported"):
            return HttpResponse(status=204)
        return redirect("home")

    status = 400 if form.errors else 200
    return render(request, "calendars/settings.html", {"form": form}, status=status)


def signup(request: HttpRequest) -> HttpResponse:
    if not settings.ALLOW_SIGNUP:
        raise Http404("Sign-up is closed; ask an administrator for an account.")
    if request.user.is_authenticated:
        return redirect("home")

    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


def viewer_zone(user: Any) -> tzinfo:
    name = (
        UserProfile.objects.filter(user=user)
        .values_list("time_zone", flat=True)
        .first()
    )
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _accounts_of(user: Any) -> Iterable[GoogleAccount]:
    calendars = Calendar.objects.select_related("sync_state").order_by(
        "-primary", "summary"
    )
    return (
        GoogleAccount.objects.filter(owner=user)
        .defer(*SECRET_ACCOUNT_FIELDS)
        .prefetch_related(Prefetch("calendars", queryset=calendars))
    )


def _sync_context(accounts: list[GoogleAccount]) -> dict[str, Any]:
    """What the sync panel and the sidebar need to know."""
    active = [a for a in accounts if a.status == GoogleAccount.Status.ACTIVE]
    calendars = [c for a in active for c in a.calendars.all() if c.selected]
    states = [_state_of(c) for c in calendars]
    synced = [state.last_sync_at for state in states if state.last_sync_at]
    never = [
        calendar.pk
        for calendar, state in zip(calendars, states, strict=True)
        if not state.last_sync_at
    ]
    limit = settings.MAX_CALENDARS_PER_SYNC
    return {
        "calendar_ids": ",".join(str(c.pk) for c in calendars[:limit]),
        "first_sync_ids": ",".join(str(pk) for pk in never[:limit]),
        "last_sync_at": max(synced, default=None),
        "needs_reauth": [
            a for a in accounts if a.status != GoogleAccount.Status.ACTIVE
        ],
        # Left out of every view, so said here instead.
        "invalid_series": invalid_series(
            [c.pk for account in accounts for c in account.calendars.all()]
        ),
    }


def _state_of(calendar: Calendar) -> SyncState:
    try:
        return calendar.sync_state
    except SyncState.DoesNotExist:
        return SyncState(calendar=calendar)


def _request_sync(calendar_pk: int) -> None:
    try:
        dispatch.request_sync(calendar_pk)
    except dispatch.QueueUnavailable:
        # The periodic sync picks the calendar up once the queue is back.
        logger.warning("Sync not queued, queue unavailable: calendar=%s", calendar_pk)


# Building a view


def build_view(
    request: HttpRequest, calendars: list[Calendar], zone: tzinfo
) -> CalendarView:
    today = timezone.now().astimezone(zone).date()
    period = period_for(request.GET.get("view", ""), request.GET.get("date"), today)
    shown = [calendar for calendar in calendars if calendar.selected]
    chips = load_chips(shown, period, zone)
    view = CalendarView(period=period, zone=str(zone), days=[], empty=not chips)
    view.template = VIEWS[period.view]
    view.fragment_url = _link(period.view, period.anchor).fragment
    view.links = {
        "previous": _link(period.view, period.previous),
        "today": _link(period.view, today),
        "next": _link(period.view, period.next),
    }
    view.view_links = [
        (name, _link(name, period.anchor), name == period.view) for name in VIEWS
    ]
    LAYOUTS[period.view](view, chips, today)
    return view


def period_for(view: str, raw_date: str | None, today: date) -> Period:
    view = view if view in VIEWS else "week"
    try:
        anchor = date.fromisoformat(raw_date) if raw_date else today
    except ValueError:
        anchor = today
    if not _within_reach(anchor):
        anchor = today
    if view == "month":
        return _month_period(anchor)
    if view == "agenda":
        last = anchor + timedelta(days=AGENDA_DAYS)
        title = f"{_day_title(anchor)} – {_day_title(last - timedelta(days=1))}"
        step = timedelta(days=AGENDA_DAYS)
        return Period(view, anchor, anchor, last, anchor - step, last, title)

    first = anchor - timedelta(days=anchor.weekday())
    last = first + timedelta(days=7)
    title = f"{_day_title(first)} – {_day_title(last - timedelta(days=1))}"
    week = timedelta(days=7)
    return Period(view, anchor, first, last, anchor - week, anchor + week, title)


def _month_period(anchor: date) -> Period:
    month = anchor.replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    first = month - timedelta(days=month.weekday())
    last = following + timedelta(days=(7 - following.weekday()) % 7)
    title = month.strftime("%B %Y")
    return Period("month", anchor, first, last, previous, following, title)


def _day_title(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _link(view: str, day: date) -> Link:
    query = urlencode({"view": view, "date": day.isoformat()})
    return Link(
        page=f"{reverse('home')}?{query}",
        fragment=f"{reverse('calendar-view')}?{query}",
    )


def load_chips(calendars: list[Calendar], period: Period, zone: tzinfo) -> list[Chip]:
    """The occurrences of the calendars' events within the period."""
    if not calendars:
        return []

    start = datetime.combine(period.first, time(), zone)
    end = datetime.combine(period.last, time(), zone)
    resources = stored_events([c.pk for c in calendars], start, end)
    expansion = expand_occurrences(resources, start, end, tz=zone)
    if expansion.invalid:
        logger.warning("Events left out of a view: count=%s", len(expansion.invalid))
    by_pk: dict[Hashable, Calendar] = {calendar.pk: calendar for calendar in calendars}
    # One reverse() for all chips; it costs more than the rest of a chip.
    prefix = reverse("event-detail", args=[0]).removesuffix("0")
    return [_chip(o, by_pk[o.calendar_id], zone, prefix) for o in expansion.occurrences]


def stored_events(
    calendar_ids: list[int], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Singles in the window, every series begun before its end, and the
    exceptions near it: one query for each kind."""
    low, high = start - FLOATING_SLACK, end + FLOATING_SLACK
    events = Event.objects.filter(calendar_id__in=calendar_ids).order_by()
    singles = events.filter(
        recurrence=[], recurring_event_id="", start__lt=high, end__gt=low
    )
    masters = events.exclude(recurrence=[]).filter(start__lt=high)
    exceptions = events.exclude(recurring_event_id="").filter(
        Q(start__lt=high, end__gt=low)
        | Q(
            original_start__gt=low - EXCEPTION_SLACK,
            original_start__lt=high + EXCEPTION_SLACK,
        )
    )
    resources = []
    for rows in (singles, masters, exceptions):
        for pk, calendar_id, resource in rows.values_list(
            "pk", "calendar_id", "resource"
        ):
            resource["calendar_id"] = calendar_id
            resource["chronos_pk"] = pk
            resources.append(resource)
    return resources


def _chip(
    occurrence: Occurrence, calendar: Calendar, zone: tzinfo, prefix: str
) -> Chip:
    start = _in_zone(occurrence.start, zone)
    end = _in_zone(occurrence.end, zone)
    event = occurrence.event
    return Chip(
        event_pk=int(event["chronos_pk"]),
        summary=str(event.get("summary") or "(No title)"),
        calendar=calendar.summary,
        color=calendar_color(calendar),
        start=start,
        end=end,
        all_day=occurrence.all_day,
        # By hand: urlencode() per chip costs more than the rest of a chip.
        href=f"{prefix}{event['chronos_pk']}?start={_quoted(start)}&end={_quoted(end)}",
    )


def _quoted(moment: datetime | date) -> str:
    return moment.isoformat().replace("+", "%2B")


def calendar_color(calendar: Calendar) -> str:
    return calendar.color if COLOR.fullmatch(calendar.color) else DEFAULT_COLOR


def _in_zone(value: datetime | date, zone: tzinfo) -> datetime | date:
    return value.astimezone(zone) if isinstance(value, datetime) else value


def _day_of(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _elapsed(start: datetime | date, end: datetime | date) -> timedelta:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return end - start
    return timedelta(days=(_day_of(end) - _day_of(start)).days)


def label_on(chip: Chip, day: date) -> str:
    """How a chip's time reads on one of the days it covers."""
    if chip.all_day:
        return "All day"
    assert isinstance(chip.start, datetime) and isinstance(chip.end, datetime)
    starts, ends = chip.first_day == day, chip.last_day == day
    if starts and ends:
        return f"{chip.start:%H:%M} – {chip.end:%H:%M}"
    if starts:
        return f"from {chip.start:%H:%M}"
    if ends:
        return f"until {chip.end:%H:%M}"
    return "All day"


def _days(first: date, last: date, today: date) -> list[Day]:
    count = (last - first).days
    days = [first + timedelta(days=offset) for offset in range(count)]
    return [Day(date=day, is_today=day == today) for day in days]


def _spread(chips: list[Chip], days: list[Day]) -> None:
    """Put every chip on each day it covers, all-day ones first."""
    by_date = {day.date: day for day in days}
    ordered = sorted(chips, key=lambda chip: (not chip.is_banner, _sort_key(chip)))
    for chip in ordered:
        day = max(chip.first_day, days[0].date)
        while day <= chip.last_day and day in by_date:
            by_date[day].chips.append(replace(chip, label=label_on(chip, day)))
            day += timedelta(days=1)


def _sort_key(chip: Chip) -> tuple[date, str]:
    return chip.first_day, chip.label or str(chip.start)


# Layouts


def layout_week(view: CalendarView, chips: list[Chip], today: date) -> None:
    period = view.period
    view.days = _days(period.first, period.last, today)
    view.hours = [f"{hour:02d}:00" for hour in range(24)]
    banners = [chip for chip in chips if chip.is_banner]
    view.banners, view.banner_rows = _stack_banners(banners, period.first)
    by_date = {day.date: day for day in view.days}
    for chip in chips:
        if chip.is_banner:
            continue
        for when, segment in _segments(chip):
            if when in by_date:
                by_date[when].chips.append(segment)
    for day in view.days:
        day.chips = _lanes(day.chips)


def _stack_banners(chips: list[Chip], first: date) -> tuple[list[Chip], int]:
    """Place all-day chips in rows so that none overlap; columns are days."""
    row_ends: list[int] = []
    placed = []
    for chip in sorted(chips, key=lambda chip: (chip.first_day, chip.last_day)):
        begin = max((chip.first_day - first).days, 0)
        finish = min((chip.last_day - first).days, 6) + 1
        row = next((i for i, end in enumerate(row_ends) if end <= begin), None)
        if row is None:
            row = len(row_ends)
            row_ends.append(finish)
        row_ends[row] = finish
        style = f"grid-column: {begin + 1} / {finish + 1}; grid-row: {row + 1}"
        placed.append(
            replace(
                chip,
                label=label_on(chip, chip.first_day),
                style=style,
                continues_before=chip.first_day < first,
                continues_after=chip.last_day > first + timedelta(days=6),
            )
        )
    return placed, len(row_ends)


def _segments(chip: Chip) -> list[tuple[date, Chip]]:
    """A timed chip cut at midnights, one piece per day it touches."""
    assert isinstance(chip.start, datetime) and isinstance(chip.end, datetime)
    pieces = []
    day = chip.first_day
    while day <= chip.last_day:
        begin = _minutes(chip.start) if day == chip.first_day else 0
        finish = _minutes(chip.end) if day == chip.last_day else MINUTES_PER_DAY
        finish = finish or MINUTES_PER_DAY
        height = max(finish - begin, MIN_CHIP_MINUTES)
        top = min(begin, MINUTES_PER_DAY - MIN_CHIP_MINUTES)
        style = (
            f"--top: {top / MINUTES_PER_DAY:.4%}; "
            f"--height: {height / MINUTES_PER_DAY:.4%}"
        )
        piece = replace(
            chip,
            label=label_on(chip, day),
            style=style,
            continues_before=day > chip.first_day,
            continues_after=day < chip.last_day,
            compact=finish - begin < COMPACT_MINUTES,
        )
        pieces.append((day, piece))
        day += timedelta(days=1)
    return pieces


def _minutes(moment: datetime | date) -> int:
    assert isinstance(moment, datetime)
    return moment.hour * 60 + moment.minute


def _lanes(chips: list[Chip]) -> list[Chip]:
    """Side by side where they overlap: each cluster shares the width."""
    placed: list[Chip] = []
    cluster: list[tuple[Chip, int]] = []
    lane_ends: list[datetime | date] = []
    cluster_end: datetime | date | None = None
    for chip in sorted(chips, key=lambda chip: (chip.start, -_minutes_long(chip))):
        if cluster_end is not None and _before_or_at(cluster_end, chip.start):
            placed.extend(_with_lanes(cluster, len(lane_ends)))
            cluster, lane_ends = [], []
        lane = next(
            (i for i, end in enumerate(lane_ends) if _before_or_at(end, chip.start)),
            len(lane_ends),
        )
        if lane == len(lane_ends):
            lane_ends.append(chip.end)
        lane_ends[lane] = chip.end
        cluster.append((chip, lane))
        cluster_end = max(lane_ends, key=_sortable)
    placed.extend(_with_lanes(cluster, len(lane_ends)))
    return placed


def _with_lanes(cluster: list[tuple[Chip, int]], lanes: int) -> list[Chip]:
    return [
        replace(chip, style=f"{chip.style}; --lane: {lane}; --lanes: {lanes}")
        for chip, lane in cluster
    ]


def _minutes_long(chip: Chip) -> float:
    return _elapsed(chip.start, chip.end).total_seconds() / 60


def _before_or_at(end: datetime | date, start: datetime | date) -> bool:
    return _sortable(end) <= _sortable(start)


def _sortable(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), UTC)


def layout_month(view: CalendarView, chips: list[Chip], today: date) -> None:
    period = view.period
    view.days = _days(period.first, period.last, today)
    month = period.anchor.month
    for day in view.days:
        day.in_period = day.date.month == month
        day.link = _link("week", day.date)
    _spread(chips, view.days)
    for day in view.days:
        day.more = max(len(day.chips) - MONTH_CHIPS, 0)
        day.chips = day.chips[:MONTH_CHIPS]
    view.weeks = [view.days[i : i + 7] for i in range(0, len(view.days), 7)]


def layout_agenda(view: CalendarView, chips: list[Chip], today: date) -> None:
    period = view.period
    days = _days(period.first, period.last, today)
    _spread(chips, days)
    view.days = [day for day in days if day.chips]


LAYOUTS = {"week": layout_week, "month": layout_month, "agenda": layout_agenda}


# Event details


@dataclass(frozen=True)
class Detail:
    event: Event
    calendar: str
    color: str
    when: str
    link: str
    # Why the series appears in no view; empty when it can be shown.
    problem: str


def _detail(event: Event, query: Any, zone: tzinfo) -> Detail:
    resource = event.resource
    link = str(resource.get("htmlLink") or "")
    return Detail(
        event=event,
        calendar=event.calendar.summary,
        color=calendar_color(event.calendar),
        when=_when(event, query, zone),
        # Only web addresses become links; anything else could run script.
        link=link if link.startswith(("https://", "http://")) else "",
        problem=recurrence_problem(resource) or "",
    )


def _when(event: Event, query: Any, zone: tzinfo) -> str:
    """The occurrence's time, from the link that opened it if it parses."""
    start, end = _parse_moment(query.get("start")), _parse_moment(query.get("end"))
    if start is None or end is None or type(start) is not type(end):
        start, end = _own_span(event)
    if start is None or end is None:
        return ""
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        last = _day_of(end) - timedelta(days=1)
        if last <= _day_of(start):
            return f"{start:%A} {_day_title(_day_of(start))}, all day"
        return f"{_day_title(_day_of(start))} – {_day_title(last)}, all day"
    start, end = start.astimezone(zone), end.astimezone(zone)
    if start.date() == (end - timedelta(microseconds=1)).date():
        return f"{start:%A} {_day_title(start.date())}, {start:%H:%M} – {end:%H:%M}"
    return (
        f"{_day_title(start.date())} {start:%H:%M} – "
        f"{_day_title(end.date())} {end:%H:%M}"
    )


def _parse_moment(raw: str | None) -> datetime | date | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw) if "T" in raw else date.fromisoformat(raw)
    except ValueError:
        return None
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return None
    return moment if _within_reach(_day_of(moment)) else None


def _within_reach(day: date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_DATE


def _own_span(event: Event) -> tuple[datetime | date | None, datetime | date | None]:
    if event.all_day:
        return event.start_date, event.end_date
    return event.start, event.end
