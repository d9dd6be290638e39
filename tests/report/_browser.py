"""Open a page in headless Chromium through the DevTools protocol (stdlib only).

``--dump-dom`` and ``--screenshot`` cannot say whether the page logged an error
or a request failed; the DevTools protocol can. This is a minimal client: it
starts ``chromium --headless=new --remote-debugging-port=0`` with a throw-away
profile, reads the port from ``DevToolsActivePort``, opens one WebSocket to
the page and records console errors, uncaught exceptions, log entries of
level error and failed or blocked requests while the page loads.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

#: Debian's package name first, then other common names.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The Chromium executable on PATH (or ``$SEGML_CHROMIUM``), if any."""
    configured = os.environ.get("SEGML_CHROMIUM")
    if configured:
        return shutil.which(configured) or (
            configured if Path(configured).is_file() else None
        )
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol (text frames)."""

    def __init__(self, url: str, timeout: float) -> None:
        rest = url.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the connection in the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytearray([0x81])  # FIN + text
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def recv(self) -> str:
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack(">H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack(">Q", self._read(8))
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping / pong: not used by DevTools
                continue
            parts.append(payload)
            if b0 & 0x80:
                return b"".join(parts).decode()

    def close(self) -> None:
        self.sock.close()


@dataclass
class PageVisit:
    """What happened while a page loaded, and what it holds."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dom: dict = field(default_factory=dict)
    screenshot: bytes = b""


_PROBE = """(() => {
  const sections = [...document.querySelectorAll('section[data-section]')].map(s => ({
    key: s.dataset.section,
    title: (s.querySelector('h2') || {}).textContent || '',
    tables: [...s.querySelectorAll('table[data-table]')].map(t => t.dataset.table),
    charts: [...s.querySelectorAll('figure[data-chart]')].map(f => {
      const img = f.querySelector('img');
      return {name: f.dataset.chart, loaded: !!img && img.complete,
              width: img ? img.naturalWidth : 0, height: img ? img.naturalHeight : 0};
    }),
  }));
  const external = [...document.querySelectorAll('[src],[href]')]
    .map(e => e.getAttribute('src') || e.getAttribute('href'))
    .filter(u => !u.startsWith('data:') && !u.startsWith('#'));
  return {title: document.title, sections, external,
          scripts: document.scripts.length};
})()"""


def visit(
    executable: str,
    page: Path,
    *,
    width: int = 1280,
    height: int = 900,
    timeout: float = 60.0,
) -> PageVisit:
    """Load ``page`` in headless Chromium; record errors, probe it, screenshot it."""
    profile = tempfile.mkdtemp(prefix="segml-chromium-")
    args = [
        executable,
        "--headless=new",
        "--no-sandbox",  # root in containers; the page is our own file
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "about:blank",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ws = None
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if proc.poll() is not None:
                raise RuntimeError(f"chromium exited with code {proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
            targets = json.load(r)
        target = next(t for t in targets if t.get("type") == "page")
        ws = _WebSocket(target["webSocketDebuggerUrl"], timeout)
        return _drive(ws, page, width, height, deadline)
    finally:
        if ws is not None:
            ws.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _drive(ws: _WebSocket, page: Path, width: int, height: int, deadline) -> PageVisit:
    result = PageVisit()
    counter = iter(range(1, 1_000_000))
    answers: dict[int, dict] = {}
    loaded = False

    def handle(message: dict) -> None:
        nonlocal loaded
        method = message.get("method")
        params = message.get("params", {})
        if "id" in message:
            answers[message["id"]] = message
        elif method == "Runtime.consoleAPICalled" and params["type"] in (
            "error",
            "assert",
        ):
            text = " ".join(
                str(a.get("value", a.get("description"))) for a in params["args"]
            )
            result.console_errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            result.console_errors.append(f"exception: {details.get('text')}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            result.console_errors.append(f"{entry['source']}: {entry['text']}")
        elif method == "Network.requestWillBeSent":
            result.requests.append(params["request"]["url"][:100])
        elif method == "Network.loadingFailed":
            reason = params.get("blockedReason") or params.get("errorText")
            result.failed_requests.append(f"{params['requestId']}: {reason}")
        elif method == "Network.responseReceived":
            status = params["response"]["status"]
            url = params["response"]["url"]
            if status >= 400:
                result.failed_requests.append(f"{url[:100]}: HTTP {status}")
        elif method == "Page.loadEventFired":
            loaded = True

    def call(method: str, **params) -> dict:
        ident = next(counter)
        ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while ident not in answers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer to {method}")
            handle(json.loads(ws.recv()))
        answer = answers.pop(ident)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    for domain in ("Runtime", "Log", "Network", "Page"):
        call(f"{domain}.enable")
    call(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=False,
    )
    call("Page.navigate", url=page.resolve().as_uri())
    while not loaded:
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not finish loading")
        handle(json.loads(ws.recv()))
    probe = call("Runtime.evaluate", expression=_PROBE, returnByValue=True)
    result.dom = probe["result"]["value"]
    shot = call("Page.captureScreenshot", format="png")
    result.screenshot = base64.b64decode(shot["data"])
    return result
