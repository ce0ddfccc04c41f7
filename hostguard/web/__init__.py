"""The Flask application factory: wires settings, database sessions, security and blueprints."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_login import LoginManager
from sqlalchemy.exc import DataError, DBAPIError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestURITooLarge

import hostguard.registry  # noqa: F401  (every table, job kind and actioner, as in the worker)
from hostguard.accounts.models import User
from hostguard.config import Settings
from hostguard.context import set_request_id
from hostguard.errors import HostguardError, safe_error_text
from hostguard.ops.logging import configure_logging
from hostguard.ops.web import init_metrics
from hostguard.runtime import Runtime
from hostguard.web import api, console, health, hooks, portal, public, wellknown
from hostguard.web.access import db
from hostguard.web.errors import status_for
from hostguard.web.security import add_security_headers, csrf, limiter

log = logging.getLogger(__name__)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Below gunicorn's limit_request_line (4094 bytes with the method and protocol), so every URL
# too long for the API that reaches Flask gets the JSON error; beyond it gunicorn answers itself.
MAX_API_URL_BYTES = 4000


def is_api_request() -> bool:
    return request.path.startswith(("/api/", "/hooks/"))


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    if runtime is None:
        runtime = Runtime(settings) if settings else Runtime()
    settings = runtime.settings
    settings.require_production_secrets()
    configure_logging(settings)

    app = Flask(__name__)
    app.extensions["hostguard"] = runtime
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind reverse proxies, rate limits must count the client, not the proxy.
        # Flask's documented way to add WSGI middleware; its stubs type wsgi_app as a plain method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.proxy_hops,
            x_proto=settings.proxy_hops,
            x_host=settings.proxy_hops,
        )
    app.config.update(
        SECRET_KEY=runtime.keys.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        RATELIMIT_HEADERS_ENABLED=True,
    )
    _init_transactions(app)  # first, so even a request refused for CSRF has a request id
    _init_url_limit(app)
    csrf.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    _init_errors(app)

    csrf.exempt(api.bp)
    csrf.exempt(hooks.bp)
    for bp in (health.bp, api.bp, console.bp, portal.bp, public.bp, hooks.bp):
        app.register_blueprint(bp)
    app.register_blueprint(wellknown.bp)
    app.after_request(add_security_headers)
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    init_metrics(app)
    return app


def _init_login(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "console.login"
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(user_id: str):
        if not user_id.isdigit():
            return None
        user = db().get(User, int(user_id))
        return user if user and user.active else None

    # flask-login needs these on the user object
    User.is_authenticated = property(lambda self: True)
    User.is_active = property(lambda self: self.active)
    User.is_anonymous = property(lambda self: False)
    User.get_id = lambda self: str(self.id)


def _init_transactions(app: Flask) -> None:
    @app.before_request
    def _start():
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = set_request_id(supplied if _REQUEST_ID.match(supplied) else None)

    @app.after_request
    def _finish(response):
        session = g.pop("db_session", None)
        if session is not None:
            try:
                if response.status_code < 400:
                    session.commit()
                else:
                    session.rollback()
            finally:
                session.close()
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    @app.teardown_request
    def _cleanup(_exc):
        session = g.pop("db_session", None)
        if session is not None:  # an exception escaped before after_request ran
            session.rollback()
            session.close()


def _init_url_limit(app: Flask) -> None:
    @app.before_request
    def _refuse_long_api_urls():
        if not is_api_request():
            return None
        length = len(request.environ.get("RAW_URI") or "") or (
            len(request.path.encode()) + len(request.query_string) + 1
        )
        if length > MAX_API_URL_BYTES:
            raise RequestURITooLarge(f"the URL is too long (more than {MAX_API_URL_BYTES} bytes)")
        return None


def _error_json(code: str, message: str, status: int, details: dict | None = None):
    body: dict[str, dict[str, Any]] = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return jsonify(body), status


def _init_errors(app: Flask) -> None:
    @app.errorhandler(HostguardError)
    def _domain_error(exc: HostguardError):
        status = status_for(exc)
        if is_api_request():
            return _error_json(exc.code, exc.message, status, exc.details)
        return render_template(
            "error.html", status=status, message=exc.message, code=exc.code
        ), status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # Flask's handle_http_exception returns code-less exceptions before calling handlers.
        assert exc.code is not None
        code = {
            400: "bad_request",
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            414: "uri_too_long",
            429: "rate_limited",
        }.get(exc.code, "http_error")
        message = exc.description or exc.name
        if exc.code == 413:
            message = "the request is larger than this server accepts"
        if isinstance(exc, RateLimitExceeded):  # its description is the limit alone
            message = f"too many requests: limit {exc.description}; try again later"
        if is_api_request():
            response, status = _error_json(code, message, exc.code)
        else:
            page = render_template("error.html", status=exc.code, message=message)
            response, status = app.make_response(page), exc.code
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response, status

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(exc: Exception):
        # An id or number too large for the database can name nothing that exists.
        message = "a number in the request is out of range"
        if is_api_request():
            return _error_json("out_of_range", message, 404)
        return render_template("error.html", status=404, message=message), 404

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, DBAPIError):  # its message may carry row values: log the kind only
            log.error(
                "unhandled %s", safe_error_text(exc), extra={"request_id": g.get("request_id")}
            )
        else:
            log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        if is_api_request():
            return _error_json(
                "internal_error", f"internal error (request id {g.get('request_id')})", 500
            )
        return render_template(
            "error.html",
            status=500,
            message=f"Something went wrong (request id {g.get('request_id')}).",
        ), 500
