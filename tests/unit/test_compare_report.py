"""The comparison report's pieces on made-up runs: the table has a row per run beside the
real-data floor, every likelihood states its accounting, and the pictures are written."""

import json

import numpy as np

from benchmarks.compare import count_parameters, training_curves
from benchmarks.compare_report import render, save_curves

SCORES = dict(frechet=3.5, kid=0.01, kid_std=0.002, inception_score=8.1,
              inception_score_std=0.1, precision=0.9, recall=0.8)  # fmt: skip


def _run(config, family, nll, accounting):
    return dict(config=config, family=family, steps=10, num_steps=20, train_seconds=1.5,
                params=1234, nll_nats=nll, bpd=None if nll is None else nll / 44.36,
                accounting=accounting, samples_per_second=99.0,
                curves={"train/loss": [(1, 2.0), (2, 1.0)]}, **SCORES)  # fmt: skip


def test_report_rows_floor_and_accounting(tmp_path):
    runs = [_run("flow_x", "flow", 90.0, "bound A"), _run("gan_x", "gan", None, "none B")]
    runs[1]["critic_params"] = 77
    header = dict(dataset="digits", train="train (1,500)", held_out="test (297)",
                  num_samples=297, budget_seconds=5, features="f", machine="m")  # fmt: skip
    text = render(runs, SCORES, header)
    assert "| real held-out data | - |" in text
    assert (
        "| flow_x | flow | 10 (20) | 2 | 1,234 | 90.00 | 2.029 | 3.50 | 0.0100 ± 0.0020 |" in text
    )
    assert "| gan_x | gan | 10 (20) | 2 | 1,234 (77) | - | - |" in text
    assert "- flow_x: bound A" in text and "- gan_x: none B" in text
    save_curves(runs, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_training_curves_and_parameter_counts(tmp_path):
    lines = [{"step": 50, "train/loss": 3.0, "train/bpd": 2.0}, {"step": 60, "eval/bpd": 1.9}]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    assert training_curves(tmp_path) == {"train/bpd": [(50, 2.0)]}

    class Players:
        generator = {"params": {"w": np.zeros((3, 4))}}
        discriminator = {"params": {"w": np.zeros(5)}}

    class Gan:  # a GAN state holds its two players
        players = Players()

    assert count_parameters(Gan()) == {"params": 12, "critic_params": 5}
