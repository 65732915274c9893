"""A process that delivers one triggered alert, as the alert checks do after a refresh.

`python -m tests.orchestration.outputs.alert_sender STATE_DIR WEBHOOK_URL`: prints the outcome's
status (`sent`, `already_sent`, `failed`) on stdout.
"""

import sys
from datetime import date
from pathlib import Path

from orchestration.outputs.alerts.delivery import deliver_alerts
from orchestration.outputs.alerts.evaluate import AlertResult
from orchestration.outputs.alerts.rules import AlertRule

RULE = AlertRule("revenue_drop", "revenue", "yesterday", "previous", "error", "all")
RESULT = AlertResult(RULE, "all", date(2026, 3, 1), True, True, 100.0, 1000.0, "revenue fell 90 %")


def main() -> None:
    """Deliver RESULT once; print what happened."""
    (outcome,) = deliver_alerts([RESULT], Path(sys.argv[1]), sys.argv[2])
    print(outcome.status, flush=True)


if __name__ == "__main__":
    main()
