"""The starbatch command line: each command parses options and calls one library function.

Stages are imported inside the command functions on purpose: `starbatch --help` and `validate` on one
file then start without loading the writers, mail and the run (about 0.3 s less per call).
"""
from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, StarbatchError

if TYPE_CHECKING:
    from .rulebook import Rulebook


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_FAILED
    try:
        return args.func(args)
    except StarbatchError as exc:
        print(f"starbatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # output piped into `head`: nothing left to tell
        return EXIT_FAILED
    except Exception as exc:  # a bug, not bad input: one line here; `run` keeps the traceback in DIR/logs
        # Whether DIR changed is the commit journal's business (publish.py): the next run finishes or ignores it.
        print(f"starbatch: internal error ({type(exc).__name__}: {exc}). 程序内部错误，请把 DIR/logs 中的日志"
              "发给维护人员 / please report it with the log in DIR/logs.", file=sys.stderr)
        return EXIT_FAILED


def console() -> None:
    """The `starbatch` command: main(), then the process ends. Its objects are frozen first, because the
    interpreter's last collections would walk every one of them only to free them (~0.1 s of a county's 1 s)."""
    code = main()
    gc.freeze()
    sys.exit(code)


EXITS_CHECK = "退出码 / exit codes:\n  0  全部通过（可有警告） all clean\n  1  有文件存在错误 some file has errors\n  2  无法运行（参数、评定办法或文件夹有误） could not run"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="starbatch", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="党支部星级评定批处理：检查乡镇报送的工作簿，评定星级，计算报酬。\n"
                    "Rate grassroots Party branches from township workbooks.",
        epilog="每个命令的说明：starbatch 命令 --help（例如 starbatch run --help）。\n" + EXITS_CHECK)
    parser.add_argument("--version", action="version", version=f"starbatch {__version__}")
    sub = parser.add_subparsers(title="命令 / commands", metavar="命令")
    _template_command(sub)
    _validate_command(sub)
    _score_command(sub)
    _pay_command(sub)
    _run_command(sub)
    _rollup_command(sub)
    _add_remind(sub)
    _compare_command(sub)
    return parser


def _command(sub: Any, name: str, summary: str, description: str, exits: str, example: str) -> argparse.ArgumentParser:
    """A subcommand whose help (in Chinese for the operator) ends with its exit codes and an example."""
    return sub.add_parser(name, help=summary, description=description,
                          epilog=f"{exits}\n\n示例 / example:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_rulebook_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rulebook-dir", type=Path, metavar="DIR",
                   help="本县自己的评定办法文件夹（*.yaml），先于内置办法查找 / a county's own rulebooks, searched first")


def _template_command(sub: Any) -> None:
    p = _command(sub, "template", "生成填报模板 / write the fill-in template of a rulebook",
                 "生成乡镇填报用的 Excel 模板。--all 重新生成全部内置模板（在源码目录中写回 templates/ 和 "
                 "schemas/generated/）。--prefill 按台账中上一年度的报送为每个乡镇生成预填模板。\n"
                 "Write the template a township fills; --all regenerates every shipped one; --prefill writes "
                 "one workbook per township prefilled from last year's accepted submission.",
                 "退出码 / exit codes:\n  0  已生成 written\n  1  --prefill 时台账中没有上一年度的数据 nothing to prefill\n"
                 "  2  评定办法未知或参数有误 unknown rulebook or bad options",
                 "starbatch template --rulebook R1 --out 模板\n"
                 "  starbatch template --prefill --rulebook R1 --period 2027 --ledger out/ledger.sqlite --out 预填模板")
    p.add_argument("--rulebook", help="评定办法的编号或名称（如 R1、huojia-five-star）或 .yaml 路径 / rulebook id, key or path")
    _add_rulebook_dir(p)
    p.add_argument("--out", type=Path, default=Path("."), help="写入的文件夹（默认当前文件夹） / folder to write into")
    p.add_argument("--all", action="store_true",
                   help="重新生成全部内置模板和 schemas/generated/ / regenerate every shipped template")
    g = p.add_argument_group("预填模板 / prefilled templates")
    g.add_argument("--prefill", action="store_true",
                   help="按上一年度已采用的报送预填支部、村干部等信息 / prefill from last year's accepted submissions")
    g.add_argument("--period", type=int, help="新模板的评定年度，如 2027 / the rating year of the new templates")
    g.add_argument("--township", help="只生成这个乡镇（默认全部） / only this township (default: all)")
    g.add_argument("--ledger", type=Path, help="台账文件，如 out/ledger.sqlite / the ledger of earlier runs")
    p.set_defaults(func=cmd_template)


