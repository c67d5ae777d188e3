"""Silent blanks that change outcomes are said at their cells (issue 11 item 6), and R3's committee size.

Each workbook is the committed template filled by header text, as a clerk fills it.
"""
from __future__ import annotations

from pathlib import Path

from processor.pipeline import pay_files
from processor.rulebook import load_rulebook
from processor.validate import validate_file
from readings_helpers import cadre, fill_by_header, r1_branch, score_row
from run_helpers import consolidated_path, results, run_args, run_cli, sheet_values, table

R1, R3, R4 = load_rulebook("R1"), load_rulebook("R3"), load_rulebook("R4")


def _places(sub, code: str) -> list[tuple[str, str]]:
    return [(p.sheet, p.cell) for p in sub.problems if p.code == code]


def test_r4_branch_without_a_vote__error_at_the_vote_sheet(tmp_path: Path) -> None:
    # 002_2fd0b28a4b55ec79.txt line 375: 满意率60%以下扣5分，50%以下不定星级 — with no vote neither can be applied.
    organs = [{"乡镇": "城关镇", "支部编码": code, "支部名称": f"{code}党组织", "支部类型": "机关党支部", "党员人数": 40}
              for code in ("JG-A", "JG-B")]
    path = fill_by_header(R4, tmp_path / "城关镇.xlsx", "城关镇", {
        "支部信息": organs,
        "评分": [score_row(R4, o["支部编码"], [u["id"] for u in R4.units]) for o in organs],
        "民主测评": [{"支部编码": "JG-A", "测评对象": "整体", "应参加人数": 40, "实际参加人数": 40, "满意（赞成）票数": 38}],
    })
    sub = validate_file(path, R4)
    missing = [p for p in sub.problems if p.code == "REF_020"]
    assert [(p.sheet, p.value, p.severity) for p in missing] == [("民主测评", "JG-B", "error")]
    assert not sub.accepted


def test_r1_elderly_count_blank__star_earned__warning_at_its_cell_when_paid(tmp_path: Path) -> None:
    # 000_556207f0cb65ca56.txt line 319: 平安和谐星 … 70周岁以上老人，每人每年120元 — a blank count paid 0 silently.
    # Both branches earn every star (all items at their maximum); CG-001 left the count blank, CG-002 gave 12.
    path = fill_by_header(R1, tmp_path / "城关镇.xlsx", "城关镇", {
        "支部信息": [r1_branch("CG-001", **{"70周岁以上老人数": None}), r1_branch("CG-002", **{"70周岁以上老人数": 12})],
        "评分": [score_row(R1, code, [u["id"] for u in R1.units]) for code in ("CG-001", "CG-002")],
        "村干部": [cadre("CG-001", "王一", "书记", 3000, 12), cadre("CG-002", "王二", "书记", 3000, 12)],
    })
    report, [paid] = pay_files([path], tmp_path / "out", R1)
    assert not report.rejected
    warned = [p for p in paid.payments.problems if p.code == "PAY_003"]
    assert len(warned) == 1 and warned[0].branch == "CG-001" and warned[0].sheet == "支部信息"
    assert warned[0].field == "70周岁以上老人数" and warned[0].cell.endswith("2") and warned[0].severity == "warning"
    assert "70周岁以上老人奖励" in warned[0].message


def test_r1_elderly_count_blank__the_nightly_run__warning_on_the_townships_receipt(tmp_path: Path) -> None:
    # 000_556207f0cb65ca56.txt line 319 (平安和谐星 … 每人每年120元): the warning asks the clerk to fill in the count
    # and send again, so it is on the clerk's receipt, not only in the county's problem list.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fill_by_header(R1, inbox / "城关镇.xlsx", "城关镇", {
        "支部信息": [r1_branch("CG-001", **{"70周岁以上老人数": None}), r1_branch("CG-002", **{"70周岁以上老人数": 12})],
        "评分": [score_row(R1, code, [u["id"] for u in R1.units]) for code in ("CG-001", "CG-002")],
        "村干部": [cadre("CG-001", "王一", "书记", 3000, 12), cadre("CG-002", "王二", "书记", 3000, 12)],
    })
    out = tmp_path / "out"
    code, _, stderr = run_cli(*run_args(inbox, out, "--rulebook", "R1"))
    assert code == 0, stderr

    [receipt] = sorted((out / "receipts").glob("*.xlsx"))
    listed = [r for r in table(receipt, "问题清单", "序号") if r["代码"] == "PAY_003"]
    assert len(listed) == 1
    assert listed[0]["工作表"] == "支部信息" and listed[0]["单元格"].endswith("2") and listed[0]["类别"] == "提示"
    assert "请补填人数后重新报送" in listed[0]["问题与修改方法"]
    said = {r[0]: r[1] for r in sheet_values(receipt, "回执") if r and r[0]}
    assert said["提示"] == 1 and said["错误"] == 0  # counted as the file's warning, the file still used
    [entry] = [i for i in results(out)["inputs"] if i["file"] == "城关镇.xlsx"]
    assert entry["state"] == "accepted" and entry["warning"] == 1
    county_list = [r for r in table(consolidated_path(out), "问题清单", "文件") if r.get("代码") == "PAY_003"]
    assert [r["乡镇"] for r in county_list] == ["城关镇"]  # once, under its township


def test_r3_committee_of_four__warning_at_the_cell__five_to_seven_fine(tmp_path: Path) -> None:
    # 002_2fd0b28a4b55ec79.txt line 167: 评议委员会……一般为5~7人 — “一般”: outside it is a warning, not a refusal.
    codes = ("CG-A", "CG-B")
    branches = [{"乡镇": "城关镇", "支部编码": c, "支部名称": f"{c}村党支部", "支部类型": "村党支部", "党员人数": 30}
                for c in codes]
    target = R3.vote_target_name(R3.votes["targets"][0])
    votes = [{"支部编码": "CG-A", "测评对象": target, "应参加人数": 30, "实际参加人数": 30, "满意（赞成）票数": 29,
              "评议委员会人数": 4},
             {"支部编码": "CG-B", "测评对象": target, "应参加人数": 30, "实际参加人数": 30, "满意（赞成）票数": 29,
              "评议委员会人数": 7}]
    path = fill_by_header(R3, tmp_path / "城关镇.xlsx", "城关镇", {
        "支部信息": branches,
        "评分": [score_row(R3, c, [u["id"] for u in R3.units]) for c in codes],
        "民主测评": votes,
    })
    sub = validate_file(path, R3)
    warned = [p for p in sub.problems if p.code == "REF_022"]
    assert [(p.sheet, p.value, p.severity) for p in warned] == [("民主测评", "4", "warning")]
    assert warned[0].cell.endswith("2")
