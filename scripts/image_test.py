#!/usr/bin/env python3
"""`make image-test`: starts the image `make image` built and gets answers from it.

The container runs as Kubernetes would run it from the chart: a read-only root filesystem, the
policy directory mounted at /etc/switchyard in the layout a ConfigMap volume has (files that are
symlinks through `..data` to a timestamped directory, swapped atomically on an update), the state
directory mounted at /var/lib/switchyard, and the admin key in the environment. The policy is
deploy/policy.yaml with its catch-all rule renamed to a name made up for this run, so the rule a
response reports can only have come from the mounted file. Checks:
  - the image: non-root user, health check, the shipped policy passes `switchyard policy check`;
  - /readyz turns 200 once the gateway and llama-server inside are up, both as uid 10001;
  - without a key: 401; a key made through the admin API; a chat completion with it answered by
    SmolLM2 inside the container, reporting the mounted policy's rule;
  - the ledger (ledger.sqlite, with that answer's record) and the engine log in the mounted state
    directory, owned by the image's user;
  - a ConfigMap-style update (the `..data` symlink swapped) is reloaded: the next answer reports
    the new rule;
  - `podman healthcheck run` passes; `podman stop` drains and exits 0, leaving no attempt in progress.
Every wait is bounded. Prints the container's memory, then `image-test: N passed, N failed`.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from checklist import Checklist

ROOT = pathlib.Path(__file__).resolve().parent.parent
os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "scripts" / "containers.conf"))
VERSION = re.search(r'^appVersion: *"(.*)"$', (ROOT / "deploy/helm/switchyard/Chart.yaml").read_text(), re.M).group(1)
IMAGE = f"{os.environ.get('SWITCHYARD_IMAGE', 'localhost/switchyard')}:{VERSION}"
UID = 10001  # deploy/Containerfile's user
READY_SECONDS, RELOAD_SECONDS, STOP_SECONDS = 180, 30, 30

checks = Checklist("image-test")
check = checks.check


def podman(*args: str, timeout: float = 60, check_status: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=check_status)


def request(port: int, method: str, path: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict, dict]:
    """(status, lower-cased headers, JSON body) of one request to the gateway, within 60 s."""
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            status, head, text = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, text = error.code, error.headers, error.read()
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        parsed = {"raw": text.decode(errors="replace")}
    return status, {k.lower(): v for k, v in head.items()}, parsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def running(name: str) -> bool:
    return podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip() == "true"


def write_policy_version(etc: pathlib.Path, version: str, rule: str) -> None:
    """One ConfigMap payload directory, then the atomic `..data` swap the kubelet makes."""
    payload = etc / f"..{version}"
    payload.mkdir()
    text = (ROOT / "deploy" / "policy.yaml").read_text()
    renamed = text.replace("  - name: default\n", f"  - name: {rule}\n")
    assert renamed != text, "deploy/policy.yaml has no rule named default to rename"
    (payload / "policy.yaml").write_text(renamed)
    shutil.copy(ROOT / "policies" / "smollm2-135m-calibration.json", payload)
    (etc / "..data_tmp").symlink_to(payload.name)
    os.replace(etc / "..data_tmp", etc / "..data")
    for name in ("policy.yaml", "smollm2-135m-calibration.json"):
        if not (etc / name).is_symlink():
            (etc / name).symlink_to(f"..data/{name}")


def own(path: pathlib.Path) -> None:
    """Gives the image's user a host directory (rootless podman maps uids, so it chowns inside)."""
    if os.geteuid() == 0:
        os.chown(path, UID, UID)
    else:
        podman("unshare", "chown", f"{UID}:{UID}", str(path), check_status=True)


def uid_of(name: str, pid: int | str) -> str:
    status = podman("exec", name, "cat", f"/proc/{pid}/status").stdout
    match = re.search(r"^Uid:\s+(\d+)", status, re.M)
    return match.group(1) if match else "?"


