"""The daily marts' metric columns are generated from the one catalogue and kept up to date."""

from connectors.polar.catalogue import METRIC_SLUGS
from orchestration.defs.dbt import codegen as dbt_codegen


def test_generated_daily_marts_yaml_is_up_to_date_with_the_catalogue() -> None:
    assert dbt_codegen.main(["--check"]) == 0


def test_generated_yaml_declares_one_typed_column_per_catalogue_slug() -> None:
    text = dbt_codegen.daily_marts_yaml()
    for slug in METRIC_SLUGS:
        assert text.count(f"metric_slug: {slug}\n") == 2, slug  # daily and daily_all


def test_catalogue_seed_is_a_symlink_to_the_one_catalogue_file() -> None:
    seed = dbt_codegen.DBT_PROJECT_DIR / "seeds" / "polar_metric_catalogue.csv"
    assert seed.is_symlink()
    assert seed.resolve() == (
        dbt_codegen.DBT_PROJECT_DIR.parent / "connectors/polar/metric_catalogue.csv"
    )
