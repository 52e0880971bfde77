# docs/audit.md#sending-events-to-a-web-service: a receiver on 127.0.0.1:8765 that answers the
# first POST with 500 and every later one with 204; it stops by itself after 60 seconds
python3 -c 'import socket, sys; sys.exit(socket.socket().connect_ex(("127.0.0.1", 8765)) == 0 and "something listens on 127.0.0.1:8765")'
cat > receiver.py <<'EOF'
import http.server

answers = [500]


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(answers.pop() if answers else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", 8765), Receiver).serve_forever()
EOF
echo receiver.py >> .git/info/exclude
setsid timeout 60 python3 receiver.py < /dev/null > /dev/null 2>&1 &
for attempt in $(seq 50); do
    python3 -c 'import socket, sys; sys.exit(socket.socket().connect_ex(("127.0.0.1", 8765)))' && exit 0
    sleep 0.1
done
echo "the receiver did not start" >&2
exit 1
