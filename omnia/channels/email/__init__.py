"""E-mail: a mailbox read over IMAP (imap.py, polled) and answered over SMTP (smtp.py)."""
