"""Alert delivery is at least once: a sender killed between the POST and its record re-posts.

Real processes, a real webhook receiver on loopback, the real SQLite record of deliveries.
"""

import subprocess
import sys
import time
from pathlib import Path

from tests.orchestration.outputs.webhook_receiver import webhook_receiver

REPO = Path(__file__).resolve().parents[3]


def sender(state: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.orchestration.outputs.alert_sender", str(state), url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_sender_killed_after_posting_before_recording_posts_again_and_then_never(
    tmp_path: Path,
) -> None:
    with webhook_receiver() as receiver:
        receiver.hold_seconds = 30  # the POST arrived; the sender waits for the answer
        first = sender(tmp_path, receiver.url)
        deadline = time.monotonic() + 30
        while not receiver.posts:
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.02)
        first.kill()  # kill -9 between the POST and the record of the delivery
        first.communicate(timeout=10)
        receiver.hold_seconds = 0
        second = sender(tmp_path, receiver.url).communicate(timeout=60)
        third = sender(tmp_path, receiver.url).communicate(timeout=60)
    assert second[0].strip() == "sent", second[1]  # not lost: delivered again
    assert third[0].strip() == "already_sent", third[1]  # recorded: no further repeat
    assert len(receiver.posts) == 2 and receiver.posts[0] == receiver.posts[1]
