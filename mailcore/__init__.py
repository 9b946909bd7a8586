"""mailcore: the mail library. Protocols (POP3, SMTP), MIME parsing and building, DSN/MDN,
addresses and HTML sanitizing: bytes in, data out. Imports no Django, no Celery and nothing
else of this project, so it is tested with bytes alone and shared by the app, devmail, the
tests and the benchmarks."""
