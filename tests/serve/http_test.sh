#!/usr/bin/env bash
# callrec serve at the HTTP level, with curl and Python as the clients: authentication, errors
# with Graph error bodies, Range and HEAD, body and connection limits, --max-calls, retention,
# a callback that refuses, and a kill -9 of the server (recordings still served after a
# restart). Every recording is read with Python's wave as well.
#
# usage: http_test.sh CALLREC_BIN DEMO_DIR
set -euo pipefail
bin=$1
demo=$2
dir=$(mktemp -d /tmp/callrec-http-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
# The system's Python: a version manager's shim in front of it can take 0.4 s a start.
py=$(command -v /usr/bin/python3 || command -v python3)
checks=0
fail() { echo "http_test: FAILED: $*" >&2; cat "$dir/body" >&2 2>/dev/null; exit 1; }
expect() { # expect WHAT GOT WANT
  checks=$((checks + 1))
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}
json() { "$py" -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

mkdir -p "$dir/media" "$dir/rec" "$dir/rec2"
cp "$demo/caller.wav" "$dir/media/"
echo "top-secret" > "$dir/secret.wav"
echo "api-token-1" > "$dir/tokens"

# A callback endpoint that records what it is sent, after answering 500 to its first FAILURES
# notifications (0 by default).
cat > "$dir/callback.py" <<'EOF'
import http.server, sys
out, failures = sys.argv[1], [int(sys.argv[2]) if len(sys.argv) > 2 else 0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if failures[0] > 0:
            failures[0] -= 1
            self.send_response(500)
        else:
            with open(out, "ab") as f:
                f.write(body + b"\n")
            with open(out + ".auth", "a") as f:
                f.write(str(self.headers.get("Authorization")) + "\n")
            self.send_response(202)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_port, flush=True)
s.serve_forever()
EOF
start_callback() { # start_callback NAME [FAILURES]: sets $url; notes in $dir/NAME.jsonl
  "$py" "$dir/callback.py" "$dir/$1.jsonl" "${2:-0}" > "$dir/$1.port" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$dir/$1.port" ] && break; sleep 0.05; done
  url="http://127.0.0.1:$(cat "$dir/$1.port")/callback"
}
start_callback notes
cb=$url
start_callback flaky 2 # must be retried twice
flaky=$url

start_server() { # start_server OUTFILE ARGS... ; sets $base and $server
  local out=$1
  shift
  "$bin" serve --listen 127.0.0.1:0 --api-token-file "$dir/tokens" --media-dir "$dir/media" \
    "$@" > "$out" 2>> "$dir/serve.err" &
  server=$!
  pids+=("$server")
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
  base=$(json 'd["listening"]' < "$out")
}
auth=(-H "Authorization: Bearer api-token-1")
status() { curl -s -o "$dir/body" -w '%{http_code}' "$@"; }
wait_note() { # wait_note OPID: the notification's resourceData, as JSON
  for _ in $(seq 200); do
    if grep -q "\"id\":\"$1\"" "$dir/notes.jsonl" 2>/dev/null; then
      grep "\"id\":\"$1\"" "$dir/notes.jsonl" | tail -1 |
        "$py" -c "import json,sys; print(json.dumps(json.load(sys.stdin)['value'][0]['resourceData']))"
      return
    fi
    sleep 0.05
  done
  fail "no notification for $1"
}

echo "cb-secret" > "$dir/cbtoken"
start_server "$dir/s1.out" --recording-dir "$dir/rec" --retention 3 --delivery-timeout 2 \
  --callback-token-file "$dir/cbtoken" --client-timeout 2

# Authentication on the API.
expect "no token" "$(status -X POST "$base/communications/calls" -d '{}')" 401
expect "401 body" "$(json 'd["error"]["code"]' < "$dir/body")" Unauthorized
expect "wrong token" "$(status -X POST "$base/communications/calls" -H 'Authorization: Bearer nope' -d '{}')" 401
# Refused bodies, each a Graph error naming what was wrong.
expect "no callbackUri" "$(status -X POST "${auth[@]}" "$base/communications/calls" -d '{"@callrec.media":{"file":"caller.wav"}}')" 400
expect "names callbackUri" "$(json 'd["error"]["message"].split(":")[0]' < "$dir/body")" callbackUri
expect "media outside" "$(status -X POST "${auth[@]}" "$base/communications/calls" -d "{\"callbackUri\":\"$cb\",\"@callrec.media\":{\"file\":\"../secret.wav\"}}")" 400
expect "unknown call" "$(status "${auth[@]}" "$base/communications/calls/00000000-0000-4000-8000-000000000000")" 404
expect "not an id" "$(status "${auth[@]}" "$base/communications/calls/..%2F..%2Fetc")" 404
expect "unknown route" "$(status "${auth[@]}" "$base/communications/meetings")" 404
head -c 1100000 /dev/zero | tr '\0' ' ' > "$dir/big.json"
expect "1 MiB limit" "$(status -X POST "${auth[@]}" "$base/communications/calls" --data-binary @"$dir/big.json")" 413

# A call and a record operation, under the page's other path forms.
expect "create (/app)" "$(status -X POST "${auth[@]}" "$base/app/calls" -d "{\"callbackUri\":\"$cb\",\"@callrec.media\":{\"file\":\"caller.wav\"}}")" 201
call=$(json 'd["id"]' < "$dir/body")
code=$(curl -s -D "$dir/headers" -o "$dir/body" -w '%{http_code}' -X POST "${auth[@]}" \
  "$base/beta/applications/app-1/calls/$call/record" \
  -d '{"stopTones":["#"],"playBeep":false,"maxRecordDurationInSeconds":30,"initialSilenceTimeoutInSeconds":30,"clientContext":"h1"}')
expect "record" "$code" 200
expect "running on the wire" "$(json 'd["status"]' < "$dir/body")" running
op=$(json 'd["id"]' < "$dir/body")
expect "Location" "$(grep -i '^location:' "$dir/headers" | tr -d '\r' | cut -d' ' -f2)" \
  "$base/communications/calls/$call/operations/$op"
expect "refused record" "$(status -X POST "${auth[@]}" "$base/communications/calls/$call/record" -d '{"stopTones":["x"]}')" 400
expect "names stopTones" "$(json 'd["error"]["message"].split(":")[0]' < "$dir/body")" "stopTones[0]"
note=$(wait_note "$op")
loc=$(echo "$note" | json 'd["recordingLocation"]')
tok=$(echo "$note" | json 'd["recordingAccessToken"]')
expect "reason" "$(echo "$note" | json 'd["completionReason"]')" stopToneDetected
expect "callback token" "$(sort -u "$dir/notes.jsonl.auth")" "Bearer cb-secret"
expect "GET operation" "$(status "${auth[@]}" "$base/communications/calls/$call/operations/$op")" 200
expect "operation as it stands" "$(json 'd["completionReason"]' < "$dir/body")" stopToneDetected

# The recording: token, Range, HEAD.
expect "no token" "$(status "$loc")" 401
expect "wrong token" "$(status -H "Authorization: Bearer x$tok" "$loc")" 401
expect "download" "$(curl -s -o "$dir/dl.wav" -w '%{http_code}' -H "Authorization: Bearer $tok" "$loc")" 200
cmp -s "$dir/dl.wav" "$dir/rec/$op.wav" || fail "downloaded bytes differ from the file"
"$py" -c "import wave,sys; w=wave.open(sys.argv[1]); assert len(w.readframes(10**9)) == 2*w.getnframes()" "$dir/dl.wav"
size=$(stat -c %s "$dir/rec/$op.wav")
expect "range" "$(curl -s -o "$dir/part" -w '%{http_code} %{size_download}' -r 40-43 -H "Authorization: Bearer $tok" "$loc")" "206 4"
cmp -s "$dir/part" <(tail -c +41 "$dir/rec/$op.wav" | head -c 4) || fail "range bytes differ"
expect "suffix range" "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -r -10 -H "Authorization: Bearer $tok" "$loc")" "206 10"
expect "bad range" "$(status -r "$((size + 5))-" -H "Authorization: Bearer $tok" "$loc")" 416
expect "HEAD" "$(curl -s -I -o "$dir/head" -w '%{http_code}' -H "Authorization: Bearer $tok" "$loc")" 200
expect "HEAD length" "$(grep -i '^content-length:' "$dir/head" | tr -d '\r' | cut -d' ' -f2)" "$size"
expect "traversal id" "$(status -H "Authorization: Bearer $tok" "$base/recordings/..%2Frec%2F$op")" 404
expect "unknown id" "$(status -H "Authorization: Bearer $tok" "$base/recordings/00000000-0000-4000-8000-000000000000")" 404

# Retention: served for --retention seconds after it ended, then 404 and deleted.
sleep 3.5
expect "past retention" "$(status -H "Authorization: Bearer $tok" "$loc")" 404
[ ! -e "$dir/rec/$op.wav" ] || fail "a recording past retention is still on disk"
checks=$((checks + 1))

# A client that stalls mid-body is dropped after --client-timeout (2 s here, not the default
# 10), and the server goes on answering.
"$py" - "$base" <<'EOF'
import socket, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname, u.port))
s.sendall(b"POST /communications/calls HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
s.settimeout(15)
t = time.time()
got = s.recv(4096)
waited = time.time() - t
assert 1 < waited < 6, "the stalled connection was dropped after %.1f s, not 2" % waited
EOF
checks=$((checks + 1))
expect "still answering" "$(status "${auth[@]}" "$base/communications/calls/00000000-0000-4000-8000-000000000000")" 404

# A callback that refuses: the recording is made and kept all the same.
expect "create, dead callback" "$(status -X POST "${auth[@]}" "$base/communications/calls" -d '{"callbackUri":"http://127.0.0.1:9/none","@callrec.media":{"file":"caller.wav"}}')" 201
call2=$(json 'd["id"]' < "$dir/body")
status -X POST "${auth[@]}" "$base/communications/calls/$call2/record" -d '{"stopTones":["#"],"playBeep":false,"maxRecordDurationInSeconds":30,"initialSilenceTimeoutInSeconds":30}' > /dev/null
op2=$(json 'd["id"]' < "$dir/body")
for _ in $(seq 100); do
  status "${auth[@]}" "$base/communications/calls/$call2/operations/$op2" > /dev/null
  [ "$(json 'd["status"]' < "$dir/body")" = completed ] && break
  sleep 0.05
done
expect "completed without a callback" "$(json 'd["completionReason"]' < "$dir/body")" stopToneDetected
"$py" -c "import wave,sys; wave.open(sys.argv[1]).getnframes()" "$dir/rec/$op2.wav"

# A callback that accepts and never answers: the recording goes on; its notifications are
# given up after --delivery-timeout and said on stderr.
"$py" - > "$dir/hang.port" <<'EOF' &
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(50)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
EOF
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/hang.port" ] && break; sleep 0.05; done
hang="http://127.0.0.1:$(cat "$dir/hang.port")/callback"
expect "create, hanging callback" "$(status -X POST "${auth[@]}" "$base/communications/calls" -d "{\"callbackUri\":\"$hang\",\"@callrec.media\":{\"file\":\"caller.wav\"}}")" 201
call7=$(json 'd["id"]' < "$dir/body")
status -X POST "${auth[@]}" "$base/communications/calls/$call7/record" -d '{"stopTones":["#"],"playBeep":false,"maxRecordDurationInSeconds":30,"initialSilenceTimeoutInSeconds":30}' > /dev/null
op7=$(json 'd["id"]' < "$dir/body")
for _ in $(seq 100); do
  status "${auth[@]}" "$base/communications/calls/$call7/operations/$op7" > /dev/null
  [ "$(json 'd["status"]' < "$dir/body")" = completed ] && break
  sleep 0.05
done
expect "recorded while the callback hangs" "$(json 'd["completionReason"]' < "$dir/body")" stopToneDetected
for _ in $(seq 300); do [ "$(grep -c "$call7.*given up" "$dir/serve.err")" -ge 2 ] && break; sleep 0.05; done
expect "given up, and said" "$(grep -c "$call7.*given up" "$dir/serve.err")" 2

# A callback that answers 500 twice: the notification is retried until it is taken.
expect "create, flaky callback" "$(status -X POST "${auth[@]}" "$base/communications/calls" -d "{\"callbackUri\":\"$flaky\",\"@callrec.media\":{\"file\":\"caller.wav\"}}")" 201
call6=$(json 'd["id"]' < "$dir/body")
for _ in $(seq 200); do grep -q "$call6" "$dir/flaky.jsonl" 2>/dev/null && break; sleep 0.05; done
expect "retried until delivered" "$(grep -c "$call6" "$dir/flaky.jsonl")" 1

# 1,000 requests at once, 200 connections at a time: every one answered.
"$py" - "$base" <<'EOF'
import concurrent.futures, sys, urllib.request, urllib.error
base = sys.argv[1]
def one(i):
    req = urllib.request.Request(f"{base}/communications/calls/00000000-0000-4000-8000-{i:012d}",
                                 headers={"Authorization": "Bearer api-token-1"})
    try:
        urllib.request.urlopen(req, timeout=30)
        return 200
    except urllib.error.HTTPError as e:
        return e.code
with concurrent.futures.ThreadPoolExecutor(200) as pool:
    codes = list(pool.map(one, range(1000)))
assert codes.count(404) == 1000, {c: codes.count(c) for c in set(codes)}
EOF
checks=$((checks + 1))

# The one-shot program hands out the same URL and token, for a server on its folder to serve.
echo '{"stopTones":["#"],"playBeep":false,"initialSilenceTimeoutInSeconds":30}' > "$dir/req.json"
"$bin" record --request "$dir/req.json" --input "$dir/media/caller.wav" --recording-dir "$dir/rec" \
  --recording-url "$base" > "$dir/oneshot.json"
oloc=$(json 'd["value"][0]["resourceData"]["recordingLocation"]' < "$dir/oneshot.json")
otok=$(json 'd["value"][0]["resourceData"]["recordingAccessToken"]' < "$dir/oneshot.json")
expect "one-shot URL" "${oloc%/*}" "$base/recordings"
expect "one-shot served" "$(curl -s -o "$dir/one.wav" -w '%{http_code}' -H "Authorization: Bearer $otok" "$oloc")" 200
cmp -s "$dir/one.wav" "$dir/rec/${oloc##*/}.wav" || fail "one-shot recording differs"

# HTTPS with --tls-cert/--tls-key (a certificate made for this run).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 1 \
  -subj "/CN=127.0.0.1" 2>/dev/null
start_server "$dir/s5.out" --recording-dir "$dir/rec2" --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem"
expect "https base" "${base%%:*}" https
expect "over TLS" "$(curl -s --cacert "$dir/cert.pem" -o /dev/null -w '%{http_code}' "${auth[@]}" "$base/communications/calls/00000000-0000-4000-8000-000000000000")" 404
kill -TERM "$server"
wait "$server" || true

# --max-calls: one more than allowed is 503.
start_server "$dir/s2.out" --recording-dir "$dir/rec2" --max-calls 1 --retention 600
body="{\"callbackUri\":\"$cb\",\"@callrec.media\":{\"file\":\"caller.wav\",\"realtime\":true}}"
expect "first call" "$(status -X POST "${auth[@]}" "$base/communications/calls" -d "$body")" 201
expect "over --max-calls" "$(status -X POST "${auth[@]}" "$base/communications/calls" -d "$body")" 503

# kill -9 of the server: a finished recording is served again after a restart; one cut off
# mid-recording is a valid WAV on disk.
kill -9 "$server"
start_server "$dir/s3.out" --recording-dir "$dir/rec2" --retention 600
expect "create" "$(status -X POST "${auth[@]}" "$base/communications/calls" -d "{\"callbackUri\":\"$cb\",\"@callrec.media\":{\"file\":\"caller.wav\"}}")" 201
call4=$(json 'd["id"]' < "$dir/body")
status -X POST "${auth[@]}" "$base/communications/calls/$call4/record" -d '{"stopTones":["#"],"playBeep":false,"maxRecordDurationInSeconds":30,"initialSilenceTimeoutInSeconds":30}' > /dev/null
op4=$(json 'd["id"]' < "$dir/body")
note=$(wait_note "$op4")
tok4=$(echo "$note" | json 'd["recordingAccessToken"]')
# a real-time recording, killed mid-way
expect "create, real time" "$(status -X POST "${auth[@]}" "$base/communications/calls" -d "$body")" 201
call5=$(json 'd["id"]' < "$dir/body")
status -X POST "${auth[@]}" "$base/communications/calls/$call5/record" -d '{"playBeep":false,"maxRecordDurationInSeconds":30,"initialSilenceTimeoutInSeconds":30}' > /dev/null
op5=$(json 'd["id"]' < "$dir/body")
sleep 1.2
kill -9 "$server"
"$py" -c "
import wave, sys, os
p = sys.argv[1]
w = wave.open(p)
n = w.getnframes()
assert 44 + 2 * n == os.path.getsize(p), 'header and size disagree'
assert n > 8000, 'less than 0.5 s kept'
" "$dir/rec2/$op5.wav"
checks=$((checks + 1))
start_server "$dir/s4.out" --recording-dir "$dir/rec2" --retention 600
expect "served after restart" "$(status -H "Authorization: Bearer $tok4" "$base/recordings/$op4")" 200
expect "the killed one has no token" "$(status -H "Authorization: Bearer $tok4" "$base/recordings/$op5")" 404
kill -TERM "$server"
rc=0
wait "$server" || rc=$?
expect "a clean stop on SIGTERM (no sanitizer report)" "$rc" 0
echo "http_test: $checks checks, 0 failed"
