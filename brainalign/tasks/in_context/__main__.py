"""``python -m brainalign.tasks.in_context CONFIG OUT [key=value ...]``: run an in-context config (until
``brainalign score`` dispatches ``task: in_context``); overrides as ``--set`` takes them."""

from __future__ import annotations

import logging
import sys


def main(argv: list[str] | None = None) -> int:
    from brainalign.config.in_context import InContextConfig
    from brainalign.config.loading import read_raw_config, validate_config
    from brainalign.errors import BrainAlignError
    from brainalign.tasks.in_context import run
    from brainalign.tasks.in_context.report_text import curve_text

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m brainalign.tasks.in_context CONFIG OUT [key=value ...]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        raw, source = read_raw_config(args[0], args[2:])
        print(curve_text(run(validate_config(InContextConfig, raw, source), args[1], progress=False)))
    except BrainAlignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
