def test_smoke(sipfront_sandbox, run_gate):
    server = sipfront_sandbox({"tests": [{"name": "a", "duration": 0.3}]})
    result = run_gate("""
        tests:
          - name: one
            test: a
    """, "-v", server=server)
    print(result.stdout.str())
    print(server.requests)
    assert 0