def engine_pids(name: str) -> list[tuple[str, str]]:
    """(pid, parent pid) of each llama-server in the container, read from its /proc: /readyz no
    longer says where the engine is (docs/security.md), and the image has no ps."""
    script = 'for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = llama-server ] && ' \
             'echo "${d#/proc/} $(sed -n "s/^PPid:[[:space:]]*//p" $d/status)"; done; true'
    return [tuple(line.split()) for line in podman("exec", name, "sh", "-c", script).stdout.splitlines() if len(line.split()) == 2]


def ledger_rows(state: pathlib.Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(f"file:{state / 'ledger.sqlite'}?mode=ro", uri=True, timeout=10) as db:
        return db.execute(sql, args).fetchall()


def run() -> None:
    if not check(f"the image {IMAGE} exists (`make image` builds it)", podman("image", "exists", IMAGE).returncode == 0):
        return
    inspected = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
    user = inspected["Config"].get("User", "")
    check("the image runs as a non-root user", user == f"{UID}:{UID}", user)
    health = " ".join((inspected.get("Healthcheck") or {}).get("Test", []))
    check("the image has a health check on /healthz", "/healthz" in health, health or "none")
    shipped = podman("run", "--rm", "--network", "host", "--no-healthcheck", IMAGE,
                     "switchyard", "policy", "check", "/etc/switchyard/policy.yaml")
    check("the image's own policy passes `switchyard policy check`", shipped.returncode == 0, shipped.stdout + shipped.stderr)

    scratch = pathlib.Path(tempfile.mkdtemp(prefix="switchyard-image-test-"))
    etc, state = scratch / "etc", scratch / "state"
    etc.mkdir()
    state.mkdir()
    own(state)
    first_rule, second_rule = f"image-test-{secrets.token_hex(4)}", f"image-test-reloaded-{secrets.token_hex(4)}"
    write_policy_version(etc, "2026_01_01_00_00_00.1", first_rule)
    port, admin = free_port(), secrets.token_urlsafe(32)
    name = f"switchyard-image-test-{os.getpid()}"
    try:
        started = time.monotonic()
        run = podman("run", "-d", "--name", name, "--network", "host", "--read-only",
                     "-e", f"SWITCHYARD_PORT={port}", "-e", f"SWITCHYARD_ADMIN_KEY={admin}",
                     "-v", f"{etc}:/etc/switchyard:ro", "-v", f"{state}:/var/lib/switchyard", IMAGE)
        if not check("the container starts", run.returncode == 0, run.stderr):
            return

        status, ready = 0, {}
        while time.monotonic() - started < READY_SECONDS and running(name):
            try:
                status, _, ready = request(port, "GET", "/readyz")
            except OSError:
                status = 0
            if status == 200:
                break
            time.sleep(0.5)
        if not check(f"/readyz is 200 within {READY_SECONDS} s (took {time.monotonic() - started:.1f} s)", status == 200,
                     f"last status {status}"):
            logs = podman("logs", "--tail", "40", name)
            engine_log = state / "engine-local.log"
            print(logs.stdout + logs.stderr + (engine_log.read_text()[-3000:] if engine_log.exists() else ""))
            return
        engine, engines = ready.get("engine", {}), engine_pids(name)
        check("llama-server runs inside, started by the gateway (pid 1)",
              engine.get("phase") == "ready" and [parent for _, parent in engines] == ["1"], f"{json.dumps(engine)}; llama-server (pid, parent): {engines}")
        engine_pid = engines[0][0] if engines else 0
        check("the gateway and llama-server run as the image's user",
              uid_of(name, 1) == str(UID) and uid_of(name, engine_pid) == str(UID),
              f"gateway {uid_of(name, 1)}, engine {uid_of(name, engine_pid)}")

        status, _, _ = request(port, "POST", "/v1/chat/completions", {"model": "auto", "messages": [{"role": "user", "content": "Hi"}]})
        check("the mounted policy requires a key: 401 without one", status == 401, str(status))
        status, _, made = request(port, "POST", "/v1/switchyard/keys", {"name": "image-test"}, key=admin)
        key = made.get("secret", "")
        check("the admin key from the environment makes an API key", status == 201 and key.startswith("sy-"), f"{status} {made}")

        question = {"model": "auto", "max_tokens": 24, "messages": [{"role": "user", "content": "What is the capital of France?"}]}
        status, headers, answer = request(port, "POST", "/v1/chat/completions", question, key=key)
        text = ((answer.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        check("a chat completion is answered by SmolLM2 inside the container",
              status == 200 and headers.get("x-switchyard-route") == "local" and text.strip() != ""
              and answer.get("usage", {}).get("completion_tokens", 0) > 0, f"{status} {headers} {answer}")
        print(f"     answer: {text.strip()[:100]!r}")
        check("the answer reports the mounted policy's rule", headers.get("x-switchyard-rule") == first_rule,
              f"x-switchyard-rule: {headers.get('x-switchyard-rule')}, expected {first_rule}")

        ledger = state / "ledger.sqlite"
        check("the ledger is in the mounted state directory, owned by the image's user",
              ledger.exists() and ledger.stat().st_uid == UID)
        # The gateway commits an answer's record a few milliseconds after the answer (it is durable
        # in the ledger's journal before): another reader waits for it, up to 10 s.
        rows: list[tuple] = []
        deadline = time.monotonic() + 10
        while ledger.exists() and ("local", "served") not in rows and time.monotonic() < deadline:
            rows = ledger_rows(state, "SELECT target, outcome FROM attempts WHERE rule = ?", first_rule)
            if ("local", "served") not in rows:
                time.sleep(0.05)
        check("the ledger holds that answer's record", ("local", "served") in rows, str(rows))
        check("the engine's log is in the mounted state directory", (state / "engine-local.log").stat().st_size > 0
              if (state / "engine-local.log").exists() else False)

        # A ConfigMap update, as the kubelet makes it: a new payload directory and `..data` swapped.
        swapped = time.monotonic()
        write_policy_version(etc, "2026_01_01_00_01_00.2", second_rule)
        rule = ""
        while time.monotonic() - swapped < RELOAD_SECONDS:
            _, _, decision = request(port, "POST", "/v1/switchyard/explain", question, key=key)
            rule = decision.get("rule", "")
            if rule == second_rule:
                break
            time.sleep(0.25)
        check(f"a ConfigMap-style update (..data swapped) is reloaded within {RELOAD_SECONDS} s "
              f"(took {time.monotonic() - swapped:.1f} s)", rule == second_rule, f"rule still {rule!r}")
        status, headers, _ = request(port, "POST", "/v1/chat/completions", question, key=key)
        check("the next answer reports the new rule", status == 200 and headers.get("x-switchyard-rule") == second_rule,
              f"{status} {headers.get('x-switchyard-rule')}")

        health = podman("healthcheck", "run", name)
        check("`podman healthcheck run` passes", health.returncode == 0, health.stdout + health.stderr)
        rss = podman("exec", name, "sh", "-c", "cat /proc/[0-9]*/status").stdout
        kib = sum(int(v) for v in re.findall(r"^VmRSS:\s+(\d+) kB", rss, re.M))
        print(f"     memory: {kib // 1024} MiB resident (gateway and llama-server with SmolLM2-135M)")

        stopping = time.monotonic()
        podman("stop", "-t", str(STOP_SECONDS), name, timeout=STOP_SECONDS + 30)
        code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        check(f"`podman stop` drains the gateway, which exits 0 (in {time.monotonic() - stopping:.1f} s)", code == "0", f"exit code {code}")
        left = ledger_rows(state, "SELECT count(*) FROM attempts WHERE outcome = 'in_progress'")[0][0]
        check("no attempt is left in progress", left == 0, f"{left} in progress")
    finally:
        podman("rm", "-f", "-t", "0", name)
        if os.geteuid() == 0:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            podman("unshare", "rm", "-rf", str(scratch))


def main() -> int:
    try:
        run()
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, sqlite3.Error) as error:
        check("the test ran to its end", False, f"{type(error).__name__}: {error}")
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
