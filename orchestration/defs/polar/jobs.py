"""Jobs: the full refresh (raw + dbt + outputs), the recent-days refresh, a custom range."""

from datetime import date

import dagster as dg
from pydantic import Field

from connectors.polar.errors import PolarError
from orchestration.defs.common.pools import WAREHOUSE_POOL
from orchestration.defs.polar.resources import PolarResource
from orchestration.extract.custom_range import CustomRangeAnswer, answer_custom_range

# Every asset: raw Polar tables, the dbt marts and the outputs (whatever is defined).
polar_refresh_job = dg.define_asset_job(
    "polar_refresh_job",
    selection=dg.AssetSelection.all(),
    description="Refresh everything: Polar raw tables, then dbt marts, then dashboard and alerts.",
)

# The entity syncs re-read a 35-day look-back of orders: once a day, not every hour.
ENTITY_ASSET_NAMES = tuple(
    f"polar_{entity}" for entity in ("products", "customers", "subscriptions", "refunds", "orders")
)

polar_recent_refresh_job = dg.define_asset_job(
    "polar_recent_refresh_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*ENTITY_ASSET_NAMES),
    config={"ops": {"polar_metrics_daily": {"config": {"recent_only": True}}}},
    description="Refresh yesterday's and today's metrics only (the hourly 'today' schedule), then "
    "downstream; the entity syncs run with the daily refresh.",
)


# After `disconnect`: the marts, serving copy and dashboard rebuilt from what is stored, so they
# show the connection as disconnected (no call to Polar: the tokens are gone).
polar_downstream_job = dg.define_asset_job(
    "polar_downstream_job",
    selection=dg.AssetSelection.groups("polar_marts", "polar_outputs"),
    description="Rebuild the dbt marts and the outputs from the stored raw tables only.",
)


# `refresh --all`: every connection's raw tables first, then the downstream job once for all of
# them (one dbt build of N connections' rows costs about what one costs; N builds cost N times).
RAW_GROUP = "polar_raw"
# In one process: the raw steps share the one writer pool and run one after another anyway; a
# process per step only adds its start-up (measured: ~30 s per step on a loaded 2-core host).
polar_raw_refresh_job = dg.define_asset_job(
    "polar_raw_refresh_job",
    selection=dg.AssetSelection.groups(RAW_GROUP),
    executor_def=dg.in_process_executor,
    description="One connection's Polar raw tables (organizations, metrics, entities) only; the "
    "daily schedule runs it per connection partition, the dbt marts follow once per batch.",
)
polar_raw_recent_job = dg.define_asset_job(
    "polar_raw_recent_job",
    selection=dg.AssetSelection.groups(RAW_GROUP) - dg.AssetSelection.assets(*ENTITY_ASSET_NAMES),
    executor_def=dg.in_process_executor,
    config={"ops": {"polar_metrics_daily": {"config": {"recent_only": True}}}},
    description="One connection's metrics of yesterday and today only (the hourly schedule, per "
    "connection partition).",
)


class CustomRangeConfig(dg.Config):
    """A custom date range, from 2023-01-01, at most 90 days, not in the future."""

    start: str = Field(description="First day, YYYY-MM-DD.")
    end: str = Field(description="Last day (included), YYYY-MM-DD.")
    connection: str | None = Field(
        default=None, description="Connection to answer for (default: the resource's)."
    )


def parse_day(value: str, name: str) -> date:
    """An ISO date or a clear failure naming the field."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise dg.Failure(description=f"{name}={value!r} is not a date: use YYYY-MM-DD.") from None


# A reader too: DuckDB will not open the file read-only while another process writes it.
@dg.op(
    pool=WAREHOUSE_POOL,
    description="Answer a custom range from DuckDB (in window) or Polar (outside).",
)
def polar_custom_range(
    context: dg.OpExecutionContext, config: CustomRangeConfig, polar: PolarResource
) -> dg.Output[dict[str, dict[str, float]]]:
    """Totals per scope for the range; the source (warehouse or api) in metadata."""
    start, end = parse_day(config.start, "start"), parse_day(config.end, "end")
    try:
        connection = config.connection or polar.connection_name
        answer = answer_custom_range(polar.settings(), connection, start, end)
    except PolarError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    for scope, error in answer.errors.items():
        context.log.error(f"{answer.labels.get(scope, scope)} failed: {error}")
    context.log.info(f"{start}..{end} answered from the {answer.source}")
    return dg.Output(answer.totals, metadata=custom_range_metadata(answer))


def custom_range_metadata(answer: CustomRangeAnswer) -> dict[str, object]:
    """Source, range and a Markdown table of headline totals per scope."""
    headline = ("revenue", "net_revenue", "orders", "monthly_recurring_revenue")
    lines = ["| scope | " + " | ".join(headline) + " |", "|---" * (len(headline) + 1) + "|"]
    for scope, totals in answer.totals.items():
        values = " | ".join(f"{totals.get(slug, 0):g}" for slug in headline)
        lines.append(f"| {answer.labels.get(scope, scope)} | {values} |")
    return {
        "source": answer.source,
        "range": f"{answer.start}..{answer.end}",
        "totals": dg.MetadataValue.md("\n".join(lines)),
        "errors": dg.MetadataValue.json(answer.errors),
    }


@dg.job(description="A custom date range (run config start/end), not written to the cache.")
def polar_custom_range_job() -> None:
    """Run `polar_custom_range` once."""
    polar_custom_range()
