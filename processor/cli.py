"""The starbatch command line: each command parses options and calls one library function."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, StarbatchError


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
        print(f"starbatch: internal error ({type(exc).__name__}: {exc}); nothing was changed in the output folder. "
              "Please report it with the log.", file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="starbatch", description="Rate grassroots Party branches from township workbooks.")
    parser.add_argument("--version", action="version", version=f"starbatch {__version__}")
    sub = parser.add_subparsers(title="commands")

    p = sub.add_parser("template", help="write the fill-in template of a rulebook")
    p.add_argument("--rulebook", help="rulebook key or id (e.g. huojia-five-star, R1) or a .yaml path")
    p.add_argument("--out", type=Path, default=Path("."), help="folder to write into (default: current)")
    p.add_argument("--all", action="store_true",
                   help="regenerate templates/ and schemas/generated/ for every shipped rulebook")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("validate", help="check submissions and point at the cell of every problem")
    p.add_argument("files", nargs="+", type=Path, help="township workbooks (.xlsx, .xls, .ods)")
    p.add_argument("--rulebook", help="rulebook to validate against (default: from each file's template id)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--receipt", type=Path, metavar="DIR", help="write one receipt workbook (回执) per file into DIR")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("score", help="validate and score submissions; print each branch's rating and reasons")
    p.add_argument("files", nargs="+", type=Path, help="township workbooks")
    p.add_argument("--rulebook", help="rulebook to use (default: from each file's template id)")
    p.add_argument("--json", action="store_true", help='print {"branches": [...]} as JSON')
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("pay", help="validate, score and compute payments; write the finance workbook")
    p.add_argument("files", nargs="+", type=Path, help="township workbooks")
    p.add_argument("--out", type=Path, required=True, help="folder for the finance workbook")
    p.add_argument("--rulebook", help="rulebook to use (default: from each file's template id)")
    p.set_defaults(func=cmd_pay)

    p = sub.add_parser("run", help="the nightly run: every submission in INBOX → consolidated workbooks in DIR")
    p.add_argument("inbox", nargs="?", type=Path, help="inbox folder (.xlsx, .eml, Maildir, .zip; scanned recursively)")
    p.add_argument("--out", type=Path, help="output folder DIR")
    p.add_argument("--rulebook", help="rulebook key or id (default huojia-five-star)")
    p.add_argument("--period", type=int, help="rating year (default: the current year)")
    p.add_argument("--config", type=Path, help="TOML file with any of these options (command line wins)")
    p.add_argument("--ledger", type=Path, help="ledger file (default DIR/ledger.sqlite)")
    p.add_argument("--townships", help="comma-separated township list that must submit (default: last period's)")
    p.add_argument("--notice-start", help="first day of the public notice, YYYY-MM-DD (default: day after the newest submission)")
    p.add_argument("--seed", type=int, help="spot-check seed (default: derived from the accepted files)")
    p.add_argument("--log-json", action="store_true", help="machine-readable logs (DIR/logs/starbatch.jsonl)")
    p.add_argument("--workers", type=int, help="validate and score workbooks in N parallel processes (default 1)")
    from .mail import add_options as add_mail_options

    add_mail_options(p)  # --imap, --reply, --smtp, …
    p.set_defaults(func=cmd_run)
    _add_remind(sub)
    return parser


# --- remind (processor/mail/remind.py) -------------------------------------------------------------

def _add_remind(sub: argparse._SubParsersAction) -> None:
    from .mail import add_smtp_options

    p = sub.add_parser("remind", help="给本年度尚未报送的乡镇发提醒邮件（每天最多一封）")
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
    from .paths import SCHEMA_DIR, TEMPLATE_DIR
    from .rulebook import load_rulebook
    from .template import build_shipped, write_template

    if args.all:
        for path in build_shipped(TEMPLATE_DIR, SCHEMA_DIR):
            print(path)
        return EXIT_OK
    if not args.rulebook:
        print("starbatch template: give --rulebook NAME or --all", file=sys.stderr)
        return EXIT_FAILED
    print(write_template(load_rulebook(args.rulebook), args.out))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from .problems import has_errors
    from .receipt import write_receipt
    from .report import dumps, validation_json, validation_table
    from .rulebook import load_rulebook
    from .validate import validate_files

    rulebook = load_rulebook(args.rulebook) if args.rulebook else None
    subs = validate_files(args.files, rulebook)
    print(dumps(validation_json(subs)) if args.json else validation_table(subs))
    if args.receipt:
        for s in subs:
            path = write_receipt(s, args.receipt)
            print(f"回执: {path}", file=sys.stderr)
    return EXIT_PROBLEMS if any(has_errors(s.problems) or s.rulebook is None for s in subs) else EXIT_OK


def cmd_score(args: argparse.Namespace) -> int:
    from .pipeline import score_files
    from .report import dumps, score_json, score_text
    from .rulebook import load_rulebook

    report = score_files(args.files, load_rulebook(args.rulebook) if args.rulebook else None)
    print(dumps(score_json(report)) if args.json else score_text(report))
    return EXIT_PROBLEMS if report.rejected else EXIT_OK


def cmd_pay(args: argparse.Namespace) -> int:
    from .pipeline import pay_files
    from .rulebook import load_rulebook

    report, paid = pay_files(args.files, args.out, load_rulebook(args.rulebook) if args.rulebook else None)
    for group in paid:
        print(f"{group.workbook}: {len(group.payments.lines)} 行，合计 {group.payments.total():.2f} 元")
    for s in report.rejected:
        print(f"未计算（报送有错误，见 starbatch validate）：{s.file}", file=sys.stderr)
    return EXIT_PROBLEMS if report.rejected else EXIT_OK


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


if __name__ == "__main__":
    sys.exit(main())
