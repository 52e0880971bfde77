# docs/mail.md#maf-mail-flush: two refused commits by bob whose mail to alice could not be
# delivered (her mailbox was a symbolic link, which delivery refuses), then the link removed
maf-lease acquire src/ --agent alice --ttl 45m
mkdir -p src .agent-mail elsewhere && ln -s ../elsewhere .agent-mail/alice
echo 'x = 1' > src/lexer.py && echo 'y = 2' > src/parser.py
git add src/lexer.py && { MAF_AGENT_ID=bob maf-reservations > /dev/null 2>&1 || test $? = 1; }
git add src/parser.py && { MAF_AGENT_ID=bob maf-reservations > /dev/null 2>&1 || test $? = 1; }
rm .agent-mail/alice
