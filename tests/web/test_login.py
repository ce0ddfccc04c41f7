"""Signing in to the console: passwords, CSRF, rate limits, cookies and security headers."""

from hostguard.web.security import limiter


def test_login_and_logout(client, make_user, csrf_token):
    user, password = make_user("moderator")
    token = csrf_token(client, "/console/login")
    response = client.post(
        "/console/login?next=/console/",
        data={"email": user.email.upper(), "password": password, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/")
    home = client.get("/console/")
    assert home.status_code == 200
    assert user.email in home.get_data(as_text=True)
    logout = client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert logout.status_code == 302
    assert client.get("/console/").status_code == 302


def test_wrong_password_is_refused(client, make_user, csrf_token):
    user, _ = make_user("moderator")
    token = csrf_token(client, "/console/login")
    response = client.post(
        "/console/login",
        data={"email": user.email, "password": "wrong password!", "csrf_token": token},
    )
    assert response.status_code == 401
    assert "wrong" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_open_redirect_is_not_followed(client, make_user, csrf_token):
    user, password = make_user("moderator")
    token = csrf_token(client, "/console/login")
    response = client.post(
        "/console/login?next=//evil.example/x",
        data={"email": user.email, "password": password, "csrf_token": token},
    )
    assert response.headers["Location"] == "/console/"


def test_login_form_requires_csrf(client, make_user):
    user, password = make_user("moderator")
    response = client.post("/console/login", data={"email": user.email, "password": password})
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302


def test_login_is_rate_limited(app, client, make_user, csrf_token):
    user, password = make_user("moderator")
    token = csrf_token(client, "/console/login")
    statuses = [
        client.post(
            "/console/login",
            data={"email": user.email, "password": "nope nope nope", "csrf_token": token},
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    # even the right password is refused until the window passes
    right = client.post(
        "/console/login", data={"email": user.email, "password": password, "csrf_token": token}
    )
    assert right.status_code == 429
    limiter.reset()


def test_session_cookie_is_httponly_and_secure_on_https(runtime, make_user, csrf_token):
    from hostguard.web import create_app

    runtime.settings.base_url = "https://hostguard.example"
    app = create_app(runtime=runtime)
    client = app.test_client()
    user, password = make_user("moderator")
    token = csrf_token(client, "https://hostguard.example/console/login")
    response = client.post(
        "https://hostguard.example/console/login",
        data={"email": user.email, "password": password, "csrf_token": token},
    )
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_security_headers(client):
    response = client.get("/console/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Request-ID"]


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ready"


def test_api_errors_share_one_shape(client, api_headers):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    bad_scheme = client.get("/api/v1/openapi.json", headers={"Authorization": "Basic abc"})
    assert bad_scheme.status_code == 401
    assert set(bad_scheme.get_json()["error"]) >= {"code", "message"}


def test_request_refused_for_csrf_still_has_a_request_id(client):
    response = client.post(
        "/console/login",
        data={"email": "a@b.org", "password": "x"},
        headers={"X-Request-ID": "trace-1234abcd"},
    )
    assert response.status_code == 400
    assert response.headers["X-Request-ID"] == "trace-1234abcd"


def test_behind_a_proxy_limits_count_each_client(runtime, make_user, csrf_token):
    from hostguard.web import create_app

    runtime.settings.proxy_hops = 1
    client = create_app(runtime=runtime).test_client()
    user, _ = make_user("moderator")
    token = csrf_token(client, "/console/login")

    def attempt(ip):
        return client.post(
            "/console/login",
            data={"email": user.email, "password": "nope nope nope", "csrf_token": token},
            headers={"X-Forwarded-For": ip},
        ).status_code

    assert [attempt("203.0.113.7") for _ in range(11)][-1] == 429
    assert attempt("198.51.100.2") == 401  # another client behind the same proxy is not locked out
    limiter.reset()


def test_out_of_range_ids_are_404_not_500(client, api_headers, login):
    login(client, "moderator")
    big = "9" * 30
    for url in [f"/console/cases/{big}", f"/api/v1/cases/{big}"]:
        headers = api_headers("moderator") if url.startswith("/api") else {}
        response = client.get(url, headers=headers)
        assert response.status_code == 404, (url, response.status_code)
    api = client.get(f"/api/v1/cases/{big}", headers=api_headers("moderator"))
    assert (
        "not_found" in api.get_json()["error"]["code"]
        or api.get_json()["error"]["code"] == "out_of_range"
    )


def test_database_errors_never_carry_the_values(runtime, caplog):
    """PostgreSQL puts the failing row into its messages; neither logs nor stored errors get it."""
    from sqlalchemy import text
    from sqlmodel import select

    from hostguard.jobs.models import Job
    from hostguard.jobs.service import enqueue, handler, run_due

    secret_value = "Jane Q. Uploader, 12 Hidden Lane"

    @handler("test.bad_insert")
    def _bad_insert(*, session, payload, job, runtime):
        session.execute(
            text(
                "INSERT INTO users (email, role, password_hash, active, created_at, preferences) "
                "VALUES (:e, 'moderator', 'x', true, NULL, '{}')"
            ),
            {"e": payload["e"]},
        )

    with runtime.session() as session:
        enqueue(session, "test.bad_insert", {"e": secret_value})
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as session:
        job = session.exec(select(Job).where(Job.kind == "test.bad_insert")).one()
    assert job.last_error.startswith("database error")
    assert secret_value not in job.last_error
    assert secret_value not in caplog.text


def test_numbers_too_large_for_the_database_are_a_clear_404(runtime):
    from hostguard.web import create_app

    app = create_app(runtime=runtime)

    def overflowing():
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    app.add_url_rule("/api/v1/_overflow_probe", view_func=overflowing)
    response = app.test_client().get("/api/v1/_overflow_probe")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "out_of_range"
