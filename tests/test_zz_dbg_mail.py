import time
from test_mail import *
def test_dbg(tmp_path, monkeypatch, dovecot, mailbox, smtp_tls, mail_cert):
    user, password = mailbox
    for w, env in (("imap", {"STARBATCH_IMAP_PASSWORD": "bad", "STARBATCH_SMTP_PASSWORD": smtp_tls.password}),
                   ("smtp", {"STARBATCH_IMAP_PASSWORD": password, "STARBATCH_SMTP_PASSWORD": "bad"})):
        for k, v in env.items(): monkeypatch.setenv(k, v)
        t = time.time()
        code, summary, err = run_cli(*mail_args(tmp_path / w, "--imap", dovecot.url(user, tls="imap"), "--mail-cafile", str(mail_cert.cert), "--reply", "--smtp", smtp_tls.url()))
        print(w, code, err, time.time() - t)
