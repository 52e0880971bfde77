# docs/mail.md: alice leases src/ for 45 minutes; bob's commit of src/lexer.py is refused, then
# his commit of src/lexer.py and src/parser.py: two conflict messages in alice's mailbox
maf-lease acquire src/ --agent alice --ttl 45m
mkdir -p src && echo 'x = 1' > src/lexer.py && echo 'y = 2' > src/parser.py
git add src/lexer.py && { MAF_AGENT_ID=bob maf-reservations > /dev/null 2>&1 || test $? = 1; }
git add src/parser.py && { MAF_AGENT_ID=bob maf-reservations > /dev/null 2>&1 || test $? = 1; }
test "$(ls .agent-mail/alice/new | wc -l)" = 2
