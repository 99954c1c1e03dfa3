"""callrec for Python: the record-response engine through ctypes, over the shared library.

    import callrec
    events = []
    with callrec.Session(rate=16000, recording_dir="recs", on_event=events.append) as call:
        op = call.record({"stopTones": ["#"], "maxRecordDurationInSeconds": 30})
        with callrec.Source("answer.wav", rate=16000) as audio:
            for chunk in audio.chunks(320):          # 20 ms of 16-bit samples, as bytes
                out = call.process(chunk)            # the prompt and beep to play, same length
        call.hangup()                                # every operation completes
    done = [e for e in events if e["event"] == "completed"]

The library is found as $CALLREC_LIBRARY, else libcallrec.so.0 on the loader's path. Events are
dicts: "event" (the program's names: recordingStarted, toneDetected, completed, ...), "t" and
"detectedAt" (seconds since the operation started), "operationId", and for completed
"completionReason", "status", "notification" (the parsed commsNotifications document),
"recording" (the WAV's path or None) and "detail". Errors raise callrec.Error with the
library's message. A session is used from one thread at a time.
"""
import ctypes
import json
import os

__all__ = ["Error", "Session", "Source", "version", "check_request"]

_lib = ctypes.CDLL(os.environ.get("CALLREC_LIBRARY") or "libcallrec.so.0")

EVENT_NAMES = ["promptStarted", "promptEnded", "beepStarted", "beepEnded", "recordingStarted",
               "speechStarted", "speechStopped", "toneDetected", "completed", "xrun"]
RATE = 16000  # CALLREC_INTERNAL_RATE_HZ: every event time counts these samples


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("operation_id", ctypes.c_char_p),
                ("t_samples", ctypes.c_int64), ("detected_samples", ctypes.c_int64),
                ("tone", ctypes.c_char), ("is_stop_tone", ctypes.c_int),
                ("status", ctypes.c_int), ("completion_reason", ctypes.c_int),
                ("notification_json", ctypes.c_char_p), ("recording_path", ctypes.c_char_p),
                ("detail", ctypes.c_char_p), ("recording_samples", ctypes.c_int64),
                ("overruns", ctypes.c_uint64), ("underruns", ctypes.c_uint64),
                ("processing_latency_ms", ctypes.c_double)]


_EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_Event))
_RESOLVER_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_char_p, ctypes.c_size_t)


class _Config(ctypes.Structure):
    _fields_ = [("sample_rate_hz", ctypes.c_int), ("recording_dir", ctypes.c_char_p),
                ("prompt_base_dir", ctypes.c_char_p), ("call_id", ctypes.c_char_p),
                ("max_prompt_seconds", ctypes.c_int), ("playout_guard_ms", ctypes.c_int),
                ("on_event", _EVENT_FN), ("event_user", ctypes.c_void_p),
                ("resolve_prompt", _RESOLVER_FN), ("resolver_user", ctypes.c_void_p),
                ("prompt_cache", ctypes.c_void_p), ("dtmf_profile", ctypes.c_int)]


class _SourceInfo(ctypes.Structure):
    _fields_ = [("input_rate_hz", ctypes.c_int), ("channels", ctypes.c_int),
                ("rate_hz", ctypes.c_int), ("input_frames", ctypes.c_int64)]


def _proto(name, res, *args):
    f = getattr(_lib, name)
    f.restype, f.argtypes = res, list(args)
    return f


_P, _SZ, _S = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p
_strerror = _proto("callrec_strerror", _S, ctypes.c_int)
_version = _proto("callrec_version", _S)
_reason_name = _proto("callrec_completion_reason_name", _S, ctypes.c_int)
_status_name = _proto("callrec_operation_status_name", _S, ctypes.c_int)
_config_default = _proto("callrec_session_config_default", None, ctypes.POINTER(_Config))
_create = _proto("callrec_session_create", ctypes.c_int, ctypes.POINTER(_Config),
                 ctypes.POINTER(_P))
_destroy = _proto("callrec_session_destroy", None, _P)
_record = _proto("callrec_session_record", ctypes.c_int, _P, _S, _SZ, _S, _S, _S, _SZ)
_play = _proto("callrec_session_play_prompt", ctypes.c_int, _P, _S, _SZ, _S, _S, _SZ)
_process = _proto("callrec_session_process_frames", ctypes.c_int, _P, _P, _P, _SZ,
                  ctypes.POINTER(_SZ))
_cancel = _proto("callrec_session_cancel", ctypes.c_int, _P)
_hangup = _proto("callrec_session_hangup", ctypes.c_int, _P)
_pending = _proto("callrec_session_pending", ctypes.c_int, _P)
_check = _proto("callrec_request_check", ctypes.c_int, _S, _SZ, _S, _SZ)
_src_open = _proto("callrec_source_open", ctypes.c_int, _S, ctypes.c_int, ctypes.POINTER(_P),
                   _S, _SZ)
_src_info = _proto("callrec_source_get_info", None, _P, ctypes.POINTER(_SourceInfo))
_src_read = _proto("callrec_source_read", ctypes.c_int, _P, _P, _SZ, ctypes.POINTER(_SZ))
_src_close = _proto("callrec_source_close", None, _P)


class Error(Exception):
    """A call the library refused; .status is its callrec_status, the message says why."""

    def __init__(self, status, message=""):
        self.status = status
        super().__init__(message or _strerror(status).decode())


def version():
    return _version().decode()


