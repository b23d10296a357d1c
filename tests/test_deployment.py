"""The production stack files agree with the code: every service runs a real `publisher` command,
Redis keeps queued tasks across restarts, and `publisher run` (the embedded scheduler) works."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from publisher.cli import main
from publisher.settings import ENV_PREFIX, Settings
from tests.conftest import ROOT


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_services_run_real_commands() -> None:
    services = _compose()["services"]
    assert {"redis", "postgres", "migrate", "web", "worker", "beat", "inbound", "mailpit"} <= set(services)
    for name in ("migrate", "web", "worker", "beat", "inbound"):
        command = services[name]["command"]
        assert command[0] in main.commands, (name, command)
        result = CliRunner().invoke(main, [*command[:1], "--help"])
        assert result.exit_code == 0, result.output
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["inbound"]["command"][:2] == ["inbound", "serve"]
    queues = services["worker"]["command"][services["worker"]["command"].index("--queues") + 1]
    assert set(queues.split(",")) == {"editions", "deliveries", "feeds"}


def test_redis_keeps_tasks_and_never_evicts_them() -> None:
    command = " ".join(_compose()["services"]["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command


def test_env_example_names_only_real_settings() -> None:
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        name = line.lstrip("# ").split("=", 1)[0]
        if name.startswith(ENV_PREFIX):
            assert name in known, name


def test_publisher_run_once(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'run.db'}")
    monkeypatch.setenv("PUBLISHER_FEEDS_DIR", str(tmp_path / "feeds"))
    monkeypatch.setenv("PUBLISHER_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("PUBLISHER_REDIS_URL", raising=False)
    result = CliRunner().invoke(main, ["run", "--once", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["feeds_refreshed"] is True  # the default 5-minute feed refresh exists and was due
    assert (tmp_path / "feeds" / "index.rss").exists()


def test_readme_documents_every_setting_and_its_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`{ENV_PREFIX}{name.upper()}`" in readme, name
    assert "bash scripts/demo" in readme and "bash scripts/test" in readme
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
