"""A bot in Python: asks a question on each of a few simulated calls and prints how each answer
ended. Run from the build: CALLREC_LIBRARY=build/libcallrec.so python3 example_bot.py CALLER.wav...
Each call plays the demo prompt, records until '#' or silence, and prints its notification's
completionReason and the WAV's path."""
import os
import sys

import callrec

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPT = os.path.join(HERE, "..", "..", "demo", "prompt.wav")


def run_call(caller_path, recording_dir):
    done = []
    with callrec.Session(rate=16000, recording_dir=recording_dir,
                         on_event=lambda e: done.append(e) if e["event"] == "completed" else None) as call:
        call.record({"prompts": [{"mediaInfo": {"uri": os.path.abspath(PROMPT)}}],
                     "stopTones": ["#"], "maxRecordDurationInSeconds": 30,
                     "clientContext": os.path.basename(caller_path)})
        with callrec.Source(caller_path, rate=16000) as audio:
            for chunk in audio.chunks(320):   # 20 ms frames, as a media stack delivers them
                call.process(chunk)            # what comes back is the prompt and beep to play
                if done:
                    break
        call.hangup()                          # the caller hangs up: whatever runs completes
    return done[0]


if __name__ == "__main__":
    out = os.environ.get("RECORDINGS", ".")
    for path in sys.argv[1:] or [os.path.join(HERE, "..", "..", "demo", "caller.wav")]:
        result = run_call(path, out)
        print("%s: %s, %.1f s in %s" % (path, result["completionReason"], result["recordedSeconds"],
                                         result["recording"]))
