"""The finance workbook (财务发放表), written by `processor.pipeline.pay_files` and read back with openpyxl.

A generated county of 2,000 cadres (10 townships × 40 branches × 5 cadres, seeded random pay with two
decimals, months 1–12, ratings 0–5) is paid; the test then recomputes every payment itself from the
seed's numbers (000_556207f0cb65ca56.txt line 319; `pay_helpers.expected_*`: each line rounded half up
to the fen with Decimal, then summed) and compares, to the fen, with what the workbook shows.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import openpyxl
import pytest

from pay_helpers import (PEACE, Branch, Cadre, expected_cadre_amount, expected_village_amount, generated_county,
                         r1, stars, write_county, write_township)
from processor.fill import save_deterministic
from processor.pipeline import PaidGroup, pay_files

D = Decimal
TOWNSHIPS, BRANCHES_PER, CADRES_PER = 10, 40, 5
CADRE_SHEET, AWARD_SHEET, VILLAGE_SHEET, TOWNSHIP_SHEET, PAYER_SHEET, CHECK_SHEET, COVER = (
    "干部绩效与奖励", "村级奖补", "村级小计", "乡镇小计", "按资金来源汇总", "核对", "说明")
# Money columns of each sheet, by header.
MONEY = {
    CADRE_SHEET: ["月报酬", "绩效基数", "绩效金额", "星级奖励", "合计"],
    AWARD_SHEET: ["金额"],
    VILLAGE_SHEET: ["绩效工资", "星级奖励", "村级奖补", "合计", "村集体应列支", "村集体经济收入"],
    TOWNSHIP_SHEET: ["绩效工资", "星级奖励", "村级奖补", "合计"],
    PAYER_SHEET: ["金额"],
}


COUNT_CHECKS = {"没有负数金额", "每行金额精确到分", "每名干部均已列支或说明", "村集体收入不足的村均已在付款行标注"}


def money(value: Any) -> Decimal:
    """A money cell as the exact amount it shows: numbers only, never text."""
    assert isinstance(value, (int, float)) and not isinstance(value, bool), f"not a number: {value!r}"
    return D(str(value)).quantize(D("0.01"))


@dataclass
class Expected:
    """What the county should be paid, computed by the test alone."""
    total: Decimal
    cadres: Decimal
    villages: Decimal
    by_township: dict[str, Decimal]
    short: set[tuple[str, str]]        # (township, village) whose income cannot cover the rewards
    ratings: set[int]


def expected_payments(county: dict[str, list[Branch]]) -> Expected:
    by_township: dict[str, Decimal] = defaultdict(lambda: D(0))
    cadres = villages = D(0)
    short, ratings = set(), set()
    for township, branches in county.items():
        for b in branches:
            rating = b.rating
            ratings.add(rating)
            rewards = D(0)
            for c in b.cadres:
                performance, reward = expected_cadre_amount(rating, c.role, D(str(c.monthly_pay)), c.months)
                cadres += performance + reward
                rewards += reward
                by_township[township] += performance + reward
            award = expected_village_amount(rating, PEACE in b.units, b.elderly)
            villages += award
            by_township[township] += award
            if rewards and (b.collective_income is None or rewards > D(str(b.collective_income))):
                short.add((township, f"{b.code}村"))
    return Expected(cadres + villages, cadres, villages, dict(by_township), short, ratings)


@dataclass
class Big:
    county: dict[str, list[Branch]]
    expected: Expected
    paid: PaidGroup
    path: Path
    book: Any          # openpyxl workbook, formulas as written
    values: Any        # openpyxl workbook, cached values


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Big:
    rb = r1()
    county = generated_county(20260319, TOWNSHIPS, BRANCHES_PER, CADRES_PER)
    folder = tmp_path_factory.mktemp("county")
    paths = write_county(rb, folder / "inbox", county)
    report, paid = pay_files(paths, folder / "out")
    assert all(s.accepted for s in report.submissions)
    (group,) = paid
    return Big(county, expected_payments(county), group, group.workbook,
               openpyxl.load_workbook(group.workbook), openpyxl.load_workbook(group.workbook, data_only=True))


HEADER_FIRST = {"乡镇", "资金来源", "检查项"}


def header_row(ws: Any) -> int:
    """The table's header row (1-based): under the printed title lines."""
    return next(i for i, row in enumerate(ws.iter_rows(values_only=True), 1) if row[0] in HEADER_FIRST)


def table(ws: Any) -> tuple[list[str], list[tuple], tuple]:
    """(headers, data rows without the townships' 小计 rows, the 合计 row) of a payment sheet."""
    rows = list(ws.iter_rows(min_row=header_row(ws), values_only=True))
    end = next(i for i, row in enumerate(rows) if row[0] == "合计")
    assert str(rows[end + 2][0]).startswith("制表人："), f"{ws.title}: no signature block under the 合计"
    headers, body = list(rows[0]), [r for r in rows[1:end] if r[1] != "小计"]
    return headers, body, rows[end]


