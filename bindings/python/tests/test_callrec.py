"""pytest for the Python binding over the built shared library (ctest python runs it with
CALLREC_LIBRARY pointing at the build's libcallrec.so and CALLREC_SOURCE_DIR at the tree)."""
import array
import json
import os
import wave

import numpy
import pytest

import callrec

SRC = os.environ.get("CALLREC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CALLER = os.path.join(SRC, "demo", "caller.wav")
REQUEST = {"stopTones": ["#"], "playBeep": False, "initialSilenceTimeoutInSeconds": 20,
           "maxRecordDurationInSeconds": 60}


def record_demo(tmp_path, frames):
    """Records the demo caller, feeding it through `frames` (a function of a bytes chunk);
    returns the events."""
    events = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    with callrec.Session(rate=16000, recording_dir=str(tmp_path), on_event=events.append) as call:
        call.record(REQUEST)
        with callrec.Source(CALLER, rate=16000) as audio:
            for chunk in audio.chunks(320):
                out = call.process(frames(chunk))
                assert len(out) == len(chunk)
                if any(e["event"] == "completed" for e in events):
                    break
        call.hangup()
    return events


def test_version():
    assert callrec.version().count(".") == 2


def test_bytes_frames_end_on_the_stop_tone(tmp_path):
    events = record_demo(tmp_path, lambda chunk: chunk)
    done = [e for e in events if e["event"] == "completed"]
    assert len(done) == 1
    c = done[0]
    assert (c["completionReason"], c["status"]) == ("stopToneDetected", "completed")
    data = c["notification"]["value"][0]["resourceData"]
    assert data["completionReason"] == "stopToneDetected"
    with wave.open(c["recording"], "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        frames = w.getnframes()
    assert frames == round(c["recordedSeconds"] * 16000)
    assert abs(data["@callrec.recordingDurationMs"] - frames / 16) <= 1
    keys = [e for e in events if e["event"] == "toneDetected"]
    assert keys[-1]["tone"] == "#" and keys[-1]["stopTone"]


def test_numpy_frames_give_the_same_call(tmp_path):
    as_bytes = record_demo(tmp_path / "a", lambda chunk: chunk)
    as_numpy = record_demo(tmp_path / "b", lambda chunk: numpy.frombuffer(chunk, dtype=numpy.int16))
    as_array = record_demo(tmp_path / "c", lambda chunk: array.array("h", chunk))
    times = [[(e["event"], e["t"]) for e in ev] for ev in (as_bytes, as_numpy, as_array)]
    assert times[0] == times[1] == times[2]


def test_refusals_raise_with_the_message(tmp_path):
    with pytest.raises(callrec.Error) as e:
        callrec.check_request({"stopTones": ["x"]})
    assert e.value.status == -1 and "stopTones[0]" in str(e.value)
    with callrec.Session(recording_dir=str(tmp_path)) as call:
        with pytest.raises(callrec.Error) as e:
            call.record({"maxRecordDurationInSeconds": 0})
        assert "maxRecordDurationInSeconds" in str(e.value)
        call.hangup()
        with pytest.raises(callrec.Error) as e:
            call.record({})
        assert e.value.status == -6
    with pytest.raises(callrec.Error) as e:
        callrec.Source(os.path.join(SRC, "README.md"))
    assert e.value.status == -7 and "README.md" in str(e.value)


def test_play_prompt_and_cancel(tmp_path):
    events = []
    prompt = os.path.join(SRC, "demo", "prompt.wav")
    with callrec.Session(recording_dir=str(tmp_path), on_event=events.append) as call:
        call.play_prompt({"prompts": [{"mediaInfo": {"uri": prompt}}]})
        played = call.process(bytes(16000 * 2))   # a second of silence in, the prompt out
        assert any(played)
        call.cancel()
    done = [e for e in events if e["event"] == "completed"]
    assert [d["completionReason"] for d in done] == ["mediaOperationCanceled"]
    assert done[0]["notification"]["value"][0]["resourceData"]["@odata.type"].endswith(
        "playPromptOperation")


def test_example_bot(tmp_path):
    import example_bot

    result = example_bot.run_call(CALLER, str(tmp_path))
    assert result["completionReason"] == "stopToneDetected"
    assert result["notification"]["value"][0]["resourceData"]["clientContext"] == "caller.wav"
    assert os.path.exists(result["recording"])
