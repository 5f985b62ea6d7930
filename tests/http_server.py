"""A local static file server that honours HTTP range requests (as object stores and CDNs
do) and counts the bytes it sends per file: what a remote read really fetched. It can answer
the first requests of each file with 503, as an overloaded server does."""

from __future__ import annotations

import re
import threading
from collections import Counter
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


def _handler(root: Path, sent: Counter, refuse: Counter):
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:
            pass

        def _refused(self, path: Path) -> bool:
            if refuse[path.name] > 0:
                refuse[path.name] -= 1
                self.send_error(503)
                return True
            return False

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = Path(self.translate_path(self.path))
            if self._refused(path):
                return
            spec = RANGE.match(self.headers.get("Range", ""))
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            if spec:
                start = int(spec.group(1))
                end = min(int(spec.group(2)) if spec.group(2) else len(data) - 1, len(data) - 1)
                body = data[start:end + 1]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            else:
                body = data
                self.send_response(200)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            sent[path.name] += len(body)

        def do_HEAD(self) -> None:  # noqa: N802
            path = Path(self.translate_path(self.path))
            if self._refused(path):
                return
            if not path.is_file():
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(path.stat().st_size))
            self.end_headers()

    return Handler


@contextmanager
def serve(root: Path, refuse_first: int = 0):
    """Serve `root` on a free local port, answering the first `refuse_first` requests of each
    file with 503; yields (base URL, bytes sent per file name)."""
    sent: Counter = Counter()
    refuse: Counter = Counter({p.name: refuse_first for p in root.iterdir()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, sent, refuse))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sent
    finally:
        server.shutdown()
        server.server_close()
