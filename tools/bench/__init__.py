"""``make bench``: the whole pipeline under load, with a database ceiling to compare it with.

``python -m tools.bench`` starts the stack (embedded PostgreSQL, mock Kafka, every process on free
ports) or uses a running one (BENCH_GATEWAY_URL, BENCH_SANDBOX_URL, BENCH_DATABASE_URL), files N
synthetic cases of the three benefits on every channel, signs what waits for a specialist, waits until
every case is final, and writes the figures to ``bench/results/<UTC timestamp>.json`` and a table to
the terminal. docs/performance.md explains each figure.

The core (``run_bench``) is also used by tests/e2e/test_bench_smoke.py against the e2e stack.
"""

from tools.bench.driver import BenchConfig, Target, run_bench
from tools.bench.report import KEYS

__all__ = ["BenchConfig", "KEYS", "Target", "run_bench"]
