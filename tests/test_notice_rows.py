"""A county notice's list rows are written into the document as text, not built as python-docx elements first
(notice._RowsLater): a province's notice lists ~50,000 branches. The bytes must be those the elements give."""
from __future__ import annotations

import zipfile
from decimal import Decimal

import processor.notice as notice
from processor.consolidate import Consolidated
from processor.notice import NoticeContact, write_notice
from processor.records import BranchResult, CountyResult
from processor.rulebook import load_rulebook


def _branch(township: str, n: int, name: str, rating: int) -> BranchResult:
    return BranchResult(file=f"{township}.xlsx", township=township, branch_code=f"{township[:1]}-{n:03d}", name=name,
                        village=name, branch_type="村", units=[], score=Decimal(90), rating=rating, rating_max=5,
                        lists=["notice"])


def _consolidated(branches: list[BranchResult]) -> Consolidated:
    townships = sorted({b.township for b in branches})
    return Consolidated(load_rulebook("R1"), 2026, CountyResult(branches, [], [], {}), [], [], townships,
                        dict.fromkeys(townships, "accepted"), {"start": "2026-12-07", "end": "2026-12-14",
                                                               "working_days": 5}, {}, [], county_name="明川县")


def _written(tmp_path, name: str, branches: list[BranchResult], as_text: bool) -> bytes:
    if not as_text:  # every row built as python-docx elements, as before
        real = notice._RowsLater.takes
        notice._RowsLater.takes = lambda *_: False  # type: ignore[method-assign]
    try:
        path = write_notice(tmp_path / name, _consolidated(branches), NoticeContact(county="明川县"), branches)
    finally:
        if not as_text:
            notice._RowsLater.takes = real  # type: ignore[method-assign]
    return path.read_bytes()


def test_county_notice__rows_as_text__the_same_bytes_as_rows_built_as_elements(tmp_path):
    names = ["城关村党支部", "A&B <联合> 党支部", "“红星”村党支部", "第1村>第2村", "張家村党支部"]
    branches = [_branch(t, n, f"{t}{names[(i + n) % len(names)]}", (i + n) % 6)
                for i, t in enumerate(["城关镇", "河口镇", "柳林镇"]) for n in range(1, 41)]

    as_text = _written(tmp_path, "text.docx", branches, True)
    as_elements = _written(tmp_path, "elements.docx", branches, False)

    assert as_text == as_elements
    with zipfile.ZipFile(tmp_path / "text.docx") as z:
        xml = z.read("word/document.xml").decode()
    assert xml.count("<w:tr>") == 3 * (40 + 1)  # three townships' tables: a header and 40 rows each
    assert "河口镇A&amp;B &lt;联合&gt; 党支部" in xml and "\ue000" not in xml


def test_county_notice__a_name_with_a_tab__its_table_built_as_elements__the_others_as_text(tmp_path):
    branches = [_branch("城关镇", 1, "城关\t一村党支部", 3), _branch("城关镇", 2, "城关二村党支部", 4),
                _branch("河口镇", 1, "河口一村党支部", 5), _branch("河口镇", 2, "河口二村党支部", 0)]
    taken: list[int] = []
    real = notice._RowsLater.takes

    def counted(self, prototype, rows):
        kept = real(self, prototype, rows)
        taken.append(int(kept))
        return kept

    notice._RowsLater.takes = counted  # type: ignore[method-assign]
    try:
        as_text = _written(tmp_path, "text.docx", branches, True)
    finally:
        notice._RowsLater.takes = real  # type: ignore[method-assign]

    assert taken == [0, 1]  # 城关镇's table (the tab) as elements, 河口镇's as text
    assert as_text == _written(tmp_path, "elements.docx", branches, False)


def test_township_notices__each_retold_from_the_one_before__the_same_bytes_as_built_on_its_own(tmp_path):
    """A province's township notices are retold one from the previous (texts and rows replaced) and the parts and
    relationships retelling never touches are serialised and deflated once (notice._deterministic): each file must
    be the bytes its township's notice has when built on its own."""
    names = ["城关村党支部", "A&B <联合> 党支部", "“红星”村党支部"]
    townships = ["城关镇", "河口镇", "柳林镇", "石桥乡"]
    branches = [_branch(t, n, f"{t}{names[(i + n) % len(names)]}", 1 + (i + n) % 5)
                for i, t in enumerate(townships) for n in range(1, 2 + 3 * i)]  # 1, 4, 7, 10 branches
    c, contact = _consolidated(branches), NoticeContact(county="明川县")
    retold = tmp_path / "retold"
    retold.mkdir()

    paths = notice.write_township_notices(retold, c, contact)

    assert sorted(p.name for p in paths) == sorted(f"公示_R1_2026_{t}.docx" for t in townships)
    for township in townships:
        own = [b for b in branches if b.township == township]
        alone = notice.write_notice(tmp_path / f"alone-{township}.docx", c, contact, own, township)
        assert (retold / f"公示_R1_2026_{township}.docx").read_bytes() == alone.read_bytes(), township