def subtotals(ws: Any) -> dict[str, tuple]:
    rows = list(ws.iter_rows(min_row=header_row(ws), values_only=True))
    return {r[0]: r for r in rows if r[1] == "小计"}


def cover_value(ws: Any, label: str) -> Any:
    return next(row[1] for row in ws.iter_rows(values_only=True) if row[0] == label)


def test_big_county__is_2000_cadres_with_every_rating(big: Big) -> None:
    _, body, _ = table(big.book[CADRE_SHEET])
    assert len(body) == TOWNSHIPS * BRANCHES_PER * CADRES_PER == 2000
    assert big.expected.ratings == {0, 1, 2, 3, 4, 5}
    assert {b.rating for b in big.paid.scored.county.branches} == {0, 1, 2, 3, 4, 5}
    assert big.expected.short, "the generated county should have villages short of reward money"


def test_big_county__grand_total__equals_independent_sum_to_the_fen(big: Big) -> None:
    assert money(cover_value(big.book[COVER], "总计（元）")) == big.expected.total
    headers, _, total = table(big.book[TOWNSHIP_SHEET])
    assert money(total[headers.index("合计")]) == big.expected.total
    headers, _, total = table(big.book[PAYER_SHEET])
    assert money(total[headers.index("金额")]) == big.expected.total
    assert big.paid.payments.total() == big.expected.total


def test_big_county__township_subtotals__equal_independent_sums(big: Big) -> None:
    headers, body, _ = table(big.book[TOWNSHIP_SHEET])
    shown = {row[0]: money(row[headers.index("合计")]) for row in body}
    assert shown == big.expected.by_township


def test_big_county__cadre_sheet_total_column__sums_to_the_cadre_payments(big: Big) -> None:
    headers, body, total = table(big.book[CADRE_SHEET])
    column = sum((money(row[headers.index("合计")]) for row in body), D(0))
    # The cadre sheet holds performance pay and star rewards; the village awards are on 村级奖补.
    assert column == money(total[headers.index("合计")]) == big.expected.cadres
    a_headers, a_body, a_total = table(big.book[AWARD_SHEET])
    awards = sum((money(row[a_headers.index("金额")]) for row in a_body), D(0))
    assert awards == money(a_total[a_headers.index("金额")]) == big.expected.villages
    assert column + awards == big.expected.total


def test_big_county__excel_recount__formula_and_its_value(big: Big) -> None:
    formula = [c for row in big.book[CHECK_SHEET].iter_rows() for c in row if c.data_type == "f"]
    start = header_row(big.book[CADRE_SHEET]) + 1
    ranges = [f"'{CADRE_SHEET}'!L{start + t * 201}:L{start + t * 201 + 199}" for t in range(TOWNSHIPS)]
    assert [c.value for c in formula] == [f"=SUM({','.join(ranges)})"]  # each township's lines, not its 小计
    cached = big.values[CHECK_SHEET][formula[0].coordinate].value
    assert money(cached) == big.expected.cadres


def test_big_county__every_check_row__reads_passed(big: Big) -> None:
    rows = [row for row in big.book[CHECK_SHEET].iter_rows(min_row=header_row(big.book[CHECK_SHEET]) + 1, values_only=True)
            if row[0] and not str(row[0]).startswith("Excel 复算")]
    assert len(rows) >= 10
    assert [(row[0], row[1]) for row in rows if row[1] != "通过"] == []
    assert cover_value(big.book[COVER], "核对结果") == "全部通过"


def test_big_county__amounts__are_numbers_with_two_decimal_format(big: Big) -> None:
    checked = 0
    for name, columns in MONEY.items():
        ws = big.book[name]
        top = header_row(ws)
        headers = [c.value for c in ws[top]]
        last = next(r for r in range(top, ws.max_row + 1) if ws.cell(row=r, column=1).value == "合计")
        for header in columns:
            j = headers.index(header) + 1
            for row in range(top + 1, last + 1):
                cell = ws.cell(row=row, column=j)
                if cell.value is None:
                    subtotal = ws.cell(row=row, column=2).value == "小计"
                    assert header == "村集体经济收入" or row == last or subtotal, f"{name}!{cell.coordinate} is empty"
                    continue
                assert cell.data_type == "n" and isinstance(cell.value, (int, float)), f"{name}!{cell.coordinate}"
                assert "0.00" in cell.number_format, f"{name}!{cell.coordinate}: {cell.number_format}"
                checked += 1
    total = next(row[1] for row in big.book[COVER].iter_rows() if row[0].value == "总计（元）")
    assert total.data_type == "n" and "0.00" in total.number_format
    for row in big.book[CHECK_SHEET].iter_rows(min_row=header_row(big.book[CHECK_SHEET]) + 1):
        name = str(row[0].value or "")
        if name and name not in COUNT_CHECKS:  # an amount check, or the Excel recount: amounts in C (and D)
            for cell in row[2:4]:
                if cell.value is not None:
                    assert "0.00" in cell.number_format, f"{CHECK_SHEET}!{cell.coordinate} {name}"
                    assert cell.data_type == "f" or isinstance(cell.value, (int, float)), f"{CHECK_SHEET}!{cell.coordinate}"
                    checked += 1
    assert checked > 2000 * 5


