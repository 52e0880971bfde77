# docs/escalation.md#delivery: the example configuration, where codex-senior also has an email address and nothing listens on the SMTP port
python3 -c 'import socket, sys; sys.exit(socket.socket().connect_ex(("127.0.0.1", 2525)) == 0 and "something listens on 127.0.0.1:2525")'
python3 - "$DOCS_PROJECT/fixtures/escalation/maf.toml" <<'EOF'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
target = "[escalation.targets.codex-senior]\n"
assert target in text
open("maf.toml", "w", encoding="utf-8").write(text.replace(target, target + 'email = "senior@example.com"\n'))
EOF
