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
from .config import (
           MAIL_KEYS,
           MailConfig,
           Server,
           add_options,
           add_smtp_options,
           mail_config,
           parse_server,
)
from .imap import imap_utf7_decode, imap_utf7_encode
from .nightly import MailFinish, MailRun, finish_mail, move_fetched, start_mail
from .scan import mail_folder, scan_inputs

__all__ = ["MAIL_KEYS", "MailConfig", "MailFinish", "MailRun", "Server", "add_options", "add_smtp_options",
           "finish_mail", "imap_utf7_decode", "imap_utf7_encode", "mail_config", "mail_folder", "move_fetched",
           "parse_server", "scan_inputs", "start_mail"]
