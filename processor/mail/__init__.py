"""Real mail: fetch submissions from the county mailbox over IMAP, reply with receipts over SMTP, remind the
townships that have not submitted.

config.py   settings, server URLs, passwords, TLS, the command-line options
imap.py     IMAP transport (IMAPClient): fetch UNSEEN with BODY.PEEK[], move after the commit
scan.py     the run's intake of INBOX and the stored messages, and where each input came from
send.py     SMTP / DIR/outbox, exactly once (intent in the ledger before sending)
replies.py  回执 replies: composed from the run's results, recorded, sent
remind.py   `starbatch remind`: one reminder per missing township per day
nightly.py  the three steps the nightly run calls: start_mail, MailRun.scan, MailRun.finish
"""
from importlib import import_module
from typing import Any

# Each name from the module that defines it, imported when first asked for: `starbatch run` needs the options
# and the nightly steps, not imapclient or smtplib, unless it talks to a server (PEP 562).
_WHERE = {
    **dict.fromkeys(["MAIL_KEYS", "MailConfig", "Server", "add_options", "add_smtp_options", "mail_config",
                     "parse_server"], "config"),
    **dict.fromkeys(["imap_utf7_decode", "imap_utf7_encode"], "imap"),
    **dict.fromkeys(["MailFinish", "MailRun", "finish_mail", "move_fetched", "start_mail"], "nightly"),
    **dict.fromkeys(["mail_folder", "scan_inputs"], "scan"),
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
