"""The merged Dagster `Definitions`: the Polar source, plus dbt and outputs when they exist."""

import importlib
import logging

import dagster as dg

from orchestration.defs.polar import defs as polar_defs

log = logging.getLogger(__name__)

OPTIONAL_AREAS = ("orchestration.defs.dbt", "orchestration.defs.outputs")


def optional_defs(module_name: str) -> dg.Definitions | None:
    """An area's `defs`, or None when that area is not installed/written yet."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and module_name.startswith(error.name):
            log.info("%s is not available; its assets are left out", module_name)
            return None
        raise
    return getattr(module, "defs", None)


def build_definitions() -> dg.Definitions:
    """Polar defs merged with every optional area that imports."""
    parts = [polar_defs] + [d for d in map(optional_defs, OPTIONAL_AREAS) if d is not None]
    return dg.Definitions.merge(*parts)


defs = build_definitions()
