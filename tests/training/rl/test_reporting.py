"""``HttpReporter`` against a real local HTTP server: an outage of Flywheel loses no report."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from training.rl.reporting import HttpReporter, RunReport


class FlywheelStandIn:
    """Answers the report endpoint: 503 while ``down``, 400 for step 99, else 200 (``stop`` on request)."""

    def __init__(self) -> None:
        self.down = False
        self.stop = False
        self.received: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = 503 if owner.down else 400 if body["step"] == 99 else 200
                if status == 200:
                    owner.received.append(body["step"])
                answer = json.dumps({"stop": owner.stop} if status == 200 else {"detail": "no"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def flywheel():
    stand_in = FlywheelStandIn()
    yield stand_in
    stand_in.server.shutdown()


def step(n: int) -> RunReport:
    return RunReport(step=n, total_steps=10, metrics={"reward/mean": n / 10})


def test_reports_that_could_not_be_delivered_are_sent_again_in_order(flywheel):
    reporter = HttpReporter(flywheel.url, "run-1", token="t", retries=2, backoff_s=0.0)
    assert reporter.report(step(1)) is True
    flywheel.down = True
    assert reporter.report(step(2)) is True and reporter.report(step(3)) is True  # training goes on
    assert flywheel.received == [1] and [r.step for r in reporter.undelivered] == [2, 3]
    flywheel.down = False
    assert reporter.report(step(4)) is True
    assert flywheel.received == [1, 2, 3, 4] and reporter.undelivered == []


def test_a_refused_report_is_dropped_and_a_stop_answer_is_passed_on(flywheel):
    reporter = HttpReporter(flywheel.url, "run-1", retries=2, backoff_s=0.0)
    assert reporter.report(step(99)) is True and reporter.undelivered == []  # a 4xx: sending again would not help
    flywheel.stop = True
    assert reporter.report(step(5)) is False
    assert flywheel.received == [5]


def test_no_server_at_all_keeps_the_report(flywheel):
    flywheel.server.shutdown()
    flywheel.server.server_close()
    reporter = HttpReporter(flywheel.url, "run-1", retries=1, backoff_s=0.0, timeout_s=2.0)
    assert reporter.report(step(1)) is True and [r.step for r in reporter.undelivered] == [1]