def _validate_command(sub: Any) -> None:
    p = _command(sub, "validate", "检查报送文件 / check submissions",
                 "检查乡镇报送的工作簿，逐项指出问题所在的工作表和单元格；可为每个文件生成回执。\n"
                 "Check submissions and point at the cell of every problem; optionally write receipts.",
                 EXITS_CHECK, "starbatch validate 报送/城关镇.xlsx --receipt 回执")
    p.add_argument("files", nargs="+", type=Path, help="乡镇工作簿（.xlsx .xls .ods） / township workbooks")
    p.add_argument("--rulebook", help="按此评定办法检查（默认按文件中的模板编号） / rulebook (default: the file's template id)")
    _add_rulebook_dir(p)
    p.add_argument("--json", action="store_true", help="输出 JSON 而不是表格 / print JSON instead of a table")
    p.add_argument("--receipt", type=Path, metavar="DIR", help="把每个文件的回执写入 DIR / write one receipt (回执) per file")
    p.set_defaults(func=cmd_validate)


def _score_command(sub: Any) -> None:
    p = _command(sub, "score", "检查并评定星级 / validate and score",
                 "检查报送文件并评定每个支部的星级，列出每颗星得到或未得到的理由。\n"
                 "Validate and score submissions; print each branch's rating and reasons.",
                 EXITS_CHECK.replace("全部通过（可有警告） all clean", "全部已评定 all scored").replace(
                     "有文件存在错误 some file has errors", "有文件因错误未评定 some file rejected"),
                 "starbatch score 报送/城关镇.xlsx --json")
    p.add_argument("files", nargs="+", type=Path, help="乡镇工作簿 / township workbooks")
    p.add_argument("--rulebook", help="评定办法（默认按文件中的模板编号） / rulebook (default: the file's template id)")
    _add_rulebook_dir(p)
    p.add_argument("--json", action="store_true", help='输出 JSON {"branches": [...]} / print JSON')
    p.set_defaults(func=cmd_score)


def _pay_command(sub: Any) -> None:
    p = _command(sub, "pay", "计算报酬并生成财务发放表 / compute payments, write the finance workbook",
                 "检查、评定，再计算每名村干部的报酬和奖励，生成财务发放表。\n"
                 "Validate, score and compute payments; write the finance workbook.",
                 EXITS_CHECK.replace("全部通过（可有警告） all clean", "已生成财务发放表 written").replace(
                     "有文件存在错误 some file has errors", "有文件因错误未计算 some file rejected"),
                 "starbatch pay 报送/*.xlsx --out 财务")
    p.add_argument("files", nargs="+", type=Path, help="乡镇工作簿 / township workbooks")
    p.add_argument("--out", type=Path, required=True, help="财务发放表写入的文件夹 / folder for the finance workbook")
    p.add_argument("--rulebook", help="评定办法（默认按文件中的模板编号） / rulebook (default: the file's template id)")
    _add_rulebook_dir(p)
    p.set_defaults(func=cmd_pay)


