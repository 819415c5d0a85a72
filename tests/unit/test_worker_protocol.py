"""The benchmark workers' protocol: setup times the first call, run returns one time a call,
the report renders the committed results unchanged."""

import io
import json
import sys
from pathlib import Path

from benchmarks.vs_pytorch_report import write_report
from benchmarks.worker_protocol import serve

REPO = Path(__file__).resolve().parents[2]


def test_worker_answers_each_command(monkeypatch, capsys):
    calls = []

    def build(workload):
        return (lambda: calls.append(workload)), {"flops": 1.0}

    commands = [
        {"op": "describe"},
        {"op": "setup", "workload": "w"},
        {"op": "run", "workload": "w", "reps": 3},
        {"op": "run", "workload": "w", "reps": 2, "warmup": 1},
        {"op": "nonsense"},
        {"op": "quit"},
        {"op": "describe"},  # after quit: never read
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(json.dumps(c) + "\n" for c in commands)))
    serve(lambda: {"framework": "test"}, build)
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert answers[0] == {"framework": "test"}
    assert answers[1]["flops"] == 1.0 and answers[1]["first_call_s"] >= 0
    assert len(answers[2]["times"]) == 3 and len(answers[3]["times"]) == 2
    assert calls == ["w"] * 7  # the setup's first call, 3, then 1 untimed and 2
    assert "unknown op" in answers[4]["error"] and len(answers) == 5


def test_report_renders_the_committed_results(tmp_path):
    committed = REPO / "benchmarks" / "results" / "vs_pytorch"
    results = json.loads(committed.with_suffix(".json").read_text())
    write_report(results, tmp_path / "report", 64, (32, 32, 1))
    assert (tmp_path / "report.md").read_text() == committed.with_suffix(".md").read_text()
