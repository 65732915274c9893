"""The raw entity tables: one declaration per table gives its DDL and how each typed column is
read from the stored JSON item (in SQL, with `try_cast`: a missing or odd field is null, never an
error). Standard library only.

Every table is keyed by (connection_name, id), carries organization_id (the organization the
sync listed it for), the typed columns dbt uses, `fetched_at` (when a sync last listed it)
and `item` (the whole JSON object as Polar sent it, after the PII policy).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A typed column: its name, DuckDB type and JSON path in the item (None = not from it)."""

    name: str
    sql_type: str
    path: str | None = None

    def select_expression(self, extracted: str) -> str:
        """The SQL typing `extracted`, this column's string read from the item at `path` (null if
        absent or unreadable; always null without a path)."""
        if self.path is None:
            return f"cast(null as {self.sql_type})"
        if self.sql_type == "varchar":
            return extracted
        return f"try_cast({extracted} as {self.sql_type})"


def _c(name: str, sql_type: str = "varchar", path: str | None = "") -> Column:
    return Column(name, sql_type, name if path == "" else path)


_TS = "timestamptz"
_COMMON = (_c("created_at", _TS), _c("modified_at", _TS))


@dataclass(frozen=True)
class EntityTable:
    """One raw entity table."""

    entity: str
    columns: tuple[Column, ...]

    @property
    def name(self) -> str:
        """Qualified table name, e.g. raw.polar_orders."""
        return f"raw.polar_{self.entity}"

    @property
    def column_names(self) -> list[str]:
        """Every column in table order."""
        names = ["connection_name", "organization_id", "id"]
        return [*names, *(c.name for c in self.columns), "fetched_at", "item"]

    def ddl(self) -> str:
        """`create table if not exists` for this table.

        No primary key: one row per (connection_name, id) is kept by the writes
        (entity_writes.upsert_items deletes a page's changed ids before inserting them, in the
        page's transaction, under the writer lock). DuckDB rewrites a table's whole key index at
        every checkpoint: at 240,000 stored orders, closing the file after a 100-order page
        took 0.16-0.21 s with the key and 0.03-0.09 s without, and `refresh --all` workers close
        it at nearly every page when they take turns, so with the key the refresh slowed as the
        warehouse grew.
        """
        typed = ", ".join(f"{c.name} {c.sql_type}" for c in self.columns)
        return (
            f"create table if not exists {self.name}(connection_name varchar, "
            f"organization_id varchar, id varchar, {typed}, fetched_at timestamptz, item json)"
        )


PRODUCTS = EntityTable(
    "products",
    (
        *_COMMON,
        _c("name"),
        _c("is_recurring", "boolean"),
        _c("is_archived", "boolean"),
        _c("visibility"),
        _c("recurring_interval"),
        _c("recurring_interval_count", "integer"),
        _c("trial_interval"),
        _c("trial_interval_count", "integer"),
        _c("price_amount_type", path="prices[0].amount_type"),
        _c("price_amount", "bigint", "prices[0].price_amount"),
        _c("price_currency", path="prices[0].price_currency"),
        _c("missing_since", _TS, None),  # no longer listed by a full sweep: deleted at Polar
    ),
)
CUSTOMERS = EntityTable(
    "customers",
    (
        *_COMMON,
        _c("external_id"),
        _c("email"),
        _c("email_verified", "boolean"),
        _c("name"),
        _c("billing_name"),
        _c("billing_country", path="billing_address.country"),
        _c("type"),
        _c("locale"),
        _c("deleted_at", _TS),
        _c("missing_since", _TS, None),  # Polar lists no deleted customer: gone since then
    ),
)
SUBSCRIPTIONS = EntityTable(
    "subscriptions",
    (
        *_COMMON,
        _c("status"),
        _c("amount", "bigint"),
        _c("currency"),
        _c("recurring_interval"),
        _c("recurring_interval_count", "integer"),
        _c("started_at", _TS),
        _c("current_period_start", _TS),
        _c("current_period_end", _TS),
        _c("trial_start", _TS),
        _c("trial_end", _TS),
        _c("cancel_at_period_end", "boolean"),
        _c("canceled_at", _TS),
        _c("ends_at", _TS),
        _c("ended_at", _TS),
        _c("customer_cancellation_reason"),
        _c("customer_id"),
        _c("product_id"),
        _c("discount_id"),
        _c("checkout_id"),
        _c("seats", "integer"),
    ),
)
ORDERS = EntityTable(
    "orders",
    (
        *_COMMON,
        _c("status"),
        _c("paid", "boolean"),
        _c("billing_reason"),
        _c("subtotal_amount", "bigint"),
        _c("discount_amount", "bigint"),
        _c("net_amount", "bigint"),
        _c("tax_amount", "bigint"),
        _c("total_amount", "bigint"),
        _c("refunded_amount", "bigint"),
        _c("refunded_tax_amount", "bigint"),
        _c("platform_fee_amount", "bigint"),
        _c("currency"),
        _c("customer_id"),
        _c("product_id"),
        _c("subscription_id"),
        _c("discount_id"),
        _c("checkout_id"),
        _c("billing_name"),
        _c("billing_country", path="billing_address.country"),
    ),
)
REFUNDS = EntityTable(
    "refunds",
    (
        *_COMMON,
        _c("status"),
        _c("reason"),
        _c("amount", "bigint"),
        _c("tax_amount", "bigint"),
        _c("currency"),
        _c("order_id"),
        _c("subscription_id"),
        _c("customer_id"),
        _c("revoke_benefits", "boolean"),
    ),
)

ENTITY_TABLES: dict[str, EntityTable] = {
    t.entity: t for t in (PRODUCTS, CUSTOMERS, SUBSCRIPTIONS, ORDERS, REFUNDS)
}

# raw.polar_entity_sync's columns after its key, in the order of SYNC_STATE_DDL (the sync
# state is written by updating these, `entity_writes.write_sync_state`).
SYNC_STATE_VALUES = (
    "cursor_at",
    "last_full_sweep_at",
    "resume",
    "last_synced_at",
    "last_status",
    "last_error",
    "last_mode",
    "rows_last_sync",
    "requests_last_sync",
    "requests_total",
    "schema_drift",
    "pii_signature",
)
SYNC_STATE_DDL = """create table if not exists raw.polar_entity_sync(
    connection_name varchar, organization_id varchar, entity varchar,
    cursor_at timestamptz, last_full_sweep_at timestamptz, resume json,
    last_synced_at timestamptz, last_status varchar, last_error varchar, last_mode varchar,
    rows_last_sync bigint, requests_last_sync bigint, requests_total bigint,
    schema_drift json, pii_signature varchar,
    primary key (connection_name, organization_id, entity))"""

ENTITY_DDL = (*(t.ddl() for t in ENTITY_TABLES.values()), SYNC_STATE_DDL)
