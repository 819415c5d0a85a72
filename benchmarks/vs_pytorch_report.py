"""The report of ``benchmarks/vs_pytorch.py``: its results as JSON and a Markdown table."""

from __future__ import annotations

import json
from pathlib import Path

# Goals: gensys's time over PyTorch's in one interleaved run, and the first training
# step's compile (tracing and lowering included, no persistent cache) in seconds.
TARGETS = {"train_step": 1.0, "ddim50": 0.8, "dpmpp20": 0.8}
COMPILE_TARGET_S = 10.0


def write_report(results: dict, stem: Path, batch: int, image: tuple[int, int, int]) -> None:
    """Writes ``<stem>.json`` and ``<stem>.md``."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    g, p = results["sides"]["gensys"], results["sides"]["pytorch"]
    m = results["machine"]
    lines = [
        "# gensys against PyTorch diffusers on one machine",
        "",
        f"Measured by `{results['command']}` on {results['date']}.",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['platform']}",
        f"- gensys: {g['framework']}, backend {g['backend']}, {g['devices']} device(s) "
        f"({g['device_kind']}), XLA_FLAGS `{g['xla_flags']}`",
        f"- PyTorch: {p['framework']}, {p['threads']} intra-op threads",
        f"- Matched DDPM UNet: {g['parameters']:,} parameters in gensys, "
        f"{p['parameters']:,} in diffusers; batch {batch}, "
        f"{image[0]}x{image[1]}x{image[2]}, float32",
        f"- Interleaved rounds: training step {results['rounds']['train_step']} of "
        f"{results['reps']['train_step']} steps a side, samplers {results['rounds']['samplers']} "
        "of one call a side; medians of all calls"
        + (
            f"; each block after a {results['settle_s']:g} s pause and "
            f"{results['warmup_calls']} untimed call(s)"
            if "settle_s" in results
            else ""
        ),
        f"- Arithmetic bound: XLA's operation count of the call divided by the measured "
        f"float32 matrix-product rate of this machine ({g['matmul_gflops']:.0f} GFLOP/s through "
        "XLA, rows split over the devices as the batch is); both sides do the same operations",
        "",
        "| workload | gensys median s | PyTorch median s | ratio | target | GFLOP a call "
        "| bound s | gensys first call s | PyTorch first call s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["paired"].items():
        target = TARGETS.get(name)
        verdict = "-" if target is None else (
            f"<= {target} ({'met' if r['ratio'] <= target else 'missed'})"
        )  # fmt: skip
        gflop = r["gensys"]["flops"] / 1e9
        lines.append(
            f"| {name} | {r['gensys']['median_s']:.3f} | {r['pytorch']['median_s']:.3f} "
            f"| {r['ratio']:.2f} | {verdict} | {gflop:,.1f} | {gflop / g['matmul_gflops']:.3f} "
            f"| {r['gensys']['first_call_s']:.1f} | {r['pytorch']['first_call_s']:.1f} |"
        )
    compile_s = results["paired"].get("train_step", {}).get("gensys", {}).get("compile_s")
    if compile_s is not None:
        verdict = "met" if compile_s <= COMPILE_TARGET_S else "missed"
        lines += [
            "",
            f"Compile of gensys's first training step (tracing, lowering and XLA, no "
            f"persistent cache): {compile_s:.1f} s, goal <= {COMPILE_TARGET_S:.0f} s ({verdict}).",
        ]
    if results.get("unet_calls"):
        lines += ["", "## One UNet call by batch size (a sampler's step)", "",
                  "| batch | gensys median s | PyTorch median s | ratio | gensys images/s "
                  "| PyTorch images/s | GFLOP a call | bound s |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for batch, r in results["unet_calls"].items():
            gs, ps = r["gensys"]["median_s"], r["pytorch"]["median_s"]
            gflop = r["gensys"]["flops"] / 1e9
            lines.append(
                f"| {batch} | {gs:.3f} | {ps:.3f} | {r['ratio']:.2f} | {int(batch) / gs:,.0f} "
                f"| {int(batch) / ps:,.0f} | {gflop:,.1f} | {gflop / g['matmul_gflops']:.3f} |"
            )
    if results["gensys_only"]:
        lines += ["", "## gensys alone", "",
                  "| workload | median s a call | per second | first call s |",
                  "|---|---|---|---|"]  # fmt: skip
        for name, r in results["gensys_only"].items():
            per = r.get("items", batch) / r["median_s"]
            unit = "steps" if name == "cifar_unet" else "samples"
            lines.append(
                f"| {name} | {r['median_s']:.3f} | {per:,.1f} {unit} | {r['first_call_s']:.1f} |"
            )
    lines.append("")
    stem.with_suffix(".md").write_text("\n".join(lines))
