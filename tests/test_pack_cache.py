"""The validated-pack cache: served only while every file the pack was built from is unchanged,
never a reason for a load to fail, and never a way to run someone else's code."""

from __future__ import annotations

import os
import pickle
import shutil
import stat
from pathlib import Path

import pytest

from posology.errors import PackError
from posology.knowledge import Pack, cache, data_folder, load_pack_file
from posology.knowledge.schema import Range
from posology.units import Quantity, unit

PACK = "baclofen.yaml"
PROFILE = "baclofen.us.yaml"
PAGE = "000_b1a87da4a9cdf50a.txt"
# A quote of rule PO-MAX, verified against the shipped page on every full load.
QUOTE = "unless the patient is in hospital"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv(cache.CACHE_VARIABLE, raising=False)
    return home


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    """A private copy of the shipped pack folder, free to edit."""
    folder = tmp_path / "packs"
    shutil.copytree(data_folder(), folder)
    return folder


def _entries(home: Path) -> list[Path]:
    return sorted((home / "posology" / "packs").glob("*.pickle"))


def _entry(path: Path, home: Path) -> Path:
    return home / "posology" / "packs" / f"{cache.key(path.name, path.read_bytes())}.pickle"


def _full_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as m:
        m.setenv(cache.CACHE_VARIABLE, "off")
        return load_pack_file(path)