def test_big_county__villages_short_of_reward_money__say_so_on_the_village_sheet_and_rows(big: Big) -> None:
    headers, body, _ = table(big.book[VILLAGE_SHEET])
    said_short = {(row[0], row[1]) for row in body if row[headers.index("村集体收入是否足够")] == "否，见付款行说明"}
    assert said_short == big.expected.short
    c_headers, c_body, _ = table(big.book[CADRE_SHEET])
    for row in c_body:
        if (row[0], row[1]) in big.expected.short and row[c_headers.index("星级奖励")]:
            assert "应列支的" in row[c_headers.index("依据")], row
    flagged = {p.branch for p in big.paid.payments.problems if p.code in ("PAY_001", "PAY_002")}
    assert flagged == {village.removesuffix("村") for _, village in big.expected.short}


def test_big_county__every_sheet__is_protected(big: Big) -> None:
    assert [ws.title for ws in big.book.worksheets] == [COVER, CADRE_SHEET, AWARD_SHEET, VILLAGE_SHEET,
                                                         TOWNSHIP_SHEET, PAYER_SHEET, CHECK_SHEET]
    assert all(ws.protection.sheet for ws in big.book.worksheets)


# --- two cadres of one branch with the same name and role ---------------------------------------

def test_cadre_sheet__same_name_and_role_twice__each_row_keeps_its_own_reward(tmp_path: Path) -> None:
    cadres = [Cadre("王建国", "书记", "3000.00", 12), Cadre("王伟", "委员", "2000.00", 12),
              Cadre("王伟", "委员", "2000.00", 7)]
    path = write_township(r1(), tmp_path / "城关镇.xlsx", [Branch("DU", stars(3), cadres)])
    _, (group,) = pay_files([path], tmp_path / "out")
    headers, body, _ = table(openpyxl.load_workbook(group.workbook)[CADRE_SHEET])
    shown = [(row[3], row[headers.index("在岗月数")], money(row[headers.index("星级奖励")])) for row in body]
    assert shown == [("王建国", 12, D("10800.00")),   # 300 × 3 × 12
                     ("王伟", 12, D("7200.00")),      # 200 × 3 × 12
                     ("王伟", 7, D("4200.00"))]       # 200 × 3 × 7
    check = openpyxl.load_workbook(group.workbook)[CHECK_SHEET]
    assert [r[0] for r in check.iter_rows(min_row=header_row(check) + 1, values_only=True) if r[1] == "不通过"] == []


# --- formula safety ------------------------------------------------------------------------------

HOSTILE_NAMES = ["=SUM(1,2)", "+8613800000000", "-1", "@HYPERLINK(\"http://x\")", "=HYPERLINK(\"http://x\",\"y\")"]
HOSTILE_VILLAGE = "=1+1"


