"""Google accounts, their calendars and events, and the state of their sync."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from calendars.fields import EncryptedTextField

__all__ = [
    "ApiToken",
    "Calendar",
    "ChangeCounter",
    "DeletedEvent",
    "Event",
    "GoogleAccount",
    "SyncState",
    "UserProfile",
    "WatchChannel",
]


class GoogleAccount(models.Model):
    """A Google account a user connected, with its OAuth grant."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
        REVOKED = "revoked", "Revoked"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="google_accounts",
    )
    email = models.EmailField()
    refresh_token = EncryptedTextField(blank=True, default="")
    access_token = EncryptedTextField(blank=True, default="")
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "email"], name="unique_google_account_per_owner"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class Calendar(models.Model):
    """One Google calendar of an account, as listed by ``calendarList``."""

    account = models.ForeignKey(
        GoogleAccount, on_delete=models.CASCADE, related_name="calendars"
    )
    google_id = models.CharField(max_length=1024)
    summary = models.CharField(max_length=1024, blank=True, default="")
    description = models.TextField(blank=True, default="")
    color = models.CharField(max_length=16, blank=True, default="")
    time_zone = models.CharField(max_length=64, blank=True, default="")
    access_role = models.CharField(max_length=32, blank=True, default="")
    primary = models.BooleanField(default=False)
    selected = models.BooleanField(default=True)
    # False once Google refused to watch it; the periodic sync covers it.
    push_supported = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "-primary", "summary"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "google_id"], name="unique_calendar_per_account"
            ),
        ]

    def __str__(self) -> str:
        return self.summary or self.google_id


class Event(models.Model):
    """An event as Google last described it.

    ``resource`` keeps Google's JSON as received, which is what the API
    streams out; the other columns are extracted from it for queries.
    Timed events fill ``start``/``end``; all-day events fill ``start_date``/
    ``end_date`` and also ``start``/``end`` at midnight UTC so one index
    serves every time-window query.
    """

    # Every index below leads with the calendar; one of its own would only
    # slow writes.
    calendar = models.ForeignKey(
        Calendar, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    google_id = models.CharField(max_length=1024)
    status = models.CharField(max_length=16, blank=True, default="confirmed")
    summary = models.TextField(blank=True, default="")
    description = models.TextField(blank=True, default="")
    location = models.TextField(blank=True, default="")
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    all_day = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64, blank=True, default="")
    recurrence = models.JSONField(default=list, blank=True)
    recurring_event_id = models.CharField(max_length=1024, blank=True, default="")
    original_start = models.DateTimeField(null=True, blank=True)
    etag = models.CharField(max_length=128, blank=True, default="")
    google_created = models.DateTimeField(null=True, blank=True)
    google_updated = models.DateTimeField(null=True, blank=True)
    resource = models.JSONField(default=dict)
    # The change cursor of the batch that last stored this row.
    cursor = models.PositiveBigIntegerField(default=0)
    # The sync run that last saw this event; a full resync sweeps the rest.
    seen_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["start", "google_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "google_id"], name="unique_event_per_calendar"
            ),
        ]
        indexes = [
            models.Index(fields=["calendar", "start"], name="event_calendar_start"),
            models.Index(fields=["calendar", "end"], name="event_calendar_end"),
            models.Index(
                fields=["calendar", "recurring_event_id"],
                name="event_calendar_series",
            ),
            models.Index(fields=["calendar", "cursor"], name="event_calendar_cursor"),
        ]

    def __str__(self) -> str:
        return self.summary or self.google_id

    @property
    def is_recurring_master(self) -> bool:
        return bool(self.recurrence)

    @property
    def is_exception(self) -> bool:
        return bool(self.recurring_event_id)


class SyncState(models.Model):
    """Where the sync of one calendar stands.

    ``version`` grows with every run that starts; a run may only save its
    sync token while the version is still its own, so a stalled older run
    cannot overwrite a newer token.
    """

    class State(models.TextChoices):
        IDLE = "idle", "Idle"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        ERROR = "error", "Error"

    calendar = models.OneToOneField(
        Calendar, on_delete=models.CASCADE, related_name="sync_state"
    )
    sync_token = models.TextField(blank=True, default="")
    last_sync_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IDLE)
    last_error = models.TextField(blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    version = models.PositiveBigIntegerField(default=0)
    # A run holds the calendar until this moment and renews it as it goes,
    # so a killed worker's claim runs out instead of blocking forever.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Asked for while a run was going: that run goes round once more.
    rerun_requested = models.BooleanField(default=False)
    full_sync_requested = models.BooleanField(default=False)
    queued_at = models.DateTimeField(null=True, blank=True)
    # The latest request for a sync: one that comes soon after it belongs to
    # the same burst and waits for the burst to pause.
    requested_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.calendar}: {self.state}"


class WatchChannel(models.Model):
    """A Google push notification channel watching one calendar's events."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACTIVE = "active", "Active"
        STOPPING = "stopping", "Stopping"
        STOPPED = "stopped", "Stopped"

    calendar = models.ForeignKey(
        Calendar, on_delete=models.CASCADE, related_name="watch_channels"
    )
    channel_id = models.CharField(max_length=64, unique=True)
    resource_id = models.CharField(max_length=256, blank=True, default="")
    token = EncryptedTextField()
    expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING
    )
    # Set when a renewal made the channel that takes over from this one.
    replaced_by = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaces",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "expires_at"], name="channel_state_expiry"),
        ]

    def __str__(self) -> str:
        return self.channel_id


class DeletedEvent(models.Model):
    """A tombstone: an event removed by the batch with this cursor.

    Streams that reconnect replay changes from the database; removals have to
    be replayed too, and the event row itself is gone.
    """

    calendar = models.ForeignKey(
        Calendar, on_delete=models.CASCADE, related_name="deleted_events"
    )
    google_id = models.CharField(max_length=1024)
    recurring_event_id = models.CharField(max_length=1024, blank=True, default="")
    cursor = models.PositiveBigIntegerField()
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["calendar", "cursor"], name="deleted_calendar_cursor"),
            models.Index(fields=["deleted_at"], name="deleted_at"),
        ]

    def __str__(self) -> str:
        return self.google_id


class ChangeCounter(models.Model):
    """The single row (id 1) that hands out change cursors.

    Incrementing it inside the transaction that stores a batch locks the row
    until commit, so cursors become visible in the order they were taken and
    a client resuming after cursor N can never miss a smaller one.
    """

    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.value)


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(max_length=64, unique=True)
    # The first characters of the token, so people can tell tokens apart.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}…"


class UserProfile(models.Model):
    """What one person chose for the pages: for now, their time zone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    # An IANA name; empty until the browser reports one or the person picks.
    time_zone = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'no time zone'}"
