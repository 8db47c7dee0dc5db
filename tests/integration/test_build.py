"""The build itself, as `make` plans it (dry runs only: nothing is built or installed
here): a parallel build fetches the front-end packages once (issue 12: `make -j2` ran
`npm ci` twice at once, one per uPlot file, and the two raced in node_modules)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import ROOT, check, main, test  # noqa: E402


def planned_npm_runs(jobs):
    """How many `npm ci` a build with -jJOBS would run when package.json changed."""
    out = subprocess.run(["make", "-n", "-W", "package.json", f"-j{jobs}",
                          "O=obj-dryrun", "B=bin-dryrun", "all"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    check(out.returncode == 0, out.stderr[-2000:])
    return sum(1 for line in out.stdout.splitlines() if line.strip().startswith("npm ci"))


@test
def test_parallel_build_runs_npm_ci_once():
    for jobs in (1, 2, 4):
        n = planned_npm_runs(jobs)
        check(n == 1, f"make -j{jobs} plans `npm ci` {n} times, want once")


if __name__ == "__main__":
    main()