def _run_command(sub: Any) -> None:
    p = _command(sub, "run", "每晚的批处理 / the nightly run",
                 "处理收件箱中的全部报送（工作簿、邮件、压缩包），生成汇总表、财务发放表和每个文件的回执，并更新台账。\n"
                 "The nightly run: every submission in INBOX → consolidated workbooks, receipts and the ledger in DIR.",
                 "退出码 / exit codes:\n  0  全部采用且无乡镇缺报 all accepted, none missing\n"
                 "  1  有报送被退回或有乡镇未报送 some rejected or missing\n"
                 "  2  无法运行（参数、配置、邮箱或文件夹有误），输出文件夹未改动 could not run; DIR unchanged",
                 "starbatch run 收件箱 --out 输出 --rulebook R1 --period 2026")
    p.add_argument("inbox", nargs="?", type=Path,
                   help="收件箱文件夹（.xlsx、.eml、Maildir、.zip，含子文件夹） / inbox folder, scanned recursively")
    p.add_argument("--out", type=Path, help="输出文件夹 DIR / output folder")
    p.add_argument("--rulebook", help="评定办法编号或名称（默认：报送文件所用的评定办法） / rulebook key or id "
                   "(default: the one the submissions name)")
    _add_rulebook_dir(p)
    p.add_argument("--period", type=int, help="评定年度（默认：1—6月为上一年，7—12月为今年） / rating year "
                   "(default: last year from January to June, else this year)")
    p.add_argument("--config", type=Path, help="TOML 配置文件，命令行优先 / TOML file with any of these options")
    p.add_argument("--ledger", type=Path, help="台账文件（默认 DIR/ledger.sqlite） / ledger file")
    p.add_argument("--townships", help="应报送的乡镇，逗号分隔（默认取上一年度的） / townships that must submit")
    p.add_argument("--county", help="县（市、区）名称，印在汇总表、财务发放表和公示上 / the county's name")
    p.add_argument("--notice-start", help="公示开始日期 YYYY-MM-DD（默认最新报送的次日） / first day of the public notice")
    p.add_argument("--seed", type=int, help="抽查随机种子（默认由采用的文件推出） / spot-check seed")
    p.add_argument("--log-json", action="store_true", help="机器可读日志 DIR/logs/starbatch.jsonl / machine-readable logs")
    p.add_argument("--workers", type=int, help="并行处理的进程数（默认为本机处理器数，最多 4） / parallel processes (default: this machine's processors, at most 4)")
    p.add_argument("--accept-shrink", action="append", metavar="文件名",
                   help="确认该报送可以比已采用的一份少支部或干部（可重复） / confirm a resubmission may drop branches or cadres")
    from .mail.config import add_options as add_mail_options

    add_mail_options(p)  # --imap, --reply, --smtp, …
    p.set_defaults(func=cmd_run)


def _compare_command(sub: Any) -> None:
    p = _command(sub, "compare", "两种评定办法对比 / the same submissions under two rulebooks",
                 "用两种评定办法（或同一办法的两个版本）评定同一批报送，生成对比工作簿：每个支部在两种办法下的星级、"
                 "各项金额及差额，乡镇和付款方合计，升星、降星的支部，以及未能比较的部分（模板不同时只比较共同部分）。"
                 "只读取 INBOX 中的工作簿，不写台账、不发回执。\n"
                 "What-if: rate and pay INBOX's workbooks under rulebooks A and B; write the differences to DIR.",
                 "退出码 / exit codes:\n  0  已生成对比工作簿 written\n"
                 "  1  已生成，但有文件或支部未能比较（见“未能比较”） written; something was not comparable\n"
                 "  2  无法运行（评定办法、期间或文件夹有误） could not run",
                 "starbatch compare 收件箱 --rulebook R1 --rulebook 规则/R1-二星以上计奖.yaml --period 2026 --out 对比")
    p.add_argument("inbox", type=Path, help="报送工作簿所在文件夹（含子文件夹）或文件 / folder of township workbooks")
    p.add_argument("--rulebook", action="append", required=True, metavar="NAME",
                   help="评定办法编号、名称或 .yaml 路径，给两次：先 A 后 B / give twice: A, then B")
    _add_rulebook_dir(p)
    p.add_argument("--period", required=True, help="评定期间：年度（2026）或半年（2026H1） / a year or a half-year")
    p.add_argument("--out", type=Path, required=True, help="对比工作簿写入的文件夹 / folder to write into")
    p.set_defaults(func=cmd_compare)


def _rollup_command(sub: Any) -> None:
    p = _command(sub, "rollup", "多县汇总 / roll county runs up into a city or province workbook",
                 "读取各县每晚批处理生成的 results.json，合并为一份市（省）汇总表：各县、各乡镇星级分布，目标达成，"
                 "按支付来源的金额合计，以及哪些县、乡镇尚未报送。金额按 results.json 中的字符串逐分相加。\n"
                 "Merge several county runs' results.json into one workbook (and rollup.json) in DIR.",
                 "退出码 / exit codes:\n  0  已汇总，各县各乡镇均已报送 written, every county and township reported\n"
                 "  1  已汇总，但有县或乡镇未报送（或被退回） written, some county or township has not reported\n"
                 "  2  无法汇总（文件不可读、年度不一致或金额对不上），未写入 could not roll up; nothing written",
                 "starbatch rollup 明川县/results.json 青河县/results.json --out 全市汇总 "
                 "--counties 明川县,青河县,石门县")
    p.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json",
                   help="各县输出文件夹中的 results.json（县名取自文件，否则取其所在文件夹名） "
                        "/ each county's results.json")
    p.add_argument("--out", type=Path, required=True, help="汇总表写入的文件夹 / folder for the rollup workbook")
    p.add_argument("--counties", help="应报送的县，逗号分隔（用于列出未报送的县） / counties that must report")
    p.add_argument("--workers", type=int, help="同时读取的结果文件数（默认为本机处理器数，最多 4） "
                                               "/ results files read at once (default: this machine's processors, at most 4)")
    p.set_defaults(func=cmd_rollup)


