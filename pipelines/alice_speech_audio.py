"""Write the Alice listening data (data mirror ``alice2022/``) as a run table with synthetic speech of its transcript.

    python pipelines/alice_speech_audio.py --out runs/alice_speech      # then:
    brainalign score -c pipelines/configs/alice_speech.yaml -o results/alice_speech

The recording the participants heard is not in the mirror. espeak-ng (``apt-get install espeak-ng``) speaks each
transcript word alone, fitted into the word's Whisper interval (:mod:`brainalign.data.speech_synthesis`), on a
16 kHz WAV from story time 0. Scoring speech models on it tests the speech path of the time-series task end to end;
it says nothing about how the brain heard the real story (robot voice, no prosody, word timing imposed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from brainalign.data.loaders.alice2022 import load_alice2022
from brainalign.data.speech_synthesis import SPEED, speech_run_table


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/alice_speech"),
                        help="folder of the run table (replaced whole; default runs/alice_speech)")
    parser.add_argument("--mirror", type=Path, default=None, help="data mirror (default $BRAINALIGN_DATA_MIRROR)")
    parser.add_argument("--late-words", choices=("keep", "drop"), default="keep",
                        help="the 16 transcript words after 260 s (see brainalign.data.loaders.alice2022)")
    parser.add_argument("--voice", default="en-us", help="espeak-ng voice (espeak-ng --voices)")
    parser.add_argument("--speed", type=int, default=SPEED, help=f"words per minute (default {SPEED})")
    parser.add_argument("--jobs", type=int, default=2, help="espeak-ng processes at once")
    args = parser.parse_args(argv)
    ds = load_alice2022(args.mirror, late_words=args.late_words)
    table = speech_run_table(ds, args.out, voice=args.voice, speed=args.speed, jobs=args.jobs)
    meta = json.loads((args.out / "alice.wav.json").read_text())
    print(f"{table}: {len(ds.runs)} runs; alice.wav {meta['duration_s']:.1f} s, {meta['n_spoken']} of "
          f"{meta['n_words']} words spoken, {meta['n_compressed']} compressed to fit ({meta['espeak']})")
    return table


if __name__ == "__main__":
    main()
