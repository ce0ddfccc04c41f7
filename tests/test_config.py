"""Configuration layering and the production secret check."""

import pytest

from hostguard.config import ConfigError, load_settings


def test_env_overrides_config_file(tmp_path, monkeypatch):
    config = tmp_path / "hostguard.toml"
    config.write_text('base_url = "https://from-file.example"\nactioner = "webhook"\n')
    monkeypatch.setenv("HOSTGUARD_CONFIG", str(config))
    monkeypatch.setenv("HOSTGUARD_ACTIONER", "log")
    settings = load_settings()
    assert settings.base_url == "https://from-file.example"
    assert settings.actioner == "log"


def test_missing_config_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HOSTGUARD_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()


def test_default_database_is_sqlite_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("HOSTGUARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("HOSTGUARD_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'data' / 'hostguard.db'}"


@pytest.mark.parametrize("secret", [None, "changeme", "short-secret"])
def test_production_refuses_weak_secret(secret, monkeypatch):
    monkeypatch.delenv("HOSTGUARD_SECRET_KEY", raising=False)
    settings = load_settings(env="production", secret_key=secret, metrics_token="m" * 32)
    with pytest.raises(ConfigError, match="HOSTGUARD_SECRET_KEY"):
        settings.require_production_secrets()


def test_production_accepts_strong_secret():
    load_settings(
        env="production", secret_key="x" * 40, metrics_token="m" * 32
    ).require_production_secrets()


def test_production_refuses_open_metrics():
    settings = load_settings(env="production", secret_key="x" * 40, metrics_token=None)
    with pytest.raises(ConfigError, match="HOSTGUARD_METRICS_TOKEN"):
        settings.require_production_secrets()


def test_production_serve_refuses_to_start(tmp_path):
    from click.testing import CliRunner

    from hostguard.cli import main

    result = CliRunner().invoke(
        main,
        ["init"],
        env={
            "HOSTGUARD_ENV": "production",
            "HOSTGUARD_DATA_DIR": str(tmp_path),
            "HOSTGUARD_SECRET_KEY": "changeme",
            "HOSTGUARD_METRICS_TOKEN": "m" * 32,
        },
    )
    assert result.exit_code == 2
    assert "HOSTGUARD_SECRET_KEY" in result.stderr


def test_c2pa_trust_anchors_must_name_a_pem_file(tmp_path):
    with pytest.raises(ConfigError, match="c2pa_trust_anchors"):
        load_settings(c2pa_trust_anchors=tmp_path / "missing.pem")
    not_pem = tmp_path / "anchors.txt"
    not_pem.write_text("hello")
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        load_settings(c2pa_trust_anchors=not_pem).c2pa_trust_anchor_pem  # noqa: B018
    assert load_settings().c2pa_trust_anchor_pem is None
