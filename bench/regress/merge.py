"""``python -m bench merge DIR... --out DIR``: join the shard folders of one run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bench.errors import UsageError
from bench.meta import MUST_AGREE
from bench.results import ResultsWriter, duplicate_case, read_results, read_run_meta
from bench.schema import atomic_write


def merge(folders: list[Path], out: Path, overwrite: bool = False) -> int:
    """Concatenate the shards' results (and ``rounds.csv``) into ``out`` after checking that
    their ``meta.json`` agree on device, versions, host, threads, precision, profile and
    rounds (``MUST_AGREE``). Raises ``UsageError`` naming the first disagreement, an
    unreadable ``meta.json``, a case measured by two shards, or an ``out`` that already holds
    a run (unless ``overwrite``: then it is replaced, even when it is one of ``folders``),
    cannot be written or is in use (``bench.results.ResultsWriter``); ``out`` is untouched
    then."""
    metas = [read_run_meta(f) for f in folders]
    for key in MUST_AGREE:
        values = {json.dumps(m.get(key), sort_keys=True) for m in metas}
        if len(values) > 1:
            raise UsageError(f"cannot merge runs with different {key}: {', '.join(sorted(values))}")
    df = pd.concat([read_results(f) for f in folders], ignore_index=True)
    dup = duplicate_case(df)
    if dup is not None:
        raise UsageError(f"case measured twice: {dup}")
    meta = {**metas[0], "merged_from": [m.get("run_id") for m in metas],
            "shards": [m.get("shard") for m in metas],
            "warnings": list(dict.fromkeys(w for m in metas for w in m.get("warnings", [])))}
    df["run_id"] = meta["run_id"]
    rounds = [pd.read_csv(f / "rounds.csv") for f in folders if (f / "rounds.csv").exists()]
    with ResultsWriter(out, overwrite=overwrite) as writer:
        writer.write_meta(meta)
        writer.add_many(df.to_dict("records"))
        if rounds:  # the raw rounds of every shard (bench.rounds), read before out was cleared
            merged = pd.concat(rounds, ignore_index=True).assign(run_id=meta["run_id"])
            atomic_write(out / "rounds.csv", lambda p: merged.to_csv(p, index=False))
    print(f"merged {len(folders)} folders, {len(df)} cases, into {out}")
    return 0
