"""Benchmarks: ingest, big message memory, inbox at scale, search and send.

See README "Performance"; run with `python -m bench`. Each benchmark (ingest, bigmessage,
inbox, search, send) is a module with run() and main(); bench.cli, bench.database,
bench.servers, bench.report and bench.timing are what they share.
"""
