#!/usr/bin/env python3
"""callrec serve under load: N calls at once, each a real-time file through the server, every
one a record operation ending on its stop tone. Measures whether every notification is
delivered, the delay from the completing audio frame (the notification's lastActionDateTime,
stamped as the session completes the operation) to the callback request's arrival, and the
server's CPU per call beside the library alone (`callrec record` on the same file, as fast as it
decodes) in the same run.

usage: bench_serve.py CALLREC_BIN [--calls N] [--json OUT]"""
import argparse
import concurrent.futures
import datetime
import http.server
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
demo = os.path.join(here, "..", "demo")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("callrec")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--json")
    a = ap.parse_args()
    if not 1 <= a.calls <= 1000:
        sys.exit("bench_serve: --calls takes 1 to 1000")
    work = tempfile.mkdtemp(prefix="callrec-bench-serve-")
    try:
        run(a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(a, work):
    media, recs = os.path.join(work, "media"), os.path.join(work, "recs")
    os.mkdir(media)
    os.mkdir(recs)
    shutil.copy(os.path.join(demo, "caller.wav"), media)
    with open(os.path.join(work, "tokens"), "w") as f:
        f.write("bench\n")
    body = {"stopTones": ["#"], "playBeep": False, "initialSilenceTimeoutInSeconds": 30,
            "maxRecordDurationInSeconds": 60}

    arrivals = {}
    lock = threading.Lock()

    class Callback(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            t = time.time()
            doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            data = doc["value"][0]["resourceData"]
            if data.get("@odata.type") == "#microsoft.graph.recordOperation":
                with lock:
                    arrivals[data["id"]] = (t, data)
            self.send_response(202)
            self.end_headers()

        def log_message(self, *_):
            pass

    cb = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=cb.serve_forever, daemon=True).start()
    callback = f"http://127.0.0.1:{cb.server_port}/cb"

    server = subprocess.Popen([a.callrec, "serve", "--listen", "127.0.0.1:0", "--api-token-file",
                               os.path.join(work, "tokens"), "--recording-dir", recs,
                               "--media-dir", media, "--max-calls", str(a.calls + 10)],
                              stdout=subprocess.PIPE, text=True)
    base = json.loads(server.stdout.readline())["listening"]
    cpu0 = cpu_seconds(server.pid)

    def post(path, doc):
        req = urllib.request.Request(base + path, data=json.dumps(doc).encode(), method="POST",
                                     headers={"Authorization": "Bearer bench",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def one_call(_):
        call = post("/communications/calls", {"callbackUri": callback,
                                               "@callrec.media": {"file": "caller.wav",
                                                                  "realtime": True}})
        return post(f"/communications/calls/{call['id']}/record", body)["id"]

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        ops = list(pool.map(one_call, range(a.calls)))
    started = time.time() - t0
    deadline = time.time() + 60
    while time.time() < deadline:
        with lock:
            if all(o in arrivals for o in ops):
                break
        time.sleep(0.05)
    wall = time.time() - t0
    server_cpu = cpu_seconds(server.pid) - cpu0
    server.terminate()
    server.wait(timeout=30)
    cb.shutdown()

    delays, reasons = [], {}
    for o in ops:
        if o in arrivals:
            t, data = arrivals[o]
            stamped = datetime.datetime.fromisoformat(data["lastActionDateTime"].replace("Z", "+00:00"))
            delays.append((t - stamped.timestamp()) * 1e3)
            reasons[data["completionReason"]] = reasons.get(data["completionReason"], 0) + 1
    delivered = len(delays)

    # The library alone on the same audio and request: the CLI, as fast as it decodes.
    req = os.path.join(work, "req.json")
    with open(req, "w") as f:
        json.dump(body, f)
    ref_runs = 20
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for i in range(ref_runs):
        subprocess.run([a.callrec, "record", "--request", req, "--input",
                        os.path.join(media, "caller.wav"), "--recording-dir", recs],
                       check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ref_cpu = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / ref_runs

    per_call = server_cpu / a.calls
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "calls": a.calls, "delivered": delivered, "reasons": reasons,
        "calls_started_in_s": round(started, 2), "wall_s": round(wall, 2),
        "delay_ms": {"p50": round(percentile(delays, 50), 1), "p99": round(percentile(delays, 99), 1),
                     "max": round(max(delays), 1)} if delays else None,
        "server_cpu_s": round(server_cpu, 2), "server_cpu_per_call_ms": round(per_call * 1e3, 1),
        "library_cpu_per_call_ms": round(ref_cpu * 1e3, 1),
        "server_over_library": round(per_call / ref_cpu, 2) if ref_cpu else None,
        "delays_ms": [round(d, 2) for d in delays],
    }
    print(f"callrec serve: {a.calls} calls at once, each a 13.7 s real-time file ending on '#'")
    print(f"  {result['machine']}, {result['date']}")
    print(f"  notifications delivered   {delivered} of {a.calls}  {reasons}")
    print(f"  calls and operations posted in {started:.2f} s; all notified after {wall:.2f} s")
    if delays:
        print(f"  completion -> callback    p50 {result['delay_ms']['p50']} ms, "
              f"p99 {result['delay_ms']['p99']} ms, max {result['delay_ms']['max']} ms")
    print(f"  CPU per call              server {result['server_cpu_per_call_ms']} ms; "
          f"library alone (callrec record, same file) {result['library_cpu_per_call_ms']} ms; "
          f"ratio {result['server_over_library']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    if delivered != a.calls:
        sys.exit("bench_serve: not every notification was delivered")


if __name__ == "__main__":
    main()
