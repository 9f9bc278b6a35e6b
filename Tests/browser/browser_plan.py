#!/usr/bin/env python3
"""Runs a plan of steps in headless Chromium and writes what it saw, for a Swift test to judge.

Usage: browser_plan.py PLAN.json RESULT.json

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
separated by NUL bytes on file descriptors 3 and 4), so this needs the Python standard library
and Debian's chromium, and neither chromium-driver nor a websocket client. Every wait is bounded.

PLAN: {"chromium": PATH, "timeout": SECONDS (the whole run), "width": W, "height": H,
       "steps": [{"do": "open", "url": U}
                 | {"do": "wait", "js": EXPR, "timeout": S}      (until EXPR is true)
                 | {"do": "eval", "js": EXPR}                    (result discarded)
                 | {"do": "read", "name": N, "js": EXPR}         (result kept under N)
                 | {"do": "screenshot", "path": P, "scale": F}   (the whole page, PNG, scaled by F)
                 | {"do": "fulfill", "path": P, "status": S, "json": BODY}]}  (from now on, the
                   page's requests for path P are answered by the browser itself, never sent:
                   an endpoint the gateway does not have yet)
RESULT: {"reads": {N: value}, "requests": [{"url", "method", "headers"}], "console": [...],
         "exceptions": [...], "csp": [...], "error": null or a message, "seconds": elapsed}
Exit status 0 when every step ran, 1 when one failed (the result says which), 2 when Chromium
could not start (the test skips then, saying why).
"""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class ChromiumError(Exception):
    pass


