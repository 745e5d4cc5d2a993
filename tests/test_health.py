"""Health probes answer without a login."""

import pytest
from django.test import override_settings


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_the_database_reachable(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
@override_settings(DISTRIBUTED=True, REDIS_URL="redis://127.0.0.1:1/0")
def test_readyz_fails_when_redis_is_down(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unreachable"},
    }


@pytest.mark.integration
@pytest.mark.django_db
def test_readyz_reports_redis_reachable_in_distributed_mode(client, settings):
    assert settings.DISTRIBUTED

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
