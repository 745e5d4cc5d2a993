"""Admin for operators: read-mostly, tokens never shown."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from calendars.models import Calendar, Event, GoogleAccount, SyncState, WatchChannel
from syncengine import dispatch
from syncengine.google import GoogleError
from webhooks import channels


class ReadMostlyAdmin(admin.ModelAdmin):
    """Operators inspect synced data; Google stays the source of truth."""

    editable_fields: tuple[str, ...] = ()
    # Secrets: neither shown nor editable, on any page.
    hidden_fields: tuple[str, ...] = ()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.hidden_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        skipped = {*self.editable_fields, *self.hidden_fields}
        names = [field.name for field in self.model._meta.fields]
        return [name for name in names if name not in skipped]


@admin.register(GoogleAccount)
class GoogleAccountAdmin(ReadMostlyAdmin):
    list_display = ["email", "owner", "status", "access_token_expires_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["email", "owner__username"]
    hidden_fields = ("refresh_token", "access_token")
    editable_fields = ("status",)


@admin.register(Calendar)
class CalendarAdmin(ReadMostlyAdmin):
    list_display = ["summary", "account", "google_id", "time_zone", "selected"]
    list_filter = ["selected", "access_role"]
    search_fields = ["summary", "google_id", "account__email"]
    list_select_related = ["account"]
    editable_fields = ("selected",)


@admin.register(Event)
class EventAdmin(ReadMostlyAdmin):
    list_display = ["summary", "calendar", "start", "end", "all_day", "status"]
    list_filter = ["status", "all_day"]
    search_fields = ["summary", "google_id", "calendar__summary"]
    list_select_related = ["calendar"]
    date_hierarchy = "start"
    show_full_result_count = False


@admin.register(SyncState)
class SyncStateAdmin(ReadMostlyAdmin):
    list_display = [
        "calendar",
        "state",
        "last_sync_at",
        "consecutive_failures",
        "last_error",
    ]
    list_filter = ["state"]
    search_fields = ["calendar__summary", "calendar__account__email"]
    list_select_related = ["calendar"]
    hidden_fields = ("sync_token",)


@admin.register(WatchChannel)
class WatchChannelAdmin(ReadMostlyAdmin):
    list_display = ["channel_id", "calendar", "state", "expires_at", "created_at"]
    list_filter = ["state"]
    search_fields = ["channel_id", "resource_id", "calendar__summary"]
    list_select_related = ["calendar"]
    hidden_fields = ("token",)
    actions = ["renew_now", "stop", "full_resync"]

    @admin.action(description="Renew now")
    def renew_now(self, request: HttpRequest, queryset: QuerySet[WatchChannel]) -> None:
        renewed = failed = 0
        for channel in queryset:
            try:
                renewed += channels.renew_channel(channel.pk) is not None
            except GoogleError:
                failed += 1
        self.message_user(request, f"Renewed {renewed} of {len(queryset)} channels.")
        if failed:
            self.message_user(
                request,
                f"Google refused {failed} renewals; see the worker log.",
                messages.ERROR,
            )

    @admin.action(description="Stop at Google")
    def stop(self, request: HttpRequest, queryset: QuerySet[WatchChannel]) -> None:
        stopped = 0
        for channel in queryset.select_related("calendar__account"):
            session = channels.session_for(channel.calendar.account)
            stopped += channels.stop_channel(channel, session=session)
        self.message_user(request, f"Stopped {stopped} channels.")

    @admin.action(description="Full resync of the calendar")
    def full_resync(
        self, request: HttpRequest, queryset: QuerySet[WatchChannel]
    ) -> None:
        calendar_pks = set(queryset.values_list("calendar_id", flat=True))
        try:
            for calendar_pk in calendar_pks:
                dispatch.request_sync(calendar_pk, full=True)
        except dispatch.QueueUnavailable:
            self.message_user(
                request,
                "The task queue is unavailable; start Redis and try again.",
                messages.ERROR,
            )
            return
        self.message_user(
            request, f"Full resync requested for {len(calendar_pks)} calendars."
        )
