#!/usr/bin/env python3
"""Reads WAV files (or every *.wav of a folder) with Python's wave module, which refuses what it
cannot parse, and prints each file's frame count after checking that reading all frames gives
exactly that many."""
import os
import sys
import wave

paths = []
for arg in sys.argv[1:]:
    if os.path.isdir(arg):
        paths += sorted(os.path.join(arg, f) for f in os.listdir(arg) if f.endswith(".wav"))
    else:
        paths.append(arg)
status = 0
for path in paths:
    try:
        with wave.open(path, "rb") as w:
            n = w.getnframes()
            data = w.readframes(n + 1)
            width = w.getsampwidth() * w.getnchannels()
            if len(data) != n * width:
                print(f"{path}: header says {n} frames, {len(data) // width} read", file=sys.stderr)
                status = 1
            print(n)
    except (wave.Error, EOFError, OSError) as e:
        print(f"{path}: {e}", file=sys.stderr)
        status = 1
sys.exit(status)
