"""Settings come in layers (defaults < file < environment < flags) and errors say how to fix them."""

from __future__ import annotations

from pathlib import Path

import pytest

from reachwatch.config import load_settings
from reachwatch.errors import ConfigError


def test_layers_override_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "reachwatch.toml"
    config.write_text('db = "from-file.db"\nbatch_size = 10\nmax_payload_bytes = 4096\n')
    monkeypatch.setenv("REACHWATCH_CONFIG", str(config))
    monkeypatch.delenv("REACHWATCH_DB", raising=False)
    monkeypatch.delenv("REACHWATCH_BATCH_SIZE", raising=False)
    assert load_settings().db == "from-file.db"
    monkeypatch.setenv("REACHWATCH_DB", "from-env.db")
    monkeypatch.setenv("REACHWATCH_BATCH_SIZE", "20")
    settings = load_settings(batch_size=30, db=None)
    assert (settings.db, settings.batch_size, settings.max_payload_bytes) == ("from-env.db", 30, 4096)


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACHWATCH_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("REACHWATCH_DB", raising=False)
    settings = load_settings()
    assert settings.db == "reachwatch.db"
    assert settings.keep_deleted_text is True


def test_invalid_value_names_every_way_to_set_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACHWATCH_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError) as caught:
        load_settings(batch_size=0)
    message = str(caught.value)
    assert "batch_size" in message
    assert "--batch-size" in message
    assert "REACHWATCH_BATCH_SIZE" in message
    assert "absent.toml" in message


def test_unknown_setting_in_the_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "reachwatch.toml"
    config.write_text('databse = "typo.db"\n')
    monkeypatch.setenv("REACHWATCH_CONFIG", str(config))
    with pytest.raises(ConfigError, match="databse"):
        load_settings()


def test_model_paths_resolve_from_the_config_folder_or_the_installation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never from the current folder: serving from another folder finds the installed model, and
    a relative path in a config file is read from the config file's folder."""

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("REACHWATCH_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("REACHWATCH_EMBEDDING_MODEL", raising=False)
    installed = Path(__file__).resolve().parents[1] / "models" / "all-MiniLM-L6-v2-int8"
    assert Path(load_settings().embedding_model) == installed
    conf = tmp_path / "deploy"
    (conf / "my-model").mkdir(parents=True)
    (conf / "reachwatch.toml").write_text('embedding_model = "my-model"\n')
    monkeypatch.setenv("REACHWATCH_CONFIG", str(conf / "reachwatch.toml"))
    assert Path(load_settings().embedding_model) == conf / "my-model"
