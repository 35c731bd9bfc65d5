"""Grouped K-fold cross-validation of a story clustering: the core now lives in
pipeline/analytics/cv.py (what `news-ingest eval-dedup --cv K` runs); this module re-exports
it for the bench scripts and adds their plain-text table and JSON output.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from pipeline.analytics.cv import (  # noqa: F401  (re-exported for the bench scripts)
    SUBSET_ORDER,
    Clustering,
    CVResult,
    Dataset,
    Method,
    best_threshold,
    component_folds,
    cross_validate,
    load_dataset,
    pair_components,
)


def print_table(results: Sequence[CVResult], subsets: Sequence[str] = SUBSET_ORDER) -> None:
    """One block per subset: each method's mean±std of the fold F1s and the pooled P/R/F1."""
    width = max(len(r.name) for r in results)
    for subset in subsets:
        print(f"  [{subset}]")
        for result in results:
            if result.f1s(subset):
                print(f"    {result.name:{width}s}  {result.row(subset)}")


def to_json(results: Sequence[CVResult]) -> str:
    return json.dumps(
        {
            r.name: {
                s: {
                    "f1_mean": round(float(np.mean(r.f1s(s))), 4),
                    "f1_std": round(float(np.std(r.f1s(s))), 4),
                    "pooled_precision": round(r.pooled(s).precision, 4),
                    "pooled_recall": round(r.pooled(s).recall, 4),
                    "pooled_f1": round(r.pooled(s).f1, 4),
                }
                for s in SUBSET_ORDER
                if r.f1s(s)
            }
            for r in results
        },
        indent=1,
    )
