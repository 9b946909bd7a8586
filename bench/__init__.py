"""Benchmarks: ingest, big message memory, inbox at scale, search, send, and the
interface's first load (ui: CSS, JS, fonts and icons, and their caching).

See README "Performance"; run with `python -m bench`. Each benchmark (ingest, bigmessage,
inbox, search, send, ui) is a module with run() and main(); bench.cli, bench.database,
bench.servers, bench.report and bench.timing are what they share.
"""
