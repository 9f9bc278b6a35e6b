"""The PASS/FAIL lines and the closing `NAME: N passed, N failed` line of the scripts that test
the image and the chart (scripts/image_test.py, scripts/chart_check.py)."""
from __future__ import annotations


class Checklist:
    def __init__(self, name: str) -> None:
        self.name = name
        self.passed: list[str] = []
        self.failed: list[str] = []

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        """Records one check and prints it, with `detail` when it failed; returns `ok`."""
        (self.passed if ok else self.failed).append(what)
        print(f"{'PASS' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""), flush=True)
        return ok

    def finish(self) -> int:
        """Prints the summary and the failures again; the exit status."""
        print(f"{self.name}: {len(self.passed)} passed, {len(self.failed)} failed")
        for what in self.failed:
            print(f"  failed: {what}")
        return 1 if self.failed else 0
