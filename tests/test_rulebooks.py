"""Rulebooks are data: every shipped one loads; a wrong one is refused with the path of what is wrong."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from processor.paths import RULEBOOK_DIR
from processor.rulebook import (CHECKED_STAMP, RulebookError, _checked_by_stamp, checked_stamp_text, load_rulebook,
                                rulebook_data, shipped_rulebooks)

R1_YAML = RULEBOOK_DIR / "r1-huojia-five-star.yaml"


def _r1_data() -> dict:
    return yaml.safe_load(R1_YAML.read_text(encoding="utf-8"))


def _refusal(tmp_path: Path, change) -> str:
    data = copy.deepcopy(_r1_data())
    change(data)
    path = tmp_path / "county-rulebook.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(RulebookError) as refused:
        load_rulebook(path)
    return str(refused.value)


def test_all_shipped_rulebooks__load():
    loaded = shipped_rulebooks()
    assert sorted(rb.id for rb in loaded) == ["R1", "R2", "R3", "R4", "R5", "R7"]
    assert len(loaded) == len(list(RULEBOOK_DIR.glob("*.yaml")))


@pytest.mark.parametrize("name", ["R1", "huojia-five-star", "R1-huojia-five-star", "r1-huojia-five-star"])
def test_shipped_rulebook__found_by_id_key_or_file_name(name):
    assert load_rulebook(name).id == "R1"


def test_rulebook_given_as_a_path__loads(tmp_path):
    path = tmp_path / "copy.yaml"
    path.write_text(R1_YAML.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_rulebook(path).template_id == "R1-huojia-five-star"


def test_unknown_rulebook_name__refused_with_the_ids_and_keys_users_type():
    with pytest.raises(RulebookError) as refused:
        load_rulebook("no-such-rulebook")
    assert "R1（huojia-five-star）" in str(refused.value) and "r1-huojia-five-star" not in str(refused.value)


def test_unknown_top_level_key__refused_with_path_and_allowed_keys(tmp_path):
    message = _refusal(tmp_path, lambda d: d.update(colour="red"))
    assert "(top level)" in message and "'colour'" in message
    assert "allowed keys: adjustments, branch_types" in message
    for key in ("units", "rating", "settings", "vetoes"):
        assert key in message.split("allowed keys:")[1]


def test_unknown_key_in_an_item__refused_with_its_path_and_allowed_keys(tmp_path):
    message = _refusal(tmp_path, lambda d: d["units"][1]["items"][0].update(points=2))
    assert "units/1/items/0:" in message and "'points'" in message
    assert "allowed keys: all_or_nothing, id, max, name, source" in message


def test_unknown_key_in_settings__refused_with_its_path(tmp_path):
    message = _refusal(tmp_path, lambda d: d["settings"].update(bonus_cap=10))
    assert "settings:" in message and "'bonus_cap'" in message and "allowed keys:" in message


def test_bad_operator_in_a_veto__refused_with_its_path(tmp_path):
    message = _refusal(tmp_path, lambda d: d["vetoes"][0]["when"].update(op="=>"))
    assert "vetoes/0/when" in message and "'=>'" in message


def test_bad_operator_inside_a_combined_condition__refused_with_its_path(tmp_path):
    message = _refusal(tmp_path, lambda d: d["units"][0]["earn"]["all"][0].update(op="=>"))
    assert "units/0/earn/all/0/op" in message and "'=>'" in message


def test_item_max_not_a_number__refused_with_its_path(tmp_path):
    message = _refusal(tmp_path, lambda d: d["units"][0]["items"][0].update(max="很多"))
    assert "units/0/items/0/max" in message


def test_every_reason__listed_at_once(tmp_path):
    def two_mistakes(d):
        d["units"][0]["items"][0]["max"] = "很多"
        d["settings"]["bonus_cap"] = 10
    message = _refusal(tmp_path, two_mistakes)
    assert "units/0/items/0/max" in message and "bonus_cap" in message


def test_veto_naming_an_unknown_unit__refused_with_its_path_and_the_units(tmp_path):
    message = _refusal(tmp_path, lambda d: d["vetoes"][0].update(unit="no_such_star"))
    assert "vetoes/0/unit" in message and "party_building" in message


def test_duplicate_item_ids__refused(tmp_path):
    def duplicate(d):
        d["units"][0]["items"][1]["id"] = d["units"][0]["items"][0]["id"]
    assert "units/0/items: id 'secretary_ability' appears more than once" in _refusal(tmp_path, duplicate)


def test_duplicate_list_ids__refused(tmp_path):
    """Two outcome lists with one id (a branch's lists are named by id) would show as one list: refused."""
    def duplicate(d):
        d["outcomes"]["lists"][1]["id"] = d["outcomes"]["lists"][0]["id"]
    assert "outcomes/lists: id 'notice' appears more than once" in _refusal(tmp_path, duplicate)


def test_not_yaml__refused_with_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: R1\nunits: [\n", encoding="utf-8")
    with pytest.raises(RulebookError) as refused:
        load_rulebook(path)
    assert str(path) in str(refused.value)


# --- the stamp of the shipped rulebooks (rulebooks/checked.json) -------------------------------------

def test_checked_stamp__is_current_for_every_shipped_rulebook_and_the_schema():
    """Each shipped rulebook passes the schema in full, and the stamp names its bytes: a run then skips checking
    them again. When this fails after a change to a rulebook or the schema, refresh the stamp with
    python -c 'from processor.rulebook import write_checked_stamp; write_checked_stamp()'"""
    assert CHECKED_STAMP.read_text(encoding="utf-8") == checked_stamp_text()
    stamp = json.loads(CHECKED_STAMP.read_text(encoding="utf-8"))
    assert sorted(stamp["rulebooks"]) == sorted(p.name for p in RULEBOOK_DIR.glob("*.yaml"))


def _shape(data):
    """The data with every mapping's keys in their order and every value's type: what == alone does not compare."""
    if isinstance(data, dict):
        return [(key, _shape(value)) for key, value in data.items()]
    if isinstance(data, list):
        return [_shape(value) for value in data]
    return (type(data).__name__, data)


def test_checked_stamp__a_shipped_rulebook_loads_from_it_as_its_yaml_reads__each_load_its_own_copy():
    """A run reads the shipped rulebooks from the stamp, not their YAML (rulebook.rulebook_data): the same data, keys
    in the same order, numbers and true/false of the same types; a caller that changes its copy changes no other."""
    for path in sorted(RULEBOOK_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert path.name in json.loads(CHECKED_STAMP.read_text(encoding="utf-8"))["data"]
        assert _shape(rulebook_data(path, text)) == _shape(yaml.safe_load(text))
    first = load_rulebook("R1")
    first.data["rating"]["label"] = "changed"
    assert load_rulebook("R1").data["rating"]["label"] != "changed"


def test_checked_stamp__covers_only_the_bytes_it_names():
    """A shipped file edited after installation, or a county's copy elsewhere, is checked against the schema in full."""
    text = R1_YAML.read_text(encoding="utf-8")
    assert _checked_by_stamp(R1_YAML, text)
    assert not _checked_by_stamp(R1_YAML, text.replace("name:", "name: ", 1))
    assert not _checked_by_stamp(Path("/elsewhere") / R1_YAML.name, text)


def test_shipped_rulebook_edited_after_installation__refused_with_its_path(tmp_path, monkeypatch):
    """The stamp never lets a changed file through: copy the shipped folder, break R1 there, point the loader at it."""
    import processor.rulebook as rulebook

    folder = tmp_path / "rulebooks"
    shutil.copytree(RULEBOOK_DIR, folder)
    broken = folder / R1_YAML.name
    broken.write_text(R1_YAML.read_text(encoding="utf-8").replace("rating:", "ratings:", 1), encoding="utf-8")
    monkeypatch.setattr(rulebook, "RULEBOOK_DIR", folder)
    monkeypatch.setattr(rulebook, "CHECKED_STAMP", folder / "checked.json")
    rulebook._stamp.cache_clear()
    try:
        with pytest.raises(RulebookError) as refused:
            load_rulebook(broken)
    finally:
        rulebook._stamp.cache_clear()
    assert str(broken) in str(refused.value)