def _body(request):
    text = request if isinstance(request, (str, bytes)) else json.dumps(request)
    return text.encode() if isinstance(text, str) else text


def check_request(request):
    """Raises Error if the record request breaks the API's rules."""
    body, err = _body(request), ctypes.create_string_buffer(1024)
    status = _check(body, len(body), err, len(err))
    if status:
        raise Error(status, err.value.decode(errors="replace"))


class _Owned:
    """A library object this Python object owns: freed by close(), `with` or the collector."""

    _free = None
    _handle = None

    def close(self):
        if self._handle:
            self._free(self._handle)
            self._handle = _P()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Session(_Owned):
    """One call. rate: of the buffers given to process(), 8000..48000."""

    _free = staticmethod(_destroy)

    def __init__(self, rate=16000, recording_dir=".", on_event=None, prompt_base_dir=None,
                 call_id=None):
        self._on_event = on_event
        self._keep = []  # the strings the config points to live as long as the session
        cfg = _Config()
        _config_default(ctypes.byref(cfg))
        cfg.sample_rate_hz = rate
        for field, value in (("recording_dir", recording_dir),
                             ("prompt_base_dir", prompt_base_dir), ("call_id", call_id)):
            if value is not None:
                b = os.fsencode(value)
                self._keep.append(b)
                setattr(cfg, field, b)
        self._callback = _EVENT_FN(self._deliver)
        cfg.on_event = self._callback
        self._rate = rate
        self._handle = _P()
        status = _create(ctypes.byref(cfg), ctypes.byref(self._handle))
        if status:
            raise Error(status)

    def _deliver(self, _user, ev):
        if self._on_event is None:
            return
        e = ev.contents
        d = {"event": EVENT_NAMES[e.type] if 0 <= e.type < len(EVENT_NAMES) else e.type,
             "t": e.t_samples / RATE, "detectedAt": e.detected_samples / RATE,
             "operationId": (e.operation_id or b"").decode()}
        if e.type == 7:
            d["tone"] = e.tone.decode()
            d["stopTone"] = bool(e.is_stop_tone)
        if e.type == 4:
            d["maxSeconds"] = e.recording_samples / RATE
        if e.type == 8:
            d["completionReason"] = _reason_name(e.completion_reason).decode()
            d["status"] = _status_name(e.status).decode()
            d["notification"] = json.loads(e.notification_json) if e.notification_json else None
            d["recording"] = os.fsdecode(e.recording_path) if e.recording_path else None
            d["recordedSeconds"] = e.recording_samples / RATE
            d["detail"] = e.detail.decode(errors="replace") if e.detail else None
        self._on_event(d)

    def _ready(self):
        if not self._handle:
            raise Error(-6, "the session is closed")
        return self._handle

    def record(self, request, path=None):
        """Queues a record operation (a dict or JSON text); returns its operation id."""
        body, op, err = _body(request), ctypes.create_string_buffer(37), ctypes.create_string_buffer(1024)
        status = _record(self._ready(), body, len(body), os.fsencode(path) if path else None, op,
                         err, len(err))
        if status:
            raise Error(status, err.value.decode(errors="replace"))
        return op.value.decode()

    def play_prompt(self, request):
        body, op, err = _body(request), ctypes.create_string_buffer(37), ctypes.create_string_buffer(1024)
        status = _play(self._ready(), body, len(body), op, err, len(err))
        if status:
            raise Error(status, err.value.decode(errors="replace"))
        return op.value.decode()

    def process(self, samples):
        """Caller audio in (16-bit mono at the session's rate: bytes, bytearray, array('h')),
        the prompt and beep out, as bytes of the same length."""
        data = bytes(samples) if not isinstance(samples, (bytes, bytearray)) else samples
        frames = len(data) // 2
        inp = (ctypes.c_char * len(data)).from_buffer_copy(data) if data else None
        out = ctypes.create_string_buffer(frames * 2)
        used = _SZ()
        status = _process(self._ready(), inp, out, frames, ctypes.byref(used))
        if status:
            raise Error(status)
        return out.raw

    def cancel(self):
        _cancel(self._ready())

    def hangup(self):
        _hangup(self._ready())

    @property
    def pending(self):
        return _pending(self._ready())



class Source(_Owned):
    """Audio from a file or "-" (stdin): any format libsndfile reads, mono, at `rate`
    (0: the file's own rate when 8..48 kHz, else 16 kHz)."""

    _free = staticmethod(_src_close)

    def __init__(self, path, rate=0):
        self._handle = _P()
        err = ctypes.create_string_buffer(1024)
        status = _src_open(os.fsencode(path), rate, ctypes.byref(self._handle), err, len(err))
        if status:
            raise Error(status, err.value.decode(errors="replace"))
        info = _SourceInfo()
        _src_info(self._handle, ctypes.byref(info))
        self.rate, self.channels = info.rate_hz, info.channels
        self.input_rate = info.input_rate_hz
        self.input_frames = info.input_frames if info.input_frames >= 0 else None

    def read(self, frames):
        """Up to `frames` samples as bytes (16-bit); b"" at the end."""
        buf, got = ctypes.create_string_buffer(frames * 2), _SZ()
        status = _src_read(self._handle, buf, frames, ctypes.byref(got))
        if status:
            raise Error(status)
        return buf.raw[: got.value * 2]

    def chunks(self, frames):
        while True:
            chunk = self.read(frames)
            if not chunk:
                return
            yield chunk

