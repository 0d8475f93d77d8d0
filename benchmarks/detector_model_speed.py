"""Forward time of paper 000's real-frame detector (issue 17), model only, batch 1, per configuration.

Untrained weights (speed does not depend on them), RGB input already a tensor in [0, 1]; ``forward`` is the
network alone, ``predict`` adds decoding, thresholding (conf 0.25) and class-aware NMS. Medians of repeated
calls (``smartclass.metrics.speed.measure``), torch threads as given (default 2). The machine is shared, so
wall-clock figures are upper bounds when other jobs run; ``forward_cpu_ms`` (process CPU time per forward call)
is the CPU the call used (it grows under contention too: threads spin and caches are shared), and
``conv_GMACs`` the multiply-accumulates of its convolutions, a load-independent cost. The load average at the
start is recorded.

    python benchmarks/detector_model_speed.py [--threads 2] [--runs 10] [--sizes 640x360,640x384]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from smartclass.bench import print_table, write_results
from smartclass.metrics.speed import measure
from smartclass.models.detector.realframe import RealFrameConfig, RealFrameDetector

CONFIGS = {
    "default (FPN 8/16/32, CFAM+dual)": {},
    "FPN 8/16, CFAM+dual": {"strides": [8, 16]},
    "single-scale stride 32 (paper head)": {"neck": False},
    "FPN 8/16/32, no CFAM (ablation)": {"cfam": False},
}


def conv_macs(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Multiply-accumulates of the convolutions and linear layers of one forward call (attention products and
    element-wise work excluded): a cost figure that does not depend on the machine's load."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Conv2d):
            total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, torch.nn.Linear):
            total[0] += out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.inference_mode():
        model(x)
    for h in handles:
        h.remove()
    return float(total[0])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--sizes", default="640x360,640x384")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    load = os.getloadavg()[0]
    rows = []
    for name, overrides in CONFIGS.items():
        torch.manual_seed(0)
        model = RealFrameDetector(RealFrameConfig(pretrained=False, **overrides)).eval()
        params = sum(p.numel() for p in model.parameters())
        for w, h in sizes:
            x = torch.rand(1, 3, h, w)
            fwd = measure(lambda: model(x), runs=args.runs)
            with torch.inference_mode():
                c0 = time.process_time()
                for _ in range(args.runs):
                    model(x)
                cpu = (time.process_time() - c0) / args.runs
            pred = measure(lambda: model.predict(x), runs=args.runs)
            rows.append({"config": name, "size": f"{w}x{h}", "params_M": params / 1e6,
                         "conv_GMACs": conv_macs(model, x) / 1e9,
                         "forward_ms": 1000 * fwd.median_s, "forward_fps": fwd.fps, "forward_cpu_ms": 1000 * cpu,
                         "predict_ms": 1000 * pred.median_s, "predict_fps": pred.fps, "threads": fwd.threads})
    print_table(rows, title="detector model speed, batch 1")
    write_results("detector_model_speed", {"load_average_1min_at_start": load, "rows": rows})


if __name__ == "__main__":
    main()
