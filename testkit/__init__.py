"""testkit: fake and real mail servers, message factories and certificates shared by the
tests and the benchmarks. Never imported by application code."""
