"""The README says what the program does (issue 12: its scenario-error example differed
from the real message). Each example of program output that the README shows verbatim
is produced here by the real binary and compared line by line."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import BIN, ROOT, check, main, test  # noqa: E402


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


@test
def test_scenario_error_example_is_the_real_message():
    text = readme()
    m = re.search(r"^    (configs/x\.yaml:2:1: error: [^\n]*)\n    (  hint: [^\n]*)$", text, re.M)
    check(m is not None, "the README's scenario-error example (configs/x.yaml:2:1) is missing")
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "configs"))
        with open(os.path.join(d, "configs", "x.yaml"), "w") as f:
            f.write("name: x\ntaget: http://127.0.0.1:8000\nload:\n"
                    "  stages: [ { duration: 1s, users: 1 } ]\nusers:\n"
                    "  - name: a\n    flow: [ { http: { url: / } } ]\n")
        out = subprocess.run([os.path.join(BIN, "stampede"), "validate", "configs/x.yaml"],
                             cwd=d, capture_output=True, text=True, timeout=30)
    check(out.returncode == 2, f"exit {out.returncode}")
    got = [line for line in out.stderr.splitlines() if line.strip()]
    want = [m.group(1), m.group(2)]
    check(got[:2] == want, f"README shows {want!r}, the program says {got!r}")


@test
def test_steps_table_is_one_table():
    text = readme()
    i = text.index("Steps (each a one-key map):")
    block = text[i:text.index("\n\n", text.index("| step | keys |", i) + 1)]
    kinds = re.findall(r"^\| `(\w+)` \|", block, re.M)
    check(kinds == ["http", "think", "loop", "group", "pick", "if", "ws"],
          f"the steps table holds {kinds}")


if __name__ == "__main__":
    main()
