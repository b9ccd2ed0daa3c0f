#!/usr/bin/env python3
"""Issue 18's speed comparison: `vigil vuln scan` beside osv-scanner, per SBOM, in one run.

  make bench-osv OSV_SCANNER=/path/to/osv-scanner      # or:
  python3 docs/bench/osv-pair.py VIGIL OSV_SCANNER [PAIRS]

It zips ../shared/data/vuln/osv/<Ecosystem>/*.json into <tmp>/osv-scalibr/<Ecosystem>/all.zip (the
offline database layout osv-scanner reads, which `vigil vuln scan --db` reads too), links the
shared SBOMs under the names osv-scanner requires, scans each once with each tool to warm, then
PAIRS times in turn (Vigil, osv-scanner, Vigil, ...), and prints each tool's median wall and CPU
(user + system of the process) and the median of the pair-by-pair ratios. osv-scanner is built
from its v2.5.0 tag (docs/performance.md says how); it is not part of Vigil.
"""
import os, sys, time, subprocess, statistics, tempfile, zipfile, glob

vig, osv = sys.argv[1], sys.argv[2]
pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 9
here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "data", "vuln"))
tmp = tempfile.mkdtemp(prefix="vigil-osv-pair-")
db = os.path.join(tmp, "osv-scalibr")
for eco in sorted(os.listdir(os.path.join(shared, "osv"))):
    os.makedirs(os.path.join(db, eco))
    with zipfile.ZipFile(os.path.join(db, eco, "all.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(glob.glob(os.path.join(shared, "osv", eco, "*.json"))):
            z.write(f, os.path.basename(f))
sboms = {"airflow.spdx.json": "container-bitnami-airflow-debian11-pypi.spdx22.json", "postgres.cdx.xml": "container-postgres-stretch-debian9.cdx14.xml",
         "harp.cdx.json": "go-harp-v0.2.10-darwin-amd64.cdx14.json", "minikube.cdx.json": "go-minikube-v1.23.1.cdx15.json",
         "juiceshop.cdx.json": "npm-juice-shop-v11.1.2.cdx14.json", "dropwizard.cdx.json": "maven-dropwizard-1.3.15.cdx12.json",
         "poetry.cdx.json": "pypi-poetry-regression-issue702.cdx16.json", "alpine.cdx.xml": "container-alpine-3.17.cdx14.xml"}
for name, src in sboms.items():
    os.symlink(os.path.join(shared, "sbom", src), os.path.join(tmp, name))
env = dict(os.environ, OSV_SCALIBR_LOCAL_DB_CACHE_DIRECTORY=tmp, XDG_CACHE_HOME=os.path.join(tmp, "cache"))

def run(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0 and cmd[0] == vig:
        sys.exit(f"{' '.join(cmd)}: exit status {status}")
    return time.perf_counter() - t, ru.ru_utime + ru.ru_stime

m = statistics.median
print("load average", " ".join(open("/proc/loadavg").read().split()[:3]), f"| {pairs} pairs per SBOM after a warm-up")
print(f"{'SBOM':22s} {'vigil wall':>10s} {'cpu':>6s} {'osv wall':>9s} {'cpu':>6s} {'wall ratio':>16s} {'cpu ratio':>16s}")
for name in sboms:
    f = os.path.join(tmp, name)
    a = [vig, "vuln", "scan", "--db", db, "--format", "json", f]
    b = [osv, "scan", "source", "--offline", "--offline-vulnerabilities", "-L", f, "--format", "json"]
    run(a); run(b)
    va, vb, rw, rc = [], [], [], []
    for _ in range(pairs):
        x, y = run(a), run(b)
        va.append(x); vb.append(y); rw.append(x[0] / y[0]); rc.append(x[1] / y[1])
    print(f"{name:22s} {m(w for w, _ in va)*1e3:8.1f}ms {m(c for _, c in va)*1e3:5.1f} {m(w for w, _ in vb)*1e3:7.1f}ms {m(c for _, c in vb)*1e3:5.1f}"
          f" {m(rw):8.3f} ({1/m(rw):.1f}x) {m(rc):8.3f} ({1/m(rc):.1f}x)")
vs = [run([vig, "version"])[0] for _ in range(15)]
print(f"vigil version alone: {m(vs)*1e3:.1f} ms median of 15; load average", " ".join(open("/proc/loadavg").read().split()[:3]))
