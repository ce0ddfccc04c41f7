"""/api/v1/docs renders the OpenAPI document with Swagger UI served from a Python package."""

from __future__ import annotations

import re


def test_api_docs_page_loads_only_our_own_files(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources  # no CDN
    assert 'data-spec="/api/v1/openapi.json"' in html
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.get_data(), source
    bundle = client.get("/api/v1/docs/assets/swagger-ui-bundle.js").get_data(as_text=True)
    assert "SwaggerUIBundle" in bundle
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_only_the_ui_files_are_served(client):
    response = client.get("/api/v1/docs/assets/index.html")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
