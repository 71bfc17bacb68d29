"""``python -m brainalign.cli`` (e.g. under ``accelerate launch``)."""

from brainalign.cli import main

main()
