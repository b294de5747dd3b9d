#!/usr/bin/python3
"""Issue 25 items 1 and 2: a live scrape of the real relay passes `promtool check metrics` with no
complaint; every series has the dkim_relay_ prefix (or is a standard process_* one), counters end
in _total, build_info and the served certificate's notAfter are there, no domain label without
per_domain_metrics; the [metrics] listener serves /metrics, /livez and /readyz without a token and
nothing else, and its /readyz says no more than ready or not.

usage: /usr/bin/python3 test_metrics_conventions.py PATH/dkim-relay
"""
import datetime
import os
import re
import subprocess
import sys
import time

import ops_harness
from ops_harness import h

binary = os.path.abspath(sys.argv[1])
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL: " + what, flush=True)


relay = ops_harness.OpsRelay(binary)
try:
    relay.start()
    relay.send("example.test", "rsa")
    relay.send("ed.test", "ed25519")
    relay.wait_for_messages(2)
    text = relay.scrape()

    # promtool is the independent judge of the exposition format and the naming conventions.
    promtool = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    check(promtool.returncode == 0 and promtool.stdout.strip() == "" and promtool.stderr.strip() == "",
          "promtool check metrics is silent on a live scrape: rc=%d\n%s%s" %
          (promtool.returncode, promtool.stdout, promtool.stderr))

    kinds = ops_harness.families(text)
    for name in ops_harness.series_names(text):
        check(name.startswith("dkim_relay_") or name.startswith("process_"), "prefix of " + name)
    for name, kind in kinds.items():
        check(kind != "counter" or name.endswith("_total"), "counter %s ends in _total" % name)
        check(kind == "counter" or not name.endswith("_total"), "non-counter %s does not end in _total" % name)
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                 "process_max_fds", "process_start_time_seconds"):
        check(name in kinds, name + " is exported")
    check("domain=" not in text, "no domain label without admin.per_domain_metrics")

    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    check(samples.get('dkim_relay_messages_signed_total{algorithm="rsa-sha256"}') == 1, "one RSA signature counted")
    check(samples.get('dkim_relay_messages_signed_total{algorithm="ed25519-sha256"}') == 1,
          "one Ed25519 signature counted")

    # The process_* values against /proc and the kernel, read here independently.
    pid = relay.relay.pid
    with open("/proc/%d/limits" % pid) as f:
        soft = next(line.split()[3] for line in f if line.startswith("Max open files"))
    check(samples.get("process_max_fds") == float(soft), "process_max_fds %s is the soft limit %s" %
          (samples.get("process_max_fds"), soft))
    open_fds = len(os.listdir("/proc/%d/fd" % pid))
    check(abs(samples.get("process_open_fds", -100) - open_fds) <= 3, "process_open_fds %s near %d" %
          (samples.get("process_open_fds"), open_fds))
    # Start time as ps(1) computes it: boot time plus the process's start in clock ticks since boot.
    btime = next(int(line.split()[1]) for line in open("/proc/stat") if line.startswith("btime "))
    ticks = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[19])
    started = btime + ticks / os.sysconf("SC_CLK_TCK")
    check(abs(samples.get("process_start_time_seconds", 0) - started) < 1, "process_start_time_seconds %s is %s" %
          (samples.get("process_start_time_seconds"), started))
    check(0 <= time.time() - started < 120, "the relay started within the test: %s" % started)
    rss_kb = next(int(line.split()[1]) for line in open("/proc/%d/status" % pid) if line.startswith("VmRSS:"))
    check(0.5 < samples.get("process_resident_memory_bytes", 0) / (rss_kb * 1024) < 2,
          "process_resident_memory_bytes near VmRSS %d kB" % rss_kb)

    # build_info: the version the binary reports, and the OpenSSL it runs with.
    build = [key for key in samples if key.startswith("dkim_relay_build_info{")]
    check(len(build) == 1 and samples[build[0]] == 1, "one dkim_relay_build_info series = 1: %s" % build)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()
    check(build and version and 'version="%s"' % version[1] in build[0], "build_info version is --version's")
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.split()[1]
    check(build and ('openssl="%s"' % openssl) in build[0], "build_info openssl=%s: %s" % (openssl, build))
    check(build and re.search(r'boost="1\.\d+\.\d+"', build[0]), "build_info boost version")

    # The STARTTLS certificate's notAfter, read by the openssl CLI.
    end = subprocess.run(["openssl", "x509", "-in", os.path.join(relay.dir, "smtp.crt"), "-noout", "-enddate"],
                         capture_output=True, text=True, check=True).stdout.strip().split("=", 1)[1]
    not_after = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)
    check(samples.get('dkim_relay_tls_certificate_not_after_seconds{listener="smtp"}') == not_after.timestamp(),
          "certificate notAfter gauge is %s" % not_after.timestamp())

    # Probes without a token, with a body that names nothing.
    status, _, body = relay.get(relay.metrics_port, "/livez")
    check(status == 200, "/livez on the metrics listener: %d" % status)
    status, _, body = relay.get(relay.metrics_port, "/readyz")
    check(status == 200 and body.strip() == '{"status":"ready"}', "minimal /readyz: %d %s" % (status, body))
    for path in ("/v1/domains", "/v1/token", "/ui/", "/v1/domains/example.test"):
        status, _, body = relay.get(relay.metrics_port, path)
        check(status == 404 and "example.test" not in body, "metrics listener hides %s: %d" % (path, status))
    # The admin listener: probes open, /metrics for the metrics role, not without a token.
    check(relay.get(relay.admin_port, "/livez")[0] == 200, "/livez is open on the admin listener")
    check(relay.get(relay.admin_port, "/metrics")[0] == 401, "/metrics on the admin listener wants a token")
    status, _, body = relay.get(relay.admin_port, "/metrics", ops_harness.METRICS_TOKEN)
    check(status == 200 and "dkim_relay_build_info" in body, "metrics role scrapes the admin listener")
    check(relay.get(relay.admin_port, "/v1/domains", ops_harness.METRICS_TOKEN)[0] == 403,
          "metrics role may not list domains")
finally:
    relay.close()

print("ops.metrics_conventions: %d failed" % len(failures))
sys.exit(1 if failures else 0)
