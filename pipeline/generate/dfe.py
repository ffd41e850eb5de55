"""The real DfE "Education, health and care plans" release (reporting year 2025): committed subset and drop zone.

Not synthetic: these are the Department for Education's published figures (Open Government Licence v3.0), kept in
``reference/dfe_ehcp_2025/`` so a fresh clone works without the full download.

* ``copy_dfe_release(out_dir)`` copies the committed files, byte for byte, into ``out_dir/dfe/ehcp_2025/``: the
  drop zone the DfE ingest (pipeline/sources/dfe.py) reads. The demo calls it next to the census generator.
* ``cut_release_subset(published_dir, out_dir)`` is how the committed subset was made from the full published
  files, so it can be re-cut for a new release: the header line and every data line whose ``breakdown_topic``
  and ``breakdown`` are both the file's all-children label are kept *as the bytes they are* (BOM, CRLF, quoting
  and column order untouched); every other line is dropped. Run it with
  ``python -m pipeline.generate.dfe cut <published_dir> [<out_dir>]``.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

from pipeline.settings import REPO_ROOT

RELEASE = "ehcp_2025"
REFERENCE_DIR = REPO_ROOT / "reference" / "dfe_ehcp_2025"
DROP_ZONE = Path("dfe") / RELEASE

# File stem -> the breakdown_topic (= breakdown) label of its all-children rows: the only rows committed.
SUBSET_TOTALS: dict[str, str] = {
    "caseload": "All EHC plans",
    "sen_needs_all_plans": "All EHC plans",
    "newplans": "New EHC plans",
    "sen_need_newplans": "All EHC plans",
    "requests": "All requests for EHC needs assessments",
    "assessments": "All EHC needs assessments",
    "timeliness_20_week": "All EHC plans issued",
}
BOM = b"\xef\xbb\xbf"


class SubsetError(RuntimeError):
    """A published file that does not have the layout the byte-preserving cut relies on."""


def cut_lines(data: bytes, total: str, file_name: str = "file") -> bytes:
    """Keep the header line and the data lines whose breakdown_topic and breakdown are ``total``, byte for byte."""
    if not data.startswith(BOM):
        raise SubsetError(f"{file_name}: no UTF-8 byte-order mark (not the published bytes)")
    lines = data.splitlines(keepends=True)
    if not lines or not all(line.endswith(b"\r\n") for line in lines):
        raise SubsetError(f"{file_name}: every line must end in CRLF as published")
    header = next(csv.reader([lines[0][len(BOM) :].decode("utf-8")]))
    try:
        topic_at, breakdown_at = header.index("breakdown_topic"), header.index("breakdown")
    except ValueError:
        raise SubsetError(f"{file_name}: header has no breakdown_topic/breakdown columns") from None
    kept = [lines[0]]
    for number, line in enumerate(lines[1:], start=2):
        fields = next(csv.reader([line.decode("utf-8")]))
        if len(fields) != len(header):  # a quoted line break would split a record: refuse rather than cut it
            raise SubsetError(f"{file_name}: row {number} has {len(fields)} fields, the header {len(header)}")
        if fields[topic_at] == total and fields[breakdown_at] == total:
            kept.append(line)
    return b"".join(kept)


def cut_release_subset(published_dir: Path, out_dir: Path = REFERENCE_DIR) -> list[Path]:
    """Write the committed subset of every file in SUBSET_TOTALS from the full published files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, total in SUBSET_TOTALS.items():
        source = published_dir / f"{stem}.csv"
        target = out_dir / f"{stem}.csv"
        target.write_bytes(cut_lines(source.read_bytes(), total, source.name))
        written.append(target)
    return written


def copy_dfe_release(out_dir: Path) -> list[Path]:
    """Copy the committed release files byte for byte into ``out_dir/dfe/ehcp_2025/``; return the paths written."""
    sources = [REFERENCE_DIR / f"{stem}.csv" for stem in SUBSET_TOTALS]
    missing = [p.name for p in sources if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{REFERENCE_DIR}: committed DfE file(s) missing: {', '.join(missing)}")
    target_dir = Path(out_dir) / DROP_ZONE
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        target = target_dir / source.name
        shutil.copyfile(source, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.generate.dfe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cut = sub.add_parser("cut", help="re-cut the committed subset from the full published files")
    cut.add_argument("published_dir", type=Path)
    cut.add_argument("out_dir", type=Path, nargs="?", default=REFERENCE_DIR)
    copy = sub.add_parser("copy", help="copy the committed subset into <out>/dfe/ehcp_2025/")
    copy.add_argument("--out", type=Path, default=Path("raw"))
    args = parser.parse_args(argv)
    paths = (
        cut_release_subset(args.published_dir, args.out_dir) if args.command == "cut" else copy_dfe_release(args.out)
    )
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
