"""Generate a province of township workbooks for the benchmark (xlsxwriter, seeded, fast).

    python bench/generate.py --townships 2000 --branches 50 --out bench/data/2000x50

Each workbook has the layout of the R1 template (the reader finds columns by header text), with
cadres, events and a few vetoes, so every stage of the pipeline has real work to do.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import xlsxwriter  # noqa: E402

from processor.rulebook import load_rulebook  # noqa: E402
from processor.sheets import INSTRUCTIONS_SHEET, sheets_for  # noqa: E402
from processor.xlsx import FIXED_CREATED  # noqa: E402

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌辉"


def township_name(i: int) -> str:
    return f"第{i:04d}镇"


def write_township(args: tuple[int, int, str]) -> str:
    index, branches, folder = args
    rng = random.Random(index)
    rb = load_rulebook("R1")
    path = Path(folder) / f"{index:04d}.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    workbook.set_properties({"created": FIXED_CREATED})
    meta = workbook.add_worksheet(INSTRUCTIONS_SHEET)
    for row, (label, value) in enumerate([("模板编号", rb.template_id), ("模板版本", rb.version),
                                         ("填报乡镇", township_name(index)), ("评定年度", 2026)]):
        meta.write(row, 0, label)
        meta.write(row, 1, value)
    rows = _rows(rb, rng, index, branches)
    for sheet in sheets_for(rb):
        ws = workbook.add_worksheet(sheet.name)
        order = [f.id for f in sheet.fields]
        for j, f in enumerate(sheet.fields):
            ws.write_string(0, j, f.title)
        for i, record in enumerate(rows.get(sheet.key, []), 1):
            for j, fid in enumerate(order):
                value = record.get(fid)
                if isinstance(value, str):
                    ws.write_string(i, j, value)
                elif value is not None:
                    ws.write_number(i, j, value)
    workbook.close()
    return str(path)


def _rows(rb, rng: random.Random, index: int, branches: int) -> dict[str, list[dict]]:
    town = township_name(index)
    out: dict[str, list[dict]] = {"branches": [], "scores": [], "events": [], "vetoes": [], "cadres": []}
    for b in range(1, branches + 1):
        code = f"P{index:04d}-{b:03d}"
        out["branches"].append({"township": town, "branch_code": code, "branch_name": f"{town}{b}村党支部",
                                "village": f"{town}{b}村", "branch_type": "村党支部", "member_count": rng.randint(15, 80),
                                "secretary_is_head": "是" if rng.random() < 0.93 else "否",
                                "last_reelection": "2021-03-15", "collective_income": rng.randint(0, 300000),
                                "elderly_70_plus": rng.randint(5, 120), "reserve_cadres": rng.randint(0, 4)})
        level = rng.uniform(0.65, 0.98)
        score = {"branch_code": code, "branch_name": f"{town}{b}村党支部"}
        for unit in rb.units:
            for item in unit["items"]:
                top = int(item["max"])
                own = min(top, round(top * rng.uniform(level - 0.08, level + 0.06)))
                score[f"{unit['id']}.{item['id']}.self"] = own
                if rng.random() < 0.9:
                    score[f"{unit['id']}.{item['id']}.review"] = max(0, own - rng.choice((0, 0, 1, 2)))
        out["scores"].append(score)
        for _ in range(rng.choice((0, 1, 1, 2))):
            event = rng.choice(rb.events)
            out["events"].append({"branch_code": code, "event_kind": event["name"], "points": rng.randint(1, 6),
                                  "date": "2026-06-01", "note": "县级通报"})
        if rng.random() < 0.05:
            veto = rng.choice([v for v in rb.vetoes if "when" not in v])
            out["vetoes"].append({"branch_code": code, "veto": veto["name"], "note": "核实"})
        for k in range(5):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            out["cadres"].append({"branch_code": code, "name": name, "role": "书记" if k == 0 else "委员",
                                  "monthly_pay": round(rng.uniform(1800, 3500), 2), "months": rng.choice((12, 12, 12, 9))})
    return out


def generate(townships: int, branches: int, out: Path, workers: int = os.cpu_count() or 1) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(i, branches, str(out)) for i in range(1, townships + 1)]
    with ProcessPoolExecutor(workers) as pool:
        return [Path(p) for p in pool.map(write_township, jobs, chunksize=16)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", type=int, default=2000)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    files = generate(args.townships, args.branches, args.out)
    print(f"{len(files)} workbooks in {args.out}")


if __name__ == "__main__":
    main()
