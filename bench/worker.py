"""``python -m bench.worker SPEC.json``: measure one case in this fresh process and write its
row (and the warnings met) as JSON to the path the spec names. Spawned by ``bench.isolate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import bench  # noqa: F401  (quiets torch's CUDA_HOME warning before torch loads)
from bench.case import Case, RunConfig
from bench.plant import maybe_sleep
from bench.runner import References, first_call_s, run_case


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    case, cfg = Case(**spec["case"]), RunConfig.from_json(spec["run"])
    maybe_sleep(case.label)
    import torch

    from bench.precision import apply_precision

    torch.set_num_threads(cfg.threads)
    apply_precision(cfg.tf32)
    if spec.get("warm"):
        result = {"first_call_s": first_call_s(case, cfg)}
    else:
        row, warns = run_case(case, cfg, References(Path(spec["references"])))
        result = {"row": row, "warnings": warns}
    Path(spec["result"]).write_text(json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
