"""Webhooks vs WebSockets on loopback (see :mod:`hooklab.latency`).

    .venv/bin/python bench/latency.py [--n 1000]
"""

from hooklab.latency import main

if __name__ == "__main__":
    main(prog="bench/latency.py")
