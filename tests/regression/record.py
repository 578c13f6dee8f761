"""Re-record ``golden.json`` (only for a change meant to alter behaviour; say why in the commit).

    .venv/bin/python -m tests.regression.record
"""

from __future__ import annotations

import json

from tests.regression.cases import GOLDEN, cases, fingerprint


def main() -> None:
    data = {c["name"]: fingerprint(c) for c in cases()}
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(data)} cases in {GOLDEN}")


if __name__ == "__main__":
    main()
