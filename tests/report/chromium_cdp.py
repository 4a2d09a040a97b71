"""Headless Chromium driven over the DevTools protocol (CDP), for the report's render test.

Starts Debian's `chromium` with a fresh profile, no network services and a proxy that goes
nowhere (so nothing could leave the machine even by mistake), opens a page, and records what
the page did: every request it made, console messages, exceptions and browser log errors;
then takes a full-page PNG screenshot. Only the browser process started here is stopped.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from websockets.sync.client import connect

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    # any http(s) request would go to a closed local port, never out of the machine
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


@dataclass
class PageVisit:
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    page_size: tuple[int, int] = (0, 0)

    @property
    def console_errors(self) -> list[str]:
        return [text for level, text in self.console if level in ("error", "assert")]


class DevTools:
    """A CDP session on one page target (flattened sessions over the browser socket)."""

    def __init__(self, socket, session_id: str, visit: PageVisit) -> None:
        self.socket, self.session_id, self.visit = socket, session_id, visit
        self.next_id = 100

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        message["sessionId"] = self.session_id
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, event: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("method") == event:
                return message.get("params", {})

    def drain(self, seconds: float) -> None:
        """Keep recording events for a little while (late console messages, requests)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._receive(deadline)
        except TimeoutError:
            pass

    def _receive(self, deadline: float) -> dict:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer from Chromium")
        message = json.loads(self.socket.recv(timeout=left))
        self._record(message)
        return message

    def _record(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.visit.requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            self.visit.failed_requests.append(params.get("errorText", ""))
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.visit.console.append((params["type"], text))
        elif method == "Runtime.exceptionThrown":
            self.visit.exceptions.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.visit.log_errors.append(params["entry"].get("text", ""))


def _devtools_address(profile: Path, process: subprocess.Popen, timeout: float = 30) -> str:
    """ws:// address of the browser, from the DevToolsActivePort file Chromium writes."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode}")
        if port_file.is_file():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def visit_page(
    url: str, profile: Path, width: int = 1280, height: int = 900, chromium: Path = CHROMIUM
) -> PageVisit:
    """Open `url` in a fresh headless Chromium and return what happened, with a screenshot."""
    profile.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(chromium), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    visit = PageVisit()
    try:
        with connect(_devtools_address(profile, process), max_size=None, open_timeout=30) as ws:
            browser = DevTools(ws, "", visit)
            browser.session_id = None  # browser-level commands carry no session

            def browser_send(method: str, params: dict) -> dict:
                browser.next_id += 1
                ws.send(json.dumps({"id": browser.next_id, "method": method, "params": params}))
                deadline = time.monotonic() + 30
                while True:
                    reply = browser._receive(deadline)
                    if reply.get("id") == browser.next_id:
                        return reply["result"]

            target = browser_send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser_send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            page = DevTools(ws, session, visit)
            for domain in ("Page", "Runtime", "Log", "Network"):
                page.send(f"{domain}.enable")
            page.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            page.send("Page.navigate", {"url": url})
            page.wait_for("Page.loadEventFired")
            page.drain(1.0)
            size = page.send("Page.getLayoutMetrics")["cssContentSize"]
            visit.page_size = (int(size["width"]), int(size["height"]))
            shot = page.send(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {
                        "x": 0,
                        "y": 0,
                        "width": size["width"],
                        "height": size["height"],
                        "scale": 1,
                    },
                },  # fmt: skip
                timeout=60,
            )
            visit.screenshot = base64.b64decode(shot["data"])
            try:
                browser_send("Browser.close", {})
            except Exception:  # noqa: BLE001 - the socket may close before the answer
                pass
    finally:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return visit