def test_a_second_load_is_served_from_the_cache_and_equals_a_full_load(
    cache_home: Path, packs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_pack_file(packs / PROFILE)
    entry = _entry(packs / PROFILE, cache_home)
    assert entry.is_file()
    served = cache.fetch(entry.stem, packs)
    assert served is not None and served is not first
    assert served == first == _full_load(packs / PROFILE, monkeypatch)
    assert load_pack_file(packs / PROFILE) == first
    assert served.rule("PO-MAX").quantity("max_daily_outpatient") == first.rule("PO-MAX").quantity(
        "max_daily_outpatient"
    )


def _quantities(value: object) -> list[Quantity]:
    if isinstance(value, Quantity):
        return [value]
    if isinstance(value, Range):
        return _quantities(value.low) + _quantities(value.high)
    if isinstance(value, tuple):
        return [q for item in value for q in _quantities(item)]
    if hasattr(value, "values"):
        return [q for item in value.values() for q in _quantities(item)]
    return []


def _pack_quantities(pack: Pack) -> list[Quantity]:
    return [q for rule in pack.rules.values() for q in _quantities(rule.numbers)]


def test_a_served_pack_shares_the_units_a_yaml_load_gets(cache_home: Path, packs: Path) -> None:
    """Quantity comparisons take a quick path when both sides hold the same unit instance; a
    pack from the cache must keep it, or every check against it is slower."""
    read = load_pack_file(packs / PACK)
    served = cache.fetch(_entry(packs / PACK, cache_home).stem, packs)
    assert served is not None
    pairs = list(zip(_pack_quantities(read), _pack_quantities(served), strict=True))
    shared = [(a, b) for a, b in pairs if a.unit is unit(a.unit.code)]
    assert len(shared) >= 20
    for a, b in shared:
        assert a == b and b.unit is a.unit, a


def test_an_edited_quote_is_revalidated_and_refused_not_served_from_the_cache(
    cache_home: Path, packs: Path
) -> None:
    load_pack_file(packs / PACK)  # validated and stored
    assert _entries(cache_home)
    text = (packs / PACK).read_text(encoding="utf-8")
    assert QUOTE in text
    (packs / PACK).write_text(text.replace(QUOTE, "unless the patient is at home"), "utf-8")
    with pytest.raises(PackError, match=r"baclofen.yaml: rule PO-MAX: field quote: not found"):
        load_pack_file(packs / PACK)


def test_an_edited_source_text_is_revalidated_and_its_lost_quote_refused(
    cache_home: Path, packs: Path
) -> None:
    load_pack_file(packs / PACK)
    page = (packs / PAGE).read_text(encoding="utf-8")
    assert QUOTE in page
    (packs / PAGE).write_text(page.replace(QUOTE, "unless the patient is at home"), "utf-8")
    with pytest.raises(PackError, match=r"field quote: not found verbatim in " + PAGE):
        load_pack_file(packs / PACK)


def test_an_edited_base_pack_reaches_the_profile_that_extends_it(
    cache_home: Path, packs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = load_pack_file(packs / PROFILE)
    text = (packs / PACK).read_text(encoding="utf-8")
    title = before.rule("PO-MAX").title
    assert text.count(f"title: {title}\n") == 1
    (packs / PACK).write_text(text.replace(f"title: {title}\n", "title: Edited\n"), "utf-8")
    after = load_pack_file(packs / PROFILE)
    assert after.rule("PO-MAX").title == "Edited"
    assert after == _full_load(packs / PROFILE, monkeypatch)


def test_a_pack_that_fails_validation_is_not_stored(cache_home: Path, packs: Path) -> None:
    text = (packs / PACK).read_text(encoding="utf-8")
    (packs / PACK).write_text(text.replace(QUOTE, "unless the patient is at home"), "utf-8")
    for _ in range(2):
        with pytest.raises(PackError, match="not found verbatim"):
            load_pack_file(packs / PACK)
    assert _entries(cache_home) == []


def test_a_corrupt_entry_is_ignored_and_replaced(
    cache_home: Path, packs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_pack_file(packs / PACK)
    entry = _entry(packs / PACK, cache_home)
    for junk in (b"", b"not a pickle", entry.read_bytes()[:1000], pickle.dumps(("x", 1))):
        entry.write_bytes(junk)
        assert cache.fetch(entry.stem, packs) is None
        assert load_pack_file(packs / PACK) == _full_load(packs / PACK, monkeypatch)
        assert cache.fetch(entry.stem, packs) is not None  # stored again, whole


def test_an_unusable_cache_folder_never_fails_a_load(
    tmp_path: Path, packs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert load_pack_file(packs / PACK).medicine == "baclofen"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")
    monkeypatch.setenv("HOME", str(blocker))
    assert load_pack_file(packs / PACK).medicine == "baclofen"


def test_cache_off_reads_and_writes_nothing(
    cache_home: Path, packs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.CACHE_VARIABLE, "off")
    load_pack_file(packs / PACK)
    assert not cache_home.exists()


def test_the_cache_folder_and_entries_are_private(cache_home: Path, packs: Path) -> None:
    load_pack_file(packs / PACK)
    for level in (cache_home / "posology", cache_home / "posology" / "packs"):
        assert stat.S_IMODE(level.stat().st_mode) & 0o077 == 0, level
    for entry in _entries(cache_home):
        assert stat.S_IMODE(entry.stat().st_mode) & 0o077 == 0, entry


def test_an_entry_others_can_write_is_not_read(cache_home: Path, packs: Path) -> None:
    load_pack_file(packs / PACK)
    entry = _entry(packs / PACK, cache_home)
    assert cache.fetch(entry.stem, packs) is not None
    entry.chmod(0o622)
    assert cache.fetch(entry.stem, packs) is None
    load_pack_file(packs / PACK)  # a full load replaces it with a private entry
    assert stat.S_IMODE(entry.stat().st_mode) & 0o077 == 0
    assert cache.fetch(entry.stem, packs) is not None


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="no user IDs on this system")
def test_an_entry_of_another_user_is_not_read(
    cache_home: Path, packs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_pack_file(packs / PACK)
    entry = _entry(packs / PACK, cache_home)
    me = os.getuid()
    monkeypatch.setattr(cache.os, "getuid", lambda: me + 1)
    assert cache.fetch(entry.stem, packs) is None


def test_an_entry_that_is_a_symbolic_link_is_not_read(cache_home: Path, packs: Path) -> None:
    load_pack_file(packs / PACK)
    entry = _entry(packs / PACK, cache_home)
    real = entry.with_name("elsewhere.bin")
    entry.rename(real)
    entry.symlink_to(real)
    assert cache.fetch(entry.stem, packs) is None


class _Planted:
    """A pickle that, if unpickled by a plain unpickler, would delete the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.remove, (str(self.marker),))


def test_a_planted_pickle_cannot_run_code(
    cache_home: Path, packs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "still-here"
    marker.write_text("x")
    load_pack_file(packs / PACK)
    entry = _entry(packs / PACK, cache_home)
    planted = (cache.MAGIC, entry.stem, (), _Planted(marker))
    entry.write_bytes(pickle.dumps(planted))
    entry.chmod(0o600)
    assert cache.fetch(entry.stem, packs) is None
    assert load_pack_file(packs / PACK) == _full_load(packs / PACK, monkeypatch)
    assert marker.exists()


def test_the_key_covers_the_file_name_and_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (data_folder() / PACK).read_bytes()
    assert cache.key(PACK, data) != cache.key("other.yaml", data)
    assert cache.key(PACK, data) != cache.key(PACK, data + b"\n")
    before = cache.key(PACK, data)
    monkeypatch.setattr(cache, "_code_digest", lambda: "another version of the loader")
    assert cache.key(PACK, data) != before


def test_old_entries_beyond_the_limit_are_pruned(
    cache_home: Path, packs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "KEEP", 2)
    text = (packs / PACK).read_text(encoding="utf-8")
    for n in range(4):
        (packs / PACK).write_text(f"{text}\n# edit {n}\n", "utf-8")
        load_pack_file(packs / PACK)
    assert len(_entries(cache_home)) == 2
    assert _entry(packs / PACK, cache_home).is_file()  # the newest is kept
