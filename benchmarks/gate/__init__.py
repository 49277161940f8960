"""The pytest-sipfront benchmark: the gate against what teams do today, measured in one run.

    python -m benchmarks.gate            # defaults: about 2 minutes on a 2-core machine
    python -m benchmarks.gate --tiny     # CI: well under a minute
    python -m benchmarks.gate --help     # sizes, --skip, --pytest-args

--tiny means N=3 runs of D=1 s, 20 runs of 1 s at scale, a 200-item manifest, ``-n 2`` only.

Everything runs against the package's own sandbox on loopback; nothing reaches Sipfront.

What it measures (one plain-text report, pasted into the README's "Performance" chapter):

1. Gate against baseline. N sandbox runs of D seconds each (default 20 runs of 3 s):
   - the plugin: one ``pytest`` session in a subprocess (concurrency N, poll interval 1 s,
     ``--sipfront-max-rps`` 2N+10), run again with ``--sipfront-max-rps 5``;
   - the baseline: what Sipfront's own action does, one test after another, trigger, then a
     status request every 3 s until it has finished (:func:`baseline_loop`, plain ``requests``);
   - the limit: the longest run's duration.
   The sandbox runs in this process and counts every request with its arrival time.
2. Scale: 500 runs in flight (concurrency 500, 10 s runs) with the sandbox in a process of its
   own; peak RSS and threads of the pytest process. And ``pytest --collect-only`` of a
   5,000-item manifest against an empty session.
3. pytest-xdist: the same N runs in one process, with ``-n 2`` and with ``-n 4``, in alternating
   rounds (5, --tiny 1); the round with the median process wall of each is shown and judged.
4. Guest: an unrelated one-test session with the plugin loaded against the same session with
   ``-p no:sipfront`` (15 alternating runs of each, --tiny 3), median wall and peak RSS; and
   pytest-timeout's cost measured the same way, as a yardstick.

Times: "process wall" is the pytest subprocess from start to exit (Python and pytest start-up,
collection and teardown included); "gate time" is what the sandbox saw, from the first trigger
to the last status request. Targets on time are judged on both, each labelled.

Memory: peak RSS is ``ru_maxrss`` from ``os.wait4()`` on that very process, so each number
belongs to one process and no earlier child can leak into it (``RUSAGE_CHILDREN`` would be the
maximum over every child so far). It is the process's own high-water mark, or that of a child
it reaped if larger (an xdist worker). For xdist runs the sum over the whole process tree is
sampled from /proc as well. Threads: the most seen in ``/proc/<pid>/status`` (20 ms samples).

Exit status: 0 when every target passes; 1 when one fails; 2 when the benchmark crashed. With
``--tiny`` only broken invariants (a run triggered other than exactly once, a 1 s window with
more requests than ``--sipfront-max-rps`` allows, a session whose runs did not all pass) give 1.
"""
