"""The markdown and JSON report of ``benchmarks/text_to_image_digits.py``."""

from __future__ import annotations

import json
import time
from pathlib import Path


def write_report(rows: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "text_to_image_digits.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# Text-to-image and StackGAN on scikit-learn's digits (16x16), scored on the 297 "
        "test digits",
        "",
        f"`python -m benchmarks.text_to_image_digits` on {time.strftime('%Y-%m-%d')}, this "
        "2-core CPU. One image per test digit's caption (its label, measured thickness and "
        "slant; `gensys.data.captions`), fresh noise. Agreement: the digits classifier names "
        "the caption's digit (class), the image measures as thick / thin / unnamed "
        "(thickness) and backslanted / upright / slanted (slant) as asked. `real`: the test "
        "digits themselves against their own captions (the classifier's ceiling); `chance`: "
        "the test digits against a random permutation of the captions.",
        "",
        "| model | steps | train s | template | class | thickness | slant |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        seconds = f"{row['train_seconds']:.0f}" if row.get("train_seconds") else "-"
        for template, a in row["by_template"].items():
            lines.append(
                f"| {name} | {row['steps']:,} | {seconds} | {template} "
                f"| {a['class']:.3f} | {a['thickness']:.3f} | {a['slant']:.3f} |"
            )
        if "stage1" in row:
            a = row["stage1"]
            lines.append(
                f"| {name}, stage I (8x8) | | | 0 | {a['class']:.3f} | {a['thickness']:.3f} "
                f"| {a['slant']:.3f} |"
            )
    first = next(iter(rows.values()))
    for label in ("real", "chance"):
        a = first[label]
        lines.append(
            f"| {label} | | | | {a['class']:.3f} | {a['thickness']:.3f} | {a['slant']:.3f} |"
        )
    lines += [
        "",
        'Response to the words, digit kept: mean ink fraction of images for "thick" minus '
        '"thin" captions (slant kept), mean shear for "slanted" minus "backslanted" '
        "(thickness kept); `real`: the same difference between the test digits of those "
        "classes. Sample quality of template 0's images against the test digits (classifier "
        "features), beside 297 training digits scored the same way (KID is in the JSON: "
        "at 297 images on these features it moves more between draws of real digits than "
        "between models).",
        "",
        "| model | d ink | d ink real | d shear | d shear real | FD | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        r, q = row["response"], row["quality"]
        lines.append(
            f"| {name} | {r['d_ink']:.3f} | {r['d_ink_real']:.3f} | {r['d_shear']:.3f} "
            f"| {r['d_shear_real']:.3f} | {q['frechet']:.2f} | {q['precision']:.3f} "
            f"| {q['recall']:.3f} |"
        )
    q = first["quality_real"]
    lines.append(
        f"| 297 training digits | | | | | {q['frechet']:.2f} | {q['precision']:.3f} "
        f"| {q['recall']:.3f} |"
    )
    lines += ["", "Grids (`text_to_image_digits/<config>/`):", ""]
    for name, row in rows.items():
        pictures = ["captions", "interpolations"] + (["stages"] if "stage1" in row else [])
        for picture in pictures:
            lines.append(f"![{name} {picture}](text_to_image_digits/{name}/{picture}.png)")
    lines.append("")
    (out_dir / "text_to_image_digits.md").write_text("\n".join(lines))
