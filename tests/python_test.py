"""The Python binding (bindings/python/callrec.py) over the shared library: a call recorded from
the demo caller ends on its '#', the notification and the WAV (read with Python's wave) agree,
refusals raise with the library's message."""
import json
import os
import sys
import tempfile
import wave

import callrec

src = os.environ["CALLREC_SOURCE_DIR"]
failures = 0
checks = 0


def check(ok, what):
    global failures, checks
    checks += 1
    if not ok:
        failures += 1
        print("python_test: CHECK failed:", what, file=sys.stderr)


check(callrec.version().count(".") == 2, "version " + callrec.version())
try:
    callrec.check_request({"stopTones": ["x"]})
    check(False, "a bad stop tone was accepted")
except callrec.Error as e:
    check(e.status == -1 and "stopTones[0]" in str(e), "refusal: %s" % e)
callrec.check_request({"stopTones": ["#"]})

with tempfile.TemporaryDirectory() as recs:
    events = []
    with callrec.Session(rate=16000, recording_dir=recs, on_event=events.append) as call:
        op = call.record({"stopTones": ["#"], "playBeep": False,
                          "initialSilenceTimeoutInSeconds": 20, "maxRecordDurationInSeconds": 60})
        check(len(op) == 36, "operation id " + op)
        with callrec.Source(os.path.join(src, "demo", "caller.wav"), rate=16000) as audio:
            check(audio.rate == 16000 and audio.input_frames, "source info")
            for chunk in audio.chunks(320):
                out = call.process(chunk)
                check(len(out) == len(chunk), "playout as long as the input")
                if any(e["event"] == "completed" for e in events):
                    break
        call.hangup()
        try:
            call.record({})
            check(False, "record after hang-up was accepted")
        except callrec.Error as e:
            check(e.status == -6, "after hang-up: %s" % e)
    done = [e for e in events if e["event"] == "completed"]
    check(len(done) == 1, "one completion: %s" % done)
    if done:
        c = done[0]
        check(c["completionReason"] == "stopToneDetected" and c["status"] == "completed",
              "reason %s / %s" % (c["completionReason"], c["status"]))
        data = c["notification"]["value"][0]["resourceData"]
        check(data["completionReason"] == "stopToneDetected" and data["id"] == op,
              json.dumps(data)[:200])
        with wave.open(c["recording"], "rb") as w:
            frames = w.getnframes()
            check(w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2,
                  "WAV format")
        check(abs(frames / 16000 - c["recordedSeconds"]) < 1e-9,
              "WAV %d frames, event %.3f s" % (frames, c["recordedSeconds"]))
        check(abs(data["@callrec.recordingDurationMs"] - frames / 16) <= 1, "duration in the notification")
    keys = [e for e in events if e["event"] == "toneDetected"]
    check(keys and keys[-1]["tone"] == "#" and keys[-1]["stopTone"], "the '#' event")

try:
    callrec.Source(os.path.join(src, "README.md"))
    check(False, "text read as audio")
except callrec.Error as e:
    check(e.status == -7 and "README.md" in str(e), "not audio: %s" % e)

print("python_test: %d checks, %d failed" % (checks, failures))
sys.exit(1 if failures or checks == 0 else 0)
