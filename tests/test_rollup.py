"""`starbatch rollup`: three county runs (their own townships and inboxes) merged into one workbook whose totals
are the sum of the counties' to the fen, with who has not reported."""
from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from run_helpers import loose_inbox, run_args, run_cli, sheet_values, table

# county → township → branch ratings; 石门县 also expects 城关镇, which sends nothing
COUNTIES = {
    "明川县": {"城关镇": [5, 3, 2], "河口镇": [4, 1, 0]},
    "青河县": {"柳林镇": [2, 2, 3], "石桥乡": [1, 5, 2, 4]},
    "石门县": {"青山乡": [0, 1, 2], "杨庄镇": [3]},
}
EXPECTED_EXTRA = {"石门县": ["城关镇"]}


@pytest.fixture(scope="module")
def county_runs(tmp_path_factory) -> dict[str, Path]:
    """Each county's own run: its inbox, its output folder (named after the county), its ledger."""
    root = tmp_path_factory.mktemp("counties")
    found = {}
    for name, townships in COUNTIES.items():
        inbox = loose_inbox(root / "inbox" / name, townships)
        expected = ",".join([*townships, *EXPECTED_EXTRA.get(name, [])])
        code, _, err = run_cli(*run_args(inbox, root / name, "--townships", expected, "--seed", "7"))
        assert code in (0, 1), err
        found[name] = root / name / "results.json"
    return found


def _results(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _rollup(paths: list[Path], out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli("rollup", *map(str, paths), "--out", str(out), *extra)


def test_rollup__totals_are_the_sum_of_the_counties_to_the_fen(county_runs, tmp_path):
    code, stdout, err = _rollup(list(county_runs.values()), tmp_path / "city")
    assert code == 1, err  # 石门县's 城关镇 has not reported
    rolled = json.loads((tmp_path / "city" / "rollup.json").read_text(encoding="utf-8"))
    by_payer: dict[str, Decimal] = {}
    for path in county_runs.values():
        for payer, amount in _results(path)["totals"]["by_payer"].items():
            by_payer[payer] = by_payer.get(payer, Decimal(0)) + Decimal(amount)
    assert by_payer and {p: Decimal(a) for p, a in rolled["totals"]["by_payer"].items()} == by_payer
    assert Decimal(rolled["totals"]["amount"]) == sum(
        Decimal(_results(p)["totals"]["amount"]) for p in county_runs.values())
    assert [c["county"] for c in rolled["counties"]] == sorted(COUNTIES)
    for c in rolled["counties"]:
        assert c["amount"] == _results(county_runs[c["county"]])["totals"]["amount"]
    assert f"{rolled['totals']['amount']} 元" in stdout


def test_rollup__workbook_star_distribution_per_county_and_township(county_runs, tmp_path):
    _rollup(list(county_runs.values()), tmp_path / "city")
    book = tmp_path / "city" / "评定结果汇总_多县_2026.xlsx"
    per_county = {r["县"]: r for r in table(book, "各县汇总", "县")}
    for name, townships in COUNTIES.items():
        ratings = Counter(r for rs in townships.values() for r in rs)
        row = per_county[name]
        assert row["支部数"] == sum(ratings.values())
        assert [row[f"{n}星"] for n in range(1, 6)] == [ratings[n] for n in range(1, 6)]
        assert row["无星"] == ratings[0]
        assert row["合格支部"] == sum(k for r, k in ratings.items() if r >= 2)
    total = per_county["合计"]
    assert total["支部数"] == sum(len(rs) for t in COUNTIES.values() for rs in t.values())
    shown = {(r["县"], r["乡镇"]): r for r in table(book, "乡镇星级分布", "县")}
    assert shown[("青河县", "石桥乡")]["5星"] == 1 and shown[("青河县", "石桥乡")]["支部数"] == 4
    assert shown[("石门县", "城关镇")]["状态"] == "未报送"
    amounts = Decimal(0)
    for (county, _), r in shown.items():
        amounts += Decimal(str(r["合计（元）"])).quantize(Decimal("0.01"))
    assert amounts == Decimal(json.loads((tmp_path / "city" / "rollup.json").read_text())["totals"]["amount"])


def test_rollup__completeness_names_missing_townships_and_counties(county_runs, tmp_path):
    code, stdout, _ = _rollup(list(county_runs.values()), tmp_path / "city", "--counties", "明川县,青河县,石门县,北山县")
    assert code == 1
    rows = sheet_values(tmp_path / "city" / "评定结果汇总_多县_2026.xlsx", "报送情况")
    assert ["石门县", "城关镇", "未报送"] in rows
    assert ["北山县", "—", "未报送结果（无 results.json）"] in rows
    assert "北山县" in stdout and "城关镇" in stdout
    complete = [county_runs["明川县"], county_runs["青河县"]]
    assert _rollup(complete, tmp_path / "two", "--counties", "明川县,青河县")[0] == 0


def test_rollup__targets_added_up_over_counties(county_runs, tmp_path):
    _rollup(list(county_runs.values()), tmp_path / "city")
    rows = table(tmp_path / "city" / "评定结果汇总_多县_2026.xlsx", "目标达成", "县")
    combined = [r for r in rows if str(r["县"]).startswith("全部")]
    assert combined  # R1 has county-wide targets
    for target in combined:
        per_county = [r for r in rows if r["目标"] == target["目标"] and not str(r["县"]).startswith("全部")]
        assert len(per_county) == 3
        assert target["计入支部"] == sum(r["计入支部"] for r in per_county)
        assert target["支部总数"] == sum(r["支部总数"] for r in per_county) == 17


def test_rollup__same_results_any_order_any_workers__byte_identical(county_runs, tmp_path):
    paths = list(county_runs.values())
    _rollup(paths, tmp_path / "a", "--workers", "1")
    _rollup(paths[::-1], tmp_path / "b", "--workers", "3")  # each county read in a child of its own
    for name in ("评定结果汇总_多县_2026.xlsx", "rollup.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_rollup__payment_lines_not_adding_up__refused_exit_2(county_runs, tmp_path):
    data = _results(county_runs["明川县"])
    data["payments"][0]["amount"] = f"{Decimal(data['payments'][0]['amount']) + Decimal('0.01'):.2f}"
    edited = tmp_path / "明川县" / "results.json"
    edited.parent.mkdir()
    edited.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    for workers in ("1", "2"):  # read here, or in a child whose refusal comes back here
        code, _, err = _rollup([county_runs["青河县"], edited], tmp_path / "city", "--workers", workers)
        assert code == 2 and "不符" in err and str(edited) in err
        assert not (tmp_path / "city").exists()


def test_rollup__workers_not_a_whole_number_from_1__exit_2_nothing_written(county_runs, tmp_path):
    code, _, err = _rollup(list(county_runs.values()), tmp_path / "city", "--workers", "0")
    assert code == 2 and "--workers 0" in err
    assert not (tmp_path / "city").exists()


def test_rollup__not_a_results_file__exit_2(tmp_path):
    bad = tmp_path / "x" / "results.json"
    bad.parent.mkdir()
    bad.write_text("{not json", encoding="utf-8")
    code, _, err = _rollup([bad], tmp_path / "city")
    assert code == 2 and "results.json" in err
