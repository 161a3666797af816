"""The parsed-spec cache (sandbox/spec.py): YAML parsed once per content, kept as JSON by its SHA-256;
never stale, never required (a damaged or unwritable cache only means parsing the YAML again)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from sandbox import spec as specs

SPEC = """\
openapi: 3.1.0
info: {title: cached, version: '1'}
paths:
  /things:
    get:
      responses:
        200:
          description: ok
          content:
            application/json:
              example: {when: 2026-12-02, count: 3}
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LEAD_SANDBOX_CACHE_DIR", str(folder))
    specs._json_of.cache_clear()  # this process's memo would otherwise answer before the cache file
    yield folder
    specs._json_of.cache_clear()


def _write(folder: Path, text: str) -> Path:
    path = folder / "cached.yaml"
    path.write_text(text)
    return path


def test_a_spec_loads_as_its_yaml_reads_with_json_keys_and_values(tmp_path: Path, cache: Path) -> None:
    loaded = specs.load_spec(str(_write(tmp_path, SPEC)))
    responses = loaded["paths"]["/things"]["get"]["responses"]
    assert list(responses) == ["200"]  # YAML's integer key, as JSON has it
    assert responses["200"]["content"]["application/json"]["example"] == {"when": "2026-12-02", "count": 3}
    assert loaded["info"] == yaml.safe_load(SPEC)["info"]


def test_each_load_is_a_private_copy(tmp_path: Path, cache: Path) -> None:
    path = str(_write(tmp_path, SPEC))
    first = specs.load_spec(path)
    first["paths"]["/things"]["get"]["responses"]["200"]["description"] = "changed by Connexion"
    assert specs.load_spec(path)["paths"]["/things"]["get"]["responses"]["200"]["description"] == "ok"


def test_the_second_start_reads_the_cache_file_not_the_yaml(tmp_path: Path, cache: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(_write(tmp_path, SPEC))
    expected = specs.load_spec(path)
    [entry] = list(cache.iterdir())
    assert entry.name.startswith("cached-") and entry.suffix == ".json"
    specs._json_of.cache_clear()  # a new process

    def no_yaml(*_: object, **__: object) -> None:
        raise AssertionError("parsed the YAML although the cache holds it")

    monkeypatch.setattr(specs.yaml, "load", no_yaml)
    assert specs.load_spec(path) == expected


def test_a_changed_spec_is_parsed_again_never_read_stale(tmp_path: Path, cache: Path) -> None:
    path = _write(tmp_path, SPEC)
    assert specs.load_spec(str(path))["info"]["title"] == "cached"
    path.write_text(SPEC.replace("title: cached", "title: edited"))
    os.utime(path, (1, 1))  # even with a clock that did not move: the cache is keyed by content
    specs._json_of.cache_clear()
    assert specs.load_spec(str(path))["info"]["title"] == "edited"
    assert len(list(cache.iterdir())) == 2


def test_a_damaged_cache_entry_is_parsed_again_and_replaced(tmp_path: Path, cache: Path) -> None:
    path = str(_write(tmp_path, SPEC))
    expected = specs.load_spec(path)
    [entry] = list(cache.iterdir())
    entry.write_bytes(b'{"openapi": "3.1.0", "paths": {')  # torn write, say
    specs._json_of.cache_clear()
    assert specs.load_spec(path) == expected
    assert entry.read_bytes().startswith(b'{"openapi":"3.1.0"') and entry.read_bytes().endswith(b"}")


def test_an_unusable_cache_folder_only_costs_a_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("LEAD_SANDBOX_CACHE_DIR", str(blocker / "cache"))
    specs._json_of.cache_clear()
    try:
        assert specs.load_spec(str(_write(tmp_path, SPEC)))["info"]["title"] == "cached"
    finally:
        specs._json_of.cache_clear()


def test_without_a_setting_the_cache_is_the_users_cache_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEAD_SANDBOX_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    assert specs.spec_cache_dir() == Path("/somewhere/cache/lead-sandbox/openapi")


def test_without_a_home_directory_specs_load_uncached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEAD_SANDBOX_CACHE_DIR")

    def no_home(*_: object, **__: object) -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(specs.platformdirs, "user_cache_path", no_home)
    specs._json_of.cache_clear()
    try:
        assert specs.spec_cache_dir() is None
        assert specs.load_spec(str(_write(tmp_path, SPEC)))["info"]["title"] == "cached"
    finally:
        specs._json_of.cache_clear()


def test_a_spec_json_cannot_hold_loads_as_its_yaml_and_is_not_cached(tmp_path: Path, cache: Path) -> None:
    """An integer past 64 bits (an example, say): orjson cannot write it, so that spec is parsed each start."""
    big = SPEC.replace("count: 3", "count: 123456789012345678901234567890")
    loaded = specs.load_spec(str(_write(tmp_path, big)))
    example = loaded["paths"]["/things"]["get"]["responses"][200]["content"]["application/json"]["example"]
    assert example["count"] == 123456789012345678901234567890
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_cache_entry_that_cannot_be_written_leaves_no_partial_file(tmp_path: Path, cache: Path) -> None:
    import hashlib

    path = _write(tmp_path, SPEC)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    (cache / f"cached-{digest}-v{specs._CACHE_FORMAT}.json").mkdir(parents=True)  # a folder where the entry goes
    assert specs.load_spec(str(path))["info"]["title"] == "cached"
    assert [entry.name for entry in cache.iterdir()] == [f"cached-{digest}-v{specs._CACHE_FORMAT}.json"]
