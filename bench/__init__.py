"""Benchmarks: ingest, big message memory, inbox at scale, search and send.

See README "Performance" and bench/common.py; run with `python -m bench`.
"""
