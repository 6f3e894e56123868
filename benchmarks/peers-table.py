#!/usr/bin/env python3
"""Writes peers.sh's table from run-baseline.sh's runs.jsonl files.

usage: peers-table.py PASS=runs.jsonl ...

Per workload and target: medians over the rounds of throughput, p50/p99 and the proxy's CPU per
call (and per token for streams). Every target's CPU, throughput and p99 are also given as ratios
to HAProxy's and nginx's, computed round by round (the targets of one round ran within minutes of
each other) and then the median taken, so that load from elsewhere on the machine cancels as far as
it can.
"""
import json
import statistics
import sys
from collections import OrderedDict, defaultdict


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=1):
    return '-' if x is None else f'{x:,.{nd}f}'


def peer(targets, prefix):
    return next((t for t in targets if t.startswith(prefix)), None)


def ratios(by, w, t, ref, key):
    if ref is None:
        return None
    base = {r['rep']: r.get(key) for r in by.get((w, ref), [])}
    rs = [r.get(key) / base[r['rep']] for r in by.get((w, t), [])
          if base.get(r['rep']) and r.get(key) is not None]
    return med(rs)


def main(args):
    by = defaultdict(list)
    passes = OrderedDict()
    for arg in args:
        name, path = arg.split('=', 1)
        try:
            lines = open(path).read().splitlines()
        except FileNotFoundError:
            print(f'(pass {name}: no results at {path})')
            continue
        for line in lines:
            if line.strip():
                r = json.loads(line)
                by[(r['workload'], r['target'])].append(r)
                passes.setdefault((name, r['workload']), OrderedDict())[r['target']] = 1
    print('| pass | workload | target | calls/s | × direct | p50 / p99 ms | proxy µs CPU/call | µs/token '
          '| CPU ÷ HAProxy | CPU ÷ nginx | calls/s ÷ HAProxy | p99 ÷ HAProxy | rounds | failed |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for (name, w), targets in passes.items():
        tokens = int(w[6:]) if w.startswith('stream') and w[6:].isdigit() else None
        haproxy, nginx = peer(targets, 'haproxy'), peer(targets, 'nginx')
        for t in targets:
            rs = by[(w, t)]
            direct = ratios(by, w, t, 'direct' if 'direct' in targets else None, 'rps')
            cpu = med([r['proxy_us_per_req'] for r in rs]) if t != 'direct' else None
            bad = sum(r.get('failed', 0) + r.get('errored', 0) + r.get('succeeded', 0) - r.get('s2xx', 0) for r in rs)
            own = t in ('direct', haproxy)
            print('| ' + ' | '.join([
                name, w, t, fmt(med([r['rps'] for r in rs]), 0), fmt(direct, 2),
                f"{fmt(med([r.get('p50_ms') for r in rs]), 2)} / {fmt(med([r.get('p99_ms') for r in rs]), 2)}",
                fmt(cpu, 1), fmt(cpu / tokens if cpu is not None and tokens else None, 2),
                '-' if own else fmt(ratios(by, w, t, haproxy, 'proxy_us_per_req'), 2),
                '-' if t in ('direct', nginx) else fmt(ratios(by, w, t, nginx, 'proxy_us_per_req'), 2),
                '-' if own else fmt(ratios(by, w, t, haproxy, 'rps'), 2),
                '-' if own else fmt(ratios(by, w, t, haproxy, 'p99_ms'), 2),
                str(len(rs)), str(bad)]) + ' |')
    print('\nEach round (calls/s, p99 ms, proxy µs/call, other load on the machine in cores):\n')
    for (name, w), targets in passes.items():
        for t in targets:
            rs = sorted(by[(w, t)], key=lambda r: r['rep'])
            print(f'- {w} {t}: ' + '; '.join(
                f"r{r['rep']} {r['rps']:.0f} / {r.get('p99_ms')} / {r['proxy_us_per_req']} / {r['foreign_cores']}"
                for r in rs))


if __name__ == '__main__':
    main(sys.argv[1:])
