from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from chronos import health
from chronos.api import api
from webhooks import views as webhook_views

urlpatterns = [
    path("", include("calendars.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path(
        "calendar/webhook",
        webhook_views.receive_notification,
        name="calendar-webhook",
    ),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
