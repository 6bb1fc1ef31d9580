"""Where a fit's memory goes: numpy's peak per stage of ``CorrelationModel.fit`` (tracemalloc).

    .venv/bin/python bench/memstages.py 500000 100           # 500k samples x 2 modalities x 100
    PYTHONPATH=/tmp/old .venv/bin/python bench/memstages.py ...  # an older mmcorr, side by side

Each stage (the finiteness check, the preprocessor's fit, the train / validation row sets,
training, the heads) is wrapped; for each it prints the memory held when it starts and its peak, as multiples of the data
(tracemalloc sees numpy's buffers; torch tensors made with ``torch.as_tensor`` share them, but
torch's own allocations are invisible to it), and the high-water RSS so far after the stage. Also
prints the whole fit's peak RSS above the RSS before the data was made (what bench/speed.py's
growth section reports). ``PYTHONPATH`` comes first on the path, so an older checkout can be
measured with the same script.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1]))

from _common import load_average, peak_rss_mib, rss_mib

MIB = 2**20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", type=int, help="samples")
    p.add_argument("d", type=int, help="features of each of the 2 modalities")
    p.add_argument("--model", default="dccae")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--pca-dim", type=int, default=None)
    args = p.parse_args()

    from _datasets import synthetic_pair

    import mmcorr
    import mmcorr.estimator as est_mod
    from mmcorr.data.preprocess import Preprocessor
    from mmcorr.training import Trainer

    base = rss_mib()
    ds = synthetic_pair(args.n, args.d, seed=4)
    data = sum(v.nbytes for v in ds.values.values())
    stages: list[dict[str, Any]] = []

    def wrap(owner: Any, attr: str, label: str) -> None:
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def inner(*a: Any, **kw: Any) -> Any:
            held, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            out = fn(*a, **kw)
            _, peak = tracemalloc.get_traced_memory()
            stages.append(
                {
                    "stage": label,
                    "held_at_start": held / data,
                    "peak": peak / data,
                    "peak_rss_so_far_mib": peak_rss_mib() - base,
                }
            )
            return out

        setattr(owner, attr, inner)

    wrap(est_mod, "_check_dataset", "_check_dataset")
    wrap(Preprocessor, "fit", "Preprocessor.fit")
    # Since per-batch preprocessing the fit makes no whole-set transform: _preprocess returns the
    # row sets (RowBatches) that the trainer reads batch by batch.
    wrap(est_mod, "_preprocess", "_preprocess (fit + row sets)")
    wrap(Trainer, "fit", "Trainer.fit")
    wrap(est_mod, "fit_heads", "fit_heads")
    model = est_mod.CorrelationModel(
        model=args.model,
        epochs=args.epochs,
        patience=0,
        device="cpu",
        checkpoint_every=0,
        pca_dim=args.pca_dim,
    )
    tracemalloc.start()
    model.fit(ds)
    _, whole = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    params = sum(p.numel() for p in model.module_.parameters())
    out = {
        "mmcorr": str(Path(mmcorr.__file__).parent),
        "n": args.n,
        "d": args.d,
        "data_mib": data / MIB,
        "model_state_mib": params * 16 / MIB,
        "tracemalloc_peak_x_data": whole / data,
        "peak_rss_used_mib": peak_rss_mib() - base,
        "ratio_to_budget": (peak_rss_mib() - base) / (data / MIB + params * 16 / MIB),
        "stages_x_data": stages,
        "load": load_average(),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
