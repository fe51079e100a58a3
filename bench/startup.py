"""How long `trashscan --help` takes (the core must not import provider SDKs at start-up).

Usage: python bench/startup.py [runs]   (run from the project's venv)
Reports the median and best wall time of `trashscan --help` in a fresh process, next to a bare
`python -c pass`, so the interpreter's own start-up can be subtracted.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

# What a user runs has compiled bytecode: without this a PYTHONDONTWRITEBYTECODE in the
# environment would time the compilation of trashscan's sources on every run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(argv: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=ENV)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    bare = timed([sys.executable, "-c", "pass"], runs)
    help_ = timed([sys.executable, "-m", "trashscan", "--help"], runs)
    for label, samples in (("python -c pass", bare), ("trashscan --help", help_)):
        print(
            f"{label:<18} median {statistics.median(samples) * 1000:6.1f} ms"
            f"   best {min(samples) * 1000:6.1f} ms   ({runs} runs)"
        )


if __name__ == "__main__":
    main()
