"""The default thread count on an idle and on a busy machine, against one thread and against the
old default (one thread per core, OpenMP's own wait policy).

Each configuration runs the same command in a fresh process, in turns, `--reps` times, on
three machines: idle; busy (a process spinning on one core for the whole command); and busy
later (the spinning starts `--later` seconds after the command, when the default has chosen
its threads on an idle machine: the training loop's re-check must notice). Printed: the median
wall time of each, and the ratios the default is judged by: default / threads=1 when busy,
default / old default when idle.

    python benchmarks/busy_threads.py                   # train --preset article, 600 iterations
    python benchmarks/busy_threads.py --command sample  # sample 2,000 designs
    python benchmarks/busy_threads.py --wait-policies   # every core's threads, each policy

--wait-policies compares, instead of the default, every core's threads under OpenMP's own wait
policy and under passive waiting (why cpuload.py chooses the policy from the load).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {  # (argv after `fashiongan`, how the thread count is given)
    "train": (["train", "--preset", "article", "--set", "iterations=600", "--no-progress",
               "--out", "{tmp}/run", "--overwrite"], "--set=threads={n}"),
    "sample": (["sample", "best", "--n", "2000", "--out", "{tmp}/s.npz"], "--threads={n}"),
}


@contextlib.contextmanager
def hog(on: bool, after_s: float = 0.0):
    """A process spinning on one core; it starts spinning after_s seconds from now."""
    code = f"import time; time.sleep({after_s})\nwhile True: pass"
    p = subprocess.Popen([sys.executable, "-c", code]) if on else None
    try:
        time.sleep(0.5 if on and not after_s else 0)  # the load is there before the command
        yield
    finally:
        if p is not None:
            p.kill()
            p.wait()


def run(argv: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fashiongan", *argv], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--command", choices=sorted(COMMANDS), default="train")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--later", type=float, default=3.0,
                    help="seconds after the command's start when 'busy later' begins")
    ap.add_argument("--wait-policies", action="store_true",
                    help="compare OpenMP's own and passive waiting at every core's threads")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    base, thread_arg = COMMANDS[args.command]
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    old_env = {**env, "OMP_WAIT_POLICY": ""}  # set but empty: OpenMP's own default policy
    configs = {  # name -> (extra argv, environment)
        "default": ([], env),
        "threads=1": ([thread_arg.format(n=1)], env),
        f"old default ({cores} threads, OpenMP's wait)": ([thread_arg.format(n=cores)],
                                                           old_env),
    }
    if args.wait_policies:
        configs = {
            "threads=1": ([thread_arg.format(n=1)], env),
            f"{cores} threads, OpenMP's wait": ([thread_arg.format(n=cores)], old_env),
            f"{cores} threads, passive": ([thread_arg.format(n=cores)],
                                          {**env, "OMP_WAIT_POLICY": "PASSIVE"}),
        }
    times: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        argv = [a.format(tmp=tmp) for a in base]
        run(argv, env)  # warm the file cache and the data set's first load
        for busy in ("idle", "busy") if args.wait_policies else ("idle", "busy", "busy later"):
            for _ in range(args.reps):
                for name, (extra, e) in configs.items():
                    if busy == "busy later":
                        with hog(True, args.later):
                            times.setdefault((busy, name), []).append(run(argv + extra, e))
                    else:
                        with hog(busy == "busy"):
                            times.setdefault((busy, name), []).append(run(argv + extra, e))
    load = os.getloadavg()[0]
    print(f"`fashiongan {' '.join(base)}` on {cores} cores; median of {args.reps} runs each, "
          f"in turns; busy = one process spinning on a core; load average {load:.1f} at the "
          "end\n")
    print("| machine | configuration | median s | runs s |")
    print("|---|---|---|---|")
    for (busy, name), xs in times.items():
        print(f"| {busy} | {name} | {statistics.median(xs):.1f} | "
              f"{', '.join(f'{x:.1f}' for x in xs)} |")
    med = {k: statistics.median(v) for k, v in times.items()}
    if args.wait_policies:
        return 0
    old = [k for k in configs if k.startswith("old")][0]
    print()
    for busy in ("busy", "busy later"):
        print(f"{busy}: default / threads=1 = "
              f"{med[(busy, 'default')] / med[(busy, 'threads=1')]:.2f} (goal <= 1.10); "
              f"old default / threads=1 = {med[(busy, old)] / med[(busy, 'threads=1')]:.2f}")
    print(f"idle: default / old default = {med[('idle', 'default')] / med[('idle', old)]:.2f} "
          "(goal <= 1.05)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