def _rulebook(args: argparse.Namespace) -> Rulebook | None:
    """The rulebook named on the command line (a county's --rulebook-dir first), or None to go by each file."""
    from .rulebook import load_rulebook, resolve_rulebook_path

    if not args.rulebook:
        return None
    return load_rulebook(resolve_rulebook_path(args.rulebook, args.rulebook_dir))


# --- remind (processor/mail/remind.py) -------------------------------------------------------------

def _add_remind(sub: argparse._SubParsersAction) -> None:
    from .mail.config import add_smtp_options

    p = _command(sub, "remind", "提醒未报送的乡镇 / remind late townships",
                 "给本年度尚未报送的乡镇发提醒邮件，附空白模板；同一乡镇每天最多一封。\n"
                 "Email every township that has not submitted for the period, at most once a day.",
                 "退出码 / exit codes:\n  0  所有未报送乡镇均已提醒 every missing township reminded\n"
                 "  1  有乡镇没有邮箱地址或被拒收 a township has no address or was refused\n"
                 "  2  无法发送（参数或邮件服务器有误） could not send",
                 "starbatch remind --period 2026 --deadline 2027-01-10 --out 输出 --smtp smtps://zzb@mail.example.gov.cn:465")
    p.add_argument("--period", type=int, help="评定年度（默认今年）")
    p.add_argument("--deadline", required=True, help="报送截止日期 YYYY-MM-DD（写在提醒邮件里）")
    p.add_argument("--out", type=Path, help="每晚批处理的输出文件夹 DIR（据 DIR/ledger.sqlite 判断谁已报送）")
    p.add_argument("--townships", help="应报送的乡镇，逗号分隔（默认：配置文件的 townships，否则上一年度的名单，"
                   "再否则 township_addresses 中的乡镇）")
    p.add_argument("--config", type=Path, help="每晚批处理的 TOML 配置文件（township_addresses = {\"城关镇\" = \"a@b\"}）")
    p.add_argument("--rulebook", help="附上哪个评定办法的空白模板（默认 huojia-five-star）")
    p.add_argument("--ledger", type=Path, help="台账文件（默认 DIR/ledger.sqlite）")
    p.add_argument("--dry-run", action="store_true", help="只把邮件写入 DIR/outbox，不发送，不记录")
    add_smtp_options(p.add_argument_group("发送"), "发送提醒", "或用 --dry-run")
    p.set_defaults(func=cmd_remind)


def cmd_remind(args: argparse.Namespace) -> int:
    from .mail.remind import remind_config, send_reminders

    config = remind_config(args)
    result = send_reminders(config)
    print(result.summary(config.out / "outbox"))
    return result.exit_code


def cmd_template(args: argparse.Namespace) -> int:
    from .paths import IN_CHECKOUT, SCHEMA_DIR, TEMPLATE_DIR
    from .template import build_shipped, write_template

    if args.prefill:
        return _prefill(args)
    if args.all:  # in a checkout the committed folders; installed, the package data stays untouched
        targets = (TEMPLATE_DIR, SCHEMA_DIR) if IN_CHECKOUT else (args.out / "templates", args.out / "schemas")
        for path in build_shipped(*targets):
            print(path)
        return EXIT_OK
    rulebook = _rulebook(args)
    if rulebook is None:
        print("starbatch template: 请给出 --rulebook 名称或 --all / give --rulebook NAME or --all", file=sys.stderr)
        return EXIT_FAILED
    print(write_template(rulebook, args.out))
    return EXIT_OK


