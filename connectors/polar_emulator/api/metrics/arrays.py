"""Counting helpers over event times: flows per bucket and states at instants."""

import numpy as np


def bucket_index(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bucket of each time (-1 outside `edges[0]` .. `edges[-1]`)."""
    index = np.searchsorted(edges, times, "right") - 1
    return np.where((index >= 0) & (index < edges.size - 1), index, -1)


def flow(
    times: np.ndarray, edges: np.ndarray, now: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Per-bucket count (or weighted sum) of events that happened by `now`."""
    index = bucket_index(times, edges)
    valid = (index >= 0) & (times <= now)
    chosen = None if weights is None else weights[valid]
    return np.bincount(index[valid], weights=chosen, minlength=edges.size - 1)


def open_at(
    begin: np.ndarray, end: np.ndarray, instants: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """For each instant T: count (or weighted sum) of items with begin < T <= end."""
    closed = np.maximum(begin, end)  # begin < T and end < T  <=>  max(begin, end) < T
    if weights is None:
        return np.searchsorted(np.sort(begin), instants, "left") - np.searchsorted(
            np.sort(closed), instants, "left"
        )
    return _weighted_before(begin, weights, instants) - _weighted_before(closed, weights, instants)


def _weighted_before(times: np.ndarray, weights: np.ndarray, instants: np.ndarray) -> np.ndarray:
    order = np.argsort(times, kind="stable")
    running = np.concatenate([[0.0], np.cumsum(weights[order])])
    return running[np.searchsorted(times[order], instants, "left")]


def count_before(times: np.ndarray, instants: np.ndarray) -> np.ndarray:
    """For each instant T: how many times are < T."""
    return np.searchsorted(np.sort(times), instants, "left")


def distinct_per_bucket(index: np.ndarray, keys: np.ndarray, buckets: int) -> np.ndarray:
    """Number of distinct keys per bucket (rows with index -1 ignored)."""
    valid = index >= 0
    pairs = np.unique(index[valid].astype(np.int64) * (1 << 32) + keys[valid].astype(np.int64))
    return np.bincount(pairs >> 32, minlength=buckets)