def sheet_xml_by_name(path: Path) -> dict[str, str]:
    """Sheet name → its worksheet XML, resolved through workbook.xml and its relationships."""
    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        targets = {m.group(1): m.group(2) for m in re.finditer(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels)}
        members = {}
        for m in re.finditer(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', workbook):
            target = targets[m.group(2)]
            members[m.group(1)] = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        worksheets = {n for n in z.namelist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n)}
        assert set(members.values()) == worksheets, "every worksheet is one named sheet"
        return {name: z.read(member).decode() for name, member in members.items()}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A township whose cadre names and one village name start with = + - @, typed as text cells."""
    folder = tmp_path_factory.mktemp("hostile")
    cadres = [Cadre(f"占位{i}", "书记" if i == 0 else "委员", "2500.50", 12) for i in range(len(HOSTILE_NAMES))]
    path = write_township(r1(), folder / "城关镇.xlsx", [Branch("HX", stars(3), cadres),
                                                         Branch("HY", stars(1), [Cadre("赵六", "书记", "1800", 12)])])
    workbook = openpyxl.load_workbook(path)
    ws = workbook["村干部"]
    for row in ws.iter_rows(min_row=2):
        if isinstance(row[1].value, str) and row[1].value.startswith("占位"):
            row[1].value = HOSTILE_NAMES[int(row[1].value[2:])]
            row[1].data_type = "s"
    info = workbook["支部信息"]
    village_col = [c.value for c in info[1]].index("村（社区）")
    for row in info.iter_rows(min_row=2):
        if row[1].value == "HX":
            row[village_col].value = HOSTILE_VILLAGE
            row[village_col].data_type = "s"
    save_deterministic(workbook, path)
    with zipfile.ZipFile(path) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    report, (group,) = pay_files([path], folder / "out")
    assert all(s.accepted for s in report.submissions)
    return path, group.workbook


def test_formula_safety__names_starting_with_formula_characters__come_out_as_text(hostile: tuple[Path, Path]) -> None:
    _, finance = hostile
    ws = openpyxl.load_workbook(finance)[CADRE_SHEET]
    names = [row[3] for row in ws.iter_rows(min_row=header_row(ws) + 1) if row[3].value and row[0].value != "合计"]
    assert sorted(c.value for c in names) == sorted(HOSTILE_NAMES + ["赵六"])
    assert all(c.data_type == "s" for c in names)
    villages = [row[1] for row in ws.iter_rows(min_row=2) if row[2].value == "HX村党支部"]
    assert villages and all(c.value == HOSTILE_VILLAGE and c.data_type == "s" for c in villages)


def test_formula_safety__sheet_xml__has_no_formula_but_the_one_sum(hostile: tuple[Path, Path]) -> None:
    _, finance = hostile
    xml = sheet_xml_by_name(finance)
    formulas = {name: re.findall(r"<f\b[^>]*>(.*?)</f>", body) for name, body in xml.items()}
    start = header_row(openpyxl.load_workbook(finance)[CADRE_SHEET]) + 1
    assert {name: f for name, f in formulas.items() if f} == {CHECK_SHEET: [f"SUM('{CADRE_SHEET}'!L{start}:L{start + 5})"]}
    assert all(not re.search(r"<f\b", body) for name, body in xml.items() if name != CHECK_SHEET)


# --- LibreOffice: the workbook opens, computes and prints without an error marker ------------------

ERROR_MARKERS = ["#VALUE!", "#REF!", "#NAME?", "Err:", "#DIV/0!", "#N/A", "#NUM!", "#NULL!"]


def pdf_text(workbook: Path, outdir: Path) -> str:
    soffice = shutil.which("soffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) is not installed: cannot check the finance workbook as an office shows it")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed: cannot read the PDF LibreOffice writes")
    profile = outdir / f"lo-profile-{uuid.uuid4().hex}"
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(outdir), str(workbook)], check=True, capture_output=True, timeout=600)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    pdf = outdir / f"{workbook.stem}.pdf"
    assert pdf.is_file(), "LibreOffice wrote no PDF"
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=300)
    return done.stdout.decode("utf-8")


@pytest.fixture(scope="module")
def big_pdf_text(big: Big, tmp_path_factory: pytest.TempPathFactory) -> str:
    return pdf_text(big.path, tmp_path_factory.mktemp("pdf"))


def test_libreoffice__pdf__has_no_formula_error_marker(big_pdf_text: str) -> None:
    assert "全部通过" in big_pdf_text
    assert [m for m in ERROR_MARKERS if m in big_pdf_text] == []


def test_libreoffice__pdf__shows_the_totals_not_hashes(big_pdf_text: str, big: Big) -> None:
    # A column too narrow for its number prints ###: the totals must be readable on paper.
    assert [line.strip() for line in big_pdf_text.splitlines() if "###" in line] == []
    assert f"{big.expected.total:,.2f}" in big_pdf_text
    recount = next(line for line in big_pdf_text.splitlines() if "Excel 复算" in line)
    assert f"{big.expected.cadres:,.2f}" in recount


def test_cadre_sheet__rows_are_made_a_township_at_a_time(big: Big) -> None:
    """The finance writer holds one township's cadre rows at a time, never a province's ~500,000 as one list (issue
    16: compiled by mypyc, a generator expression there became a list, ~350 MB more at the full size). A cadre line
    of the last township that cannot be shown stops the table only when that township's rows are made."""
    from processor.finance import _cadre_table, cadre_rows

    rows = cadre_rows(big.paid.payments)
    townships = list(dict.fromkeys(r.performance.township for r in rows))
    assert len(townships) == TOWNSHIPS and len(rows) == 2000
    spoiled = next(r.performance for r in rows if r.performance.township == townships[-1])
    payer, spoiled.payer = spoiled.payer, "no such payer"  # _cadre_row names the payer: a KeyError
    try:
        parts = _cadre_table(rows).rows.parts()
        made = [next(parts) for _ in townships[:-1]]
        assert [len(part) for part in made] == [BRANCHES_PER * CADRES_PER] * (TOWNSHIPS - 1)
        with pytest.raises(KeyError):
            next(parts)
    finally:
        spoiled.payer = payer
