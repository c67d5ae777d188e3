"""Every output prints as an office expects: the samples' run rendered by LibreOffice to PDF, read page by page.

The run is the 175-branch sample county (samples/inbox) with the county's settings in a TOML config.
Each output is converted with `soffice --headless --convert-to pdf` and read with `pdftotext` per page
(and word boxes, `-bbox`, for the printed size of the text).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import SOFFICE, soffice_convert
from processor.xlsx import LANDSCAPE_CHARS, MIN_SCALE

ROOT = Path(__file__).resolve().parent.parent
TOWNSHIPS = ["城关镇", "河口镇", "柳林镇", "石桥乡", "杨庄镇", "青山乡", "白马镇", "东营乡", "南湖镇", "西岭乡"]
CONFIG = f"""
county = "明川县"
townships = {TOWNSHIPS!r}
issuer = "中共明川县委组织部"
notice_phone = "0373-5551234"
notice_address = "明川县人民路1号"
notice_mailbox = "mczzb@example.cn"
notice_start = 2026-12-07
payers = {{performance = "乡镇财政", elderly_allowance = "县财政"}}
""".replace("'", '"')
PAGE_NUMBER = re.compile(r"第\s*(\d+)\s*页\s*共\s*(\d+)\s*页")
CODE = re.compile(r"MC-[A-Z]+-\d{3}")
BRANCH_ROW = re.compile(r"^\s*\S+[镇乡]\s+MC-[A-Z]+-\d{3}", re.M)  # a table row: 乡镇, then 支部编码


@dataclass
class Printed:
    pdf: Path
    pages: list[str]


def pdf_pages(pdf: Path) -> list[str]:
    count = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                                                            check=True).stdout).group(1))
    return [subprocess.run(["pdftotext", "-layout", "-f", str(p), "-l", str(p), str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout for p in range(1, count + 1)]


def printed(path: Path, outdir: Path) -> Printed:
    pdf = soffice_convert(path, "pdf", outdir)
    return Printed(pdf, pdf_pages(pdf))


@pytest.fixture(scope="module")
def run_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SOFFICE:
        pytest.skip("LibreOffice (soffice) is not installed")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext) is not installed")
    tmp = tmp_path_factory.mktemp("print")
    (tmp / "run.toml").write_text(CONFIG, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "processor.cli", "run", str(ROOT / "samples" / "inbox"), "--out",
                           str(tmp / "out"), "--period", "2026", "--config", str(tmp / "run.toml")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return tmp / "out"


@pytest.fixture(scope="module")
def finance(run_out: Path) -> Printed:
    return printed(run_out / "财务发放表_R1_2026.xlsx", run_out.parent / "pdf")


@pytest.fixture(scope="module")
def consolidated(run_out: Path) -> Printed:
    return printed(run_out / "评定结果汇总_R1_2026.xlsx", run_out.parent / "pdf")


@pytest.fixture(scope="module")
def notice(run_out: Path) -> Printed:
    return printed(run_out / "公示_R1_2026.docx", run_out.parent / "pdf")


def assert_numbered_and_titled(doc: Printed, title: str) -> None:
    for n, text in enumerate(doc.pages, 1):
        assert PAGE_NUMBER.search(text).groups() == (str(n), str(len(doc.pages))), f"page {n}: no 第 {n} 页"
        assert title in re.sub(r"\s+", "", text), f"page {n} of {doc.pdf.name}: no document title {title!r}"


# --- the finance workbook -------------------------------------------------------------------------

def test_finance__every_page__has_its_number_and_the_title(finance: Printed) -> None:
    assert_numbered_and_titled(finance, "明川县2026年度")


def test_finance__every_page_of_the_payment_list__repeats_the_key_columns(finance: Printed) -> None:
    lists = [t for t in finance.pages if "村干部绩效工资与星级奖励发放表" in t]
    assert len(lists) >= len(TOWNSHIPS)  # each township from a new page
    for text in lists:
        assert all(h in text for h in ("乡镇", "村", "支部", "姓名", "职务", "合计", "依据")), text[:300]


def test_finance__payment_lists__end_with_a_total_and_a_signature_block(finance: Printed) -> None:
    for title in ("村干部绩效工资与星级奖励发放表", "村级奖补发放表"):
        last = [t for t in finance.pages if title in t][-1]
        assert "合计" in last and all(f"{who}：" in last for who in ("制表人", "审核人", "负责人", "日期"))


def test_finance__townships__in_the_county_order_each_with_its_subtotal(finance: Printed) -> None:
    lists = [t for t in finance.pages if "村干部绩效工资与星级奖励发放表" in t]
    first_on_page = [next(t for t in TOWNSHIPS if re.search(rf"^\s*{t}\s", page, re.M)) for page in lists]
    assert list(dict.fromkeys(first_on_page)) == TOWNSHIPS
    text = "\n".join(lists)
    assert all(re.search(rf"{t}\s+小计", text) for t in TOWNSHIPS)


def test_finance__cover__county_set_payers_and_no_unspecified_money(finance: Printed) -> None:
    cover = re.sub(r"\s+", "", finance.pages[0])
    assert "县（市、区）明川县" in cover or "县（市、区）：明川县" in cover
    assert "绩效工资→乡镇财政" in cover and "70周岁以上老人奖励→县财政" in cover
    assert "所有款项均已明确资金来源" in cover and "未明确" not in cover.split("资金来源")[1].split("村集体收入不足")[0]


# --- the consolidated workbook --------------------------------------------------------------------

def test_consolidated__at_most_40_pages__each_numbered_and_titled(consolidated: Printed) -> None:
    assert len(consolidated.pages) <= 40
    assert_numbered_and_titled(consolidated, "明川县2026年度“五星”党支部创建评定结果汇总表")


def test_consolidated__every_page_with_a_branch__shows_its_code_and_name_columns(consolidated: Printed) -> None:
    with_branches = [t for t in consolidated.pages if BRANCH_ROW.search(t)]
    assert len(with_branches) >= 5
    for text in with_branches:
        assert "乡镇" in text and "支部编码" in text and "支部名称" in text, text[:300]


def test_consolidated__summary__townships_in_the_county_order(consolidated: Printed) -> None:
    first = consolidated.pages[0]
    assert [t for t in TOWNSHIPS if t in first] == TOWNSHIPS
    assert sorted(TOWNSHIPS, key=first.index) == TOWNSHIPS
    assert "各乡镇星级分布" in first  # the chart prints on the summary's page, whole


# --- the public notice ----------------------------------------------------------------------------

def test_notice__title_period_contact_issuer_and_every_page_numbered(notice: Printed) -> None:
    assert_numbered_and_titled(notice, "关于明川县2026年度“五星”党支部创建评定结果的公示")
    text = re.sub(r"\s+", "", "".join(notice.pages))
    assert "公示时间：2026年12月7日至2026年12月14日（5个工作日）" in text
    assert all(s in text for s in ("0373-5551234", "明川县人民路1号", "mczzb@example.cn", "中共明川县委组织部"))
    assert [t for t in TOWNSHIPS if f"{t}（" in text] == TOWNSHIPS
    assert sorted(TOWNSHIPS, key=lambda t: text.index(f"{t}（")) == TOWNSHIPS


def test_notice__each_page_of_the_list__repeats_the_table_header(notice: Printed) -> None:
    for text in notice.pages:
        if CODE.search(text):
            assert "支部编码" in text and "支部名称" in text


def test_notice__one_per_township__and_bytes_are_deterministic(run_out: Path, tmp_path: Path) -> None:
    names = sorted(p.name for p in run_out.glob("公示_R1_2026_*.docx"))
    assert names == sorted(f"公示_R1_2026_{t}.docx" for t in TOWNSHIPS)
    again = tmp_path / "again"
    subprocess.run([sys.executable, "-m", "processor.cli", "run", str(ROOT / "samples" / "inbox"), "--out", str(again),
                    "--period", "2026", "--config", str(run_out.parent / "run.toml")], capture_output=True, check=True)
    for path in run_out.glob("公示_*.docx"):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
    with zipfile.ZipFile(run_out / "公示_R1_2026.docx") as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"2026-01-01T00:00:00" in z.read("docProps/core.xml")


# --- receipts -------------------------------------------------------------------------------------

def test_receipt__clean__is_one_page(run_out: Path, soffice: str) -> None:
    """The 回执 itself is one page; after it come only the branch statuses the township asked for (评定状态),
    each page of them titled and numbered."""
    receipt = sorted((run_out / "receipts").glob("回执_01-城关镇_*.xlsx"))[0]
    doc = printed(receipt, run_out.parent / "pdf-receipt")
    summary = [p for p in doc.pages if "城关镇报送回执" in re.sub(r"\s+", "", p)]
    assert len(summary) == 1 and summary[0] is doc.pages[0]
    page = re.sub(r"\s+", "", doc.pages[0])
    assert all(s in page for s in ("城关镇报送回执", "01-城关镇.xlsx", "通过：数据可以使用", "错误0", "下一步"))
    assert all("评定状态" in p for p in doc.pages[1:])


def test_receipt__with_problems__summary_on_page_one_and_messages_whole(tmp_path: Path, soffice: str) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "samples" / "broken" / "VAL_005-score-above-max.xlsx", inbox)
    subprocess.run([sys.executable, "-m", "processor.cli", "run", str(inbox), "--out", str(tmp_path / "out"),
                    "--period", "2026"], capture_output=True, timeout=300)
    receipt = sorted((tmp_path / "out" / "receipts").glob("回执_*.xlsx"))[0]
    doc = printed(receipt, tmp_path / "pdf")
    first = re.sub(r"\s+", "", doc.pages[0])
    assert "报送回执" in first and "下一步" in first and "请打开“问题清单”" in first and "错误1" in first
    assert "问题与修改方法" not in first  # the 回执 is one page; the list starts on the next
    assert_numbered_and_titled(doc, "报送回执：")
    listed = re.sub(r"\s+", "", "".join(doc.pages[1:]))
    assert "问题与修改方法" in listed and "VAL_005" in listed


# --- paper width and text size --------------------------------------------------------------------

def sheet_setups(path: Path) -> dict[str, tuple[float, str, str]]:
    """Each worksheet's width in characters (as sized, without Excel's padding), pageSetup and sheetPr."""
    found = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
                xml = z.read(name).decode()
                width = sum((int(m.group(2)) - int(m.group(1)) + 1) * (float(m.group(3)) - 0.7109375) for m in
                            re.finditer(r'<col min="(\d+)" max="(\d+)" width="([\d.]+)"', xml))
                setup = re.search(r"<pageSetup[^>]*/>", xml)
                props = re.search(r"<sheetPr>.*?</sheetPr>|<sheetPr[^>]*/>", xml)
                found[name] = (width, setup.group(0) if setup else "", props.group(0) if props else "")
    return found


def test_outputs__no_sheet_prints_wider_than_one_page_nor_below_9pt(run_out: Path) -> None:
    workbooks = [run_out / "财务发放表_R1_2026.xlsx", run_out / "评定结果汇总_R1_2026.xlsx",
                 run_out / "评定理由_R1_2026.xlsx", *sorted((run_out / "receipts").glob("*.xlsx"))]
    for path in workbooks:
        for sheet, (width, setup, props) in sheet_setups(path).items():
            assert 'paperSize="9"' in setup and 'fitToHeight="0"' in setup, f"{path.name} {sheet}: {setup}"
            assert 'fitToPage="1"' in props, f"{path.name} {sheet}: not fitted to one page wide"
            # Shrunk to one page wide, Excel's 11 pt text stays at 9 pt or more (scale ≥ 82%).
            assert width <= LANDSCAPE_CHARS / MIN_SCALE, f"{path.name} {sheet}: {width} characters wide"


def word_heights(pdf: Path, page: int) -> list[float]:
    xml = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    return [float(m.group(2)) - float(m.group(1)) for m in
            re.finditer(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">[^<]*[\u4e00-\u9fff]', xml)]


def test_printed_text__at_least_9_points(finance: Printed, consolidated: Printed) -> None:
    """Against the page header, printed at 10 pt unscaled: no CJK word on a page is smaller than 9 pt."""
    for doc in (finance, consolidated):
        for page in range(1, len(doc.pages) + 1, 3):
            heights = word_heights(doc.pdf, page)
            ten_points = heights[0]  # the page header comes first
            assert min(heights) >= 0.9 * ten_points - 0.05, f"{doc.pdf.name} page {page}: {min(heights)} < 9 pt"
