"""The Dagster code location: every definition under `orchestration/defs`, found by Dagster itself.

Dagster's defs-folder loading imports each module there and collects its assets, checks, jobs,
schedules, sensors and resources, so adding a module is all it takes to add definitions.
"""

from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