class Browser:
    """One headless Chromium, one page, and the DevTools session attached to it."""

    def __init__(self, chromium, deadline):
        self.deadline = deadline
        self.profile = tempfile.mkdtemp(prefix="switchyard-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # The shell puts the two pipes where Chromium looks for them: 3 (commands), 4 (replies).
        command = ["sh", "-c", 'exec "$@" 3<&%d 4>&%d' % (to_browser_r, from_browser_w), "sh", chromium,
                   "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio",
                   "--user-data-dir=" + self.profile, "about:blank"]
        self.process = subprocess.Popen(command, pass_fds=(to_browser_r, from_browser_w),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None
        # Canned answers by path, and the ids of the commands that send them (never waited for).
        self.canned = {}
        self.fire_id = 1 << 30

    def close(self):
        try:
            if self.process.poll() is None:
                try:
                    self.send("Browser.close", session=False, timeout=5)
                except Exception:
                    pass
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
        finally:
            for fd in (self.to_browser, self.from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def remaining(self, timeout):
        return max(0.0, min(timeout, self.deadline - time.monotonic()))

    def read_message(self, timeout):
        """The next message from Chromium, or ChromiumError after `timeout` seconds."""
        end = time.monotonic() + self.remaining(timeout)
        while b"\0" not in self.buffer:
            left = end - time.monotonic()
            if left <= 0:
                raise ChromiumError("no answer from Chromium in time")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise ChromiumError("Chromium closed its DevTools pipe (exit status %s)" % self.process.poll())
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        message = json.loads(message)
        if message.get("method") == "Fetch.requestPaused":
            self.answer(message["params"])
        return message

    def answer(self, paused):
        """Answers a request held by the Fetch domain with its canned answer (or lets it go)."""
        path = "/" + paused["request"]["url"].split("/", 3)[-1].split("?")[0]
        self.fire_id += 1
        if path in self.canned:
            status, body = self.canned[path]
            command = {"id": self.fire_id, "method": "Fetch.fulfillRequest", "sessionId": self.session,
                       "params": {"requestId": paused["requestId"], "responseCode": status,
                                  "responseHeaders": [{"name": "Content-Type", "value": "application/json"}],
                                  "body": base64.b64encode(json.dumps(body).encode()).decode()}}
        else:
            command = {"id": self.fire_id, "method": "Fetch.continueRequest", "sessionId": self.session,
                       "params": {"requestId": paused["requestId"]}}
        os.write(self.to_browser, json.dumps(command).encode() + b"\0")

    def send(self, method, params=None, session=True, timeout=30):
        """Sends a command and returns its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.read_message(timeout)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise ChromiumError("%s: %s" % (method, reply["error"].get("message")))
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def drain(self, seconds):
        """Keeps the events that arrive within `seconds`."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.events.append(self.read_message(end - time.monotonic()))
            except ChromiumError:
                return

    def evaluate(self, expression, timeout=30):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                           timeout=timeout)
        if "exceptionDetails" in result:
            raise ChromiumError("script failed: %s" % result["exceptionDetails"].get("exception", {}).get("description"))
        return result.get("result", {}).get("value")

    def open_page(self, width, height):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(domain + ".enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def navigate(self, url, timeout):
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.send("Page.navigate", {"url": url})
        end = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > end:
                raise ChromiumError("the page did not load within %ss" % timeout)
            self.events.append(self.read_message(end - time.monotonic()))

    def wait_for(self, expression, timeout):
        end = time.monotonic() + timeout
        while True:
            if self.evaluate("Boolean(%s)" % expression):
                return
            if time.monotonic() > end:
                raise ChromiumError("still false after %ss: %s" % (timeout, expression))
            self.drain(0.1)

    def screenshot(self, path, width, scale):
        metrics = self.send("Page.getLayoutMetrics")
        height = int(metrics["cssContentSize"]["height"])
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                     "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}})
        with open(path, "wb") as file:
            file.write(base64.b64decode(shot["data"]))

    def observed(self):
        """What the page asked for and said: every request (with the headers actually sent, when
        Chromium reports them), console messages, uncaught exceptions, CSP violations."""
        requests, extra = {}, {}
        console, exceptions, csp = [], [], []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                request = params["request"]
                requests[params["requestId"] + "/" + request["url"]] = {
                    "id": params["requestId"], "url": request["url"], "method": request["method"],
                    "headers": request.get("headers", {})}
            elif method == "Network.requestWillBeSentExtraInfo":
                extra.setdefault(params["requestId"], {}).update(params.get("headers", {}))
            elif method == "Network.webSocketCreated":
                requests["ws/" + params["url"]] = {"id": params["requestId"], "url": params["url"], "method": "WEBSOCKET", "headers": {}}
            elif method == "Runtime.consoleAPICalled":
                console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                exceptions.append(params["exceptionDetails"].get("exception", {}).get("description")
                                  or params["exceptionDetails"].get("text"))
            elif method == "Log.entryAdded":
                entry = params["entry"]
                text = entry.get("text", "")
                (csp if "Content Security Policy" in text else console).append(
                    entry.get("level", "") + ": " + text + (" " + entry["url"] if entry.get("url") else ""))
        for request in requests.values():
            request["headers"].update(extra.get(request.pop("id"), {}))
        return list(requests.values()), console, exceptions, csp


def run(plan, result):
    start = time.monotonic()
    deadline = start + float(plan.get("timeout", 120))
    width, height = int(plan.get("width", 1280)), int(plan.get("height", 900))
    browser = Browser(plan["chromium"], deadline)
    try:
        try:
            browser.open_page(width, height)
        except ChromiumError as error:
            result["error"] = "Chromium did not start: %s" % error
            return 2
        for number, step in enumerate(plan["steps"]):
            try:
                action = step["do"]
                if action == "open":
                    browser.navigate(step["url"], float(step.get("timeout", 30)))
                elif action == "wait":
                    browser.wait_for(step["js"], float(step.get("timeout", 30)))
                elif action == "eval":
                    browser.evaluate(step["js"])
                elif action == "read":
                    result["reads"][step["name"]] = browser.evaluate(step["js"])
                elif action == "screenshot":
                    browser.screenshot(step["path"], width, float(step.get("scale", 1)))
                elif action == "fulfill":
                    browser.canned[step["path"]] = (int(step["status"]), step["json"])
                    browser.send("Fetch.enable", {"patterns": [{"urlPattern": "*" + path} for path in browser.canned]})
                else:
                    raise ChromiumError("unknown step %r" % action)
            except (ChromiumError, KeyError, OSError) as error:
                result["error"] = "step %d (%s): %s" % (number, step.get("do"), error)
                return 1
        browser.drain(0.3)
        return 0
    finally:
        result["requests"], result["console"], result["exceptions"], result["csp"] = browser.observed()
        browser.close()
        result["seconds"] = round(time.monotonic() - start, 2)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    with open(sys.argv[1]) as file:
        plan = json.load(file)
    result = {"reads": {}, "requests": [], "console": [], "exceptions": [], "csp": [], "error": None}
    try:
        status = run(plan, result)
    except (ChromiumError, OSError) as error:
        result["error"] = "Chromium did not start: %s" % error
        status = 2
    with open(sys.argv[2], "w") as file:
        json.dump(result, file)
    return status


if __name__ == "__main__":
    sys.exit(main())
