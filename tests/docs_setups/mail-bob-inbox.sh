# docs/mail.md: bob's mailbox holds a message from alice (read) and one from carol (not read yet),
# delivered under the ids and dates the page shows (maf_hooks.mail, as `maf mail send` writes them)
python - <<'PY'
from maf_hooks import mail

for key, sender, date_ms, subject, text in [
    ("1700000000.M977964P8206Q1R3f9c2a71.vm", "alice", 1700000000000, "Can I have src/api/?",
     "Please release it when you are done."),
    ("1700000420.M983621P8211Q1R0b7d44e2.vm", "carol", 1700000420000, "tests are green again",
     "All 412 pass on main."),
]:
    message = mail.build_message(sender=sender, recipient="bob", subject=subject, text=text,
                                 maf_type=mail.MESSAGE, date_ms=date_ms)
    mail.deliver_once(".agent-mail", "bob", mail.as_bytes(message), key)
PY
maf mail read 1700000000.M977964P8206Q1R3f9c2a71.vm --agent bob > /dev/null
