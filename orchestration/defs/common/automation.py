"""dbt and the outputs run once after a batch of connection refreshes, not once per connection.

The daily schedule starts one raw run per connection partition. The marts wait until raw data
has changed since they were last requested (`any_deps_updated().since_last_handled()`, which
remembers a dependency that finished while others still ran) and no dependency is in progress
(queued or running), so the batch's last run releases one dbt build. Not `eager()`: it waits for
every missing dependency partition, so one never-refreshed or failing connection would hold the
marts back for good; a failed run is not in progress and does not block.
"""

import dagster as dg

AC = dg.AutomationCondition


def after_batch() -> dg.AutomationCondition:
    """True once after dependencies updated, when none is queued or running."""
    return (
        AC.any_deps_updated().since_last_handled() & ~AC.any_deps_in_progress() & ~AC.in_progress()
    ).with_label("after_batch")


polar_downstream_automation = dg.AutomationConditionSensorDefinition(
    "polar_downstream_automation",
    target=dg.AssetSelection.groups("polar_marts", "polar_outputs"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Requests the dbt marts, then the dashboard, once after each batch of "
    "connection refreshes (the `after_batch` automation condition).",
)
