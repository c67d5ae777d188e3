"""Render the README's pictures of whole printed pages from the samples.

    python docs/render_pages.py [--out docs]

1. Runs the sample county (samples/inbox, 175 branches) with docs/sample-run.toml (county, townships
   in the county's order, payers the county set, the notice's contact and issuing body).
2. LibreOffice (headless, private profile) converts each output to PDF, as a clerk would print it.
3. pdftoppm renders whole pages at 60 dpi:
   - finance-page-1.png / finance-page-2.png: the 财务发放表's cover and the first page of the payment list;
   - finance-signature.png: the last page of the payment list (合计 and 制表人 / 审核人 / 负责人 / 日期);
   - consolidated-page-1.png: 评定结果汇总's first page (summary and chart);
   - notice-page-1.png: the county's public notice (公示), first page;
   - receipt-page-1.png: a township's receipt (回执).

Needs soffice (LibreOffice Calc and Writer), pdftoppm and pdftotext (poppler-utils), and a CJK font
(e.g. fonts-wqy-microhei) or the Chinese prints as empty boxes.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "docs" / "sample-run.toml"
DPI = 60


def need(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        sys.exit(f"render_pages: {tool} is not installed (LibreOffice for soffice, poppler-utils for pdftoppm)")
    return found


def to_pdf(path: Path, outdir: Path) -> Path:
    profile = outdir / f"lo-profile-{uuid.uuid4().hex}"
    try:
        subprocess.run([need("soffice"), f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(outdir), str(path)],
                       check=True, capture_output=True, timeout=600)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return outdir / f"{path.stem}.pdf"


def pages(pdf: Path) -> list[str]:
    info = subprocess.run([need("pdfinfo"), str(pdf)], check=True, capture_output=True, text=True).stdout
    count = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    return [subprocess.run([need("pdftotext"), "-f", str(p), "-l", str(p), str(pdf), "-"], check=True,
                           capture_output=True, text=True).stdout for p in range(1, count + 1)]


def render(pdf: Path, page: int, out: Path) -> None:
    stem = out.parent / f".{out.stem}-{uuid.uuid4().hex}"
    subprocess.run([need("pdftoppm"), "-png", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(stem)], check=True, capture_output=True)
    Path(f"{stem}.png").replace(out)
    print(f"{out.relative_to(ROOT)}: page {page} of {pdf.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNGs (default docs/)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        subprocess.run([sys.executable, "-m", "processor.cli", "run", str(ROOT / "samples" / "inbox"), "--out",
                        str(tmp / "out"), "--period", "2026", "--config", str(CONFIG)], check=True,
                       capture_output=True, cwd=ROOT)
        out = tmp / "out"
        finance = to_pdf(out / "财务发放表_R1_2026.xlsx", tmp)
        texts = pages(finance)
        listing = [n for n, t in enumerate(texts, 1) if "村干部绩效工资与星级奖励发放表" in t]
        render(finance, 1, args.out / "finance-page-1.png")
        render(finance, listing[0], args.out / "finance-page-2.png")
        render(finance, listing[-1], args.out / "finance-signature.png")
        render(to_pdf(out / "评定结果汇总_R1_2026.xlsx", tmp), 1, args.out / "consolidated-page-1.png")
        render(to_pdf(out / "公示_R1_2026.docx", tmp), 1, args.out / "notice-page-1.png")
        receipt = sorted((out / "receipts").glob("回执_01-城关镇_*.xlsx"))[0]
        render(to_pdf(receipt, tmp), 1, args.out / "receipt-page-1.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