def _prefill(args: argparse.Namespace) -> int:
    from .prefill import write_prefilled

    if not args.period or not args.ledger:
        print("starbatch template --prefill: 请给出 --period 年度和 --ledger 台账文件 / give --period and --ledger",
              file=sys.stderr)
        return EXIT_FAILED
    written = write_prefilled(args.ledger, args.period, args.out, _rulebook(args), args.township)
    for path in written:
        print(path)
    if not written:
        who = f"乡镇“{args.township}”" if args.township else "任何乡镇"
        print(f"starbatch template --prefill: 台账 {args.ledger} 中没有{who}{args.period - 1}年度已采用的报送，未生成预填模板。",
              file=sys.stderr)
    return EXIT_OK if written else EXIT_PROBLEMS


def cmd_validate(args: argparse.Namespace) -> int:
    from .problems import has_errors
    from .receipt import write_receipt
    from .report import dumps, validation_json, validation_table
    from .pipeline import workbook_paths
    from .validate import validate_files

    subs = validate_files(workbook_paths(args.files), _rulebook(args))
    print(dumps(validation_json(subs)) if args.json else validation_table(subs))
    if args.receipt:
        for s in subs:
            path = write_receipt(s, args.receipt)
            print(f"回执: {path}", file=sys.stderr)
    return EXIT_PROBLEMS if any(has_errors(s.problems) or s.rulebook is None for s in subs) else EXIT_OK


def cmd_score(args: argparse.Namespace) -> int:
    from .pipeline import score_files, workbook_paths
    from .report import dumps, score_json, score_text

    report = score_files(workbook_paths(args.files), _rulebook(args))
    print(dumps(score_json(report)) if args.json else score_text(report))
    return EXIT_PROBLEMS if report.rejected else EXIT_OK


def cmd_pay(args: argparse.Namespace) -> int:
    from .pipeline import pay_files, workbook_paths

    report, paid = pay_files(workbook_paths(args.files), args.out, _rulebook(args))
    for group in paid:
        print(f"{group.workbook}: {len(group.payments.lines)} 行，合计 {group.payments.total():.2f} 元")
    for s in report.rejected:
        print(f"未计算（报送有错误，见 starbatch validate）：{s.file}", file=sys.stderr)
    return EXIT_PROBLEMS if report.rejected else EXIT_OK


def cmd_rollup(args: argparse.Namespace) -> int:
    from .rollup import read_rollup, write_rollup
    from .runconfig import checked_workers

    workers = checked_workers(args.workers)
    expected = [c.strip() for c in (args.counties or "").replace("，", ",").split(",") if c.strip()]
    rollup = read_rollup(args.results, expected, workers)
    written = write_rollup(rollup, args.out)
    print(f"{len(rollup.counties)} 个县，合计 {sum(rollup.by_payer().values()):.2f} 元 → {written[0]}")
    for c in rollup.counties:
        if c.missing:
            print(f"{c.name} 未采用或未报送的乡镇：{'、'.join(c.missing)}")
    if rollup.absent:
        print(f"未报送结果的县：{'、'.join(rollup.absent)}")
    return EXIT_OK if rollup.complete else EXIT_PROBLEMS


def cmd_run(args: argparse.Namespace) -> int:
    from loguru import logger

    from .run import nightly_run
    from .runconfig import run_config

    logger.remove()  # the log file in DIR/logs has everything; the terminal gets warnings and the summary
    logger.add(sys.stderr, level="WARNING", filter=lambda record: record["exception"] is None)
    try:
        config = run_config(args)
        outcome = nightly_run(config)
    except StarbatchError as exc:
        print(f"starbatch run: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(outcome.summary)
    return outcome.exit_code


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare_paths, write_comparison
    from .errors import ConfigError
    from .periods import period_option
    from .pipeline import workbook_paths
    from .rulebook import load_rulebook, resolve_rulebook_path

    if len(args.rulebook) != 2:
        raise ConfigError("请给出两个评定办法：--rulebook A --rulebook B / give --rulebook exactly twice")
    a, b = (load_rulebook(resolve_rulebook_path(name, args.rulebook_dir)) for name in args.rulebook)
    period = period_option(args.period)
    comparison = compare_paths(workbook_paths([args.inbox]), a, b, period)
    args.out.mkdir(parents=True, exist_ok=True)
    path = write_comparison(args.out / f"评定办法对比_{a.id}_{b.id}_{period}.xlsx", comparison)
    print(f"{path}: {len(comparison.keys)} 个支部，{len(comparison.not_comparable)} 条未能比较")
    return EXIT_PROBLEMS if comparison.not_comparable else EXIT_OK


if __name__ == "__main__":
    console()
