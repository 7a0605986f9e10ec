"""``python -m bench merge DIR... --out DIR``: join the shard folders of one run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bench.errors import UsageError
from bench.results import ResultsWriter, duplicate_case, read_results, read_run_meta

MUST_AGREE = ("device", "python", "torch", "torchvision", "jax", "host_cpu", "threads",
              "precision", "profile")


def merge(folders: list[Path], out: Path) -> int:
    """Concatenate the shards' results into ``out`` after checking that their ``meta.json``
    agree on device, versions, host, threads, precision and profile. Raises ``UsageError``
    naming the first disagreement, an unreadable ``meta.json``, or a case measured by two
    shards."""
    metas = [read_run_meta(f) for f in folders]
    for key in MUST_AGREE:
        values = {json.dumps(m.get(key), sort_keys=True) for m in metas}
        if len(values) > 1:
            raise UsageError(f"cannot merge runs with different {key}: {', '.join(sorted(values))}")
    df = pd.concat([read_results(f) for f in folders], ignore_index=True)
    dup = duplicate_case(df)
    if dup is not None:
        raise UsageError(f"case measured twice: {dup}")
    writer = ResultsWriter(out)
    meta = {**metas[0], "merged_from": [m.get("run_id") for m in metas],
            "shards": [m.get("shard") for m in metas],
            "warnings": list(dict.fromkeys(w for m in metas for w in m.get("warnings", [])))}
    df["run_id"] = meta["run_id"]
    writer.write_meta(meta)
    writer.add_many(df.to_dict("records"))
    print(f"merged {len(folders)} folders, {len(df)} cases, into {out}")
    return 0
