"""Routes of the pages and of connecting Google accounts."""

from django.urls import path

from calendars import oauth, views

urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/view", views.view_fragment, name="calendar-view"),
    path("calendar/sidebar", views.sidebar_fragment, name="calendar-sidebar"),
    path("events/<int:pk>", views.event_detail, name="event-detail"),
    path("calendars/<int:pk>/selected", views.select_calendar, name="calendar-select"),
    path("settings/time-zone", views.time_zone_settings, name="time-zone"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/google/connect", oauth.connect, name="google-connect"),
    path("accounts/google/callback", oauth.callback, name="google-callback"),
    path(
        "accounts/google/<int:pk>/disconnect",
        oauth.disconnect,
        name="google-disconnect",
    ),
]
