#!/usr/bin/python3
"""Issue 25 item 3: Debian's real Prometheus scrapes the real relay. Prometheus runs on loopback (free
port, temp storage, 1 s scrape and evaluation interval) with two jobs: the [metrics] listener without
a token, and the admin listener with a token of role "metrics" (credentials_file). It also loads
docs/prometheus/alerts.yaml. The test sends mail through the relay and asks Prometheus' HTTP API
that up == 1 for both targets, that the signed-messages counter moved, and that the rules loaded.
A Prometheus that cannot start is a failure, never a skip.

usage: /usr/bin/python3 test_prometheus_scrape.py PATH/dkim-relay
"""
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import ops_harness
from ops_harness import ROOT, h

binary = os.path.abspath(sys.argv[1])
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL: " + what, flush=True)


def query(port, promql):
    """The instant vector of a PromQL query, as {job: value}."""
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": promql}))
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return {r["metric"].get("job", ""): float(r["value"][1]) for r in body["data"]["result"]}


relay = ops_harness.OpsRelay(binary)
prometheus = None
try:
    relay.start()
    port = h.free_port()
    storage = os.path.join(relay.dir, "prometheus-data")
    config = os.path.join(relay.dir, "prometheus.yml")
    with open(config, "w") as f:
        f.write("""
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - %(rules)s
scrape_configs:
  - job_name: dkim-relay
    static_configs:
      - targets: ["127.0.0.1:%(metrics)d"]
  - job_name: dkim-relay-admin
    authorization:
      credentials_file: %(token)s
    static_configs:
      - targets: ["127.0.0.1:%(admin)d"]
""" % {"rules": os.path.join(ROOT, "docs", "prometheus", "alerts.yaml"), "metrics": relay.metrics_port,
       "admin": relay.admin_port, "token": os.path.join(relay.dir, "metrics.token")})
    log_path = os.path.join(relay.dir, "prometheus.log")
    with open(log_path, "w") as log:
        prometheus = subprocess.Popen(["/usr/bin/prometheus", "--config.file=" + config,
                                       "--storage.tsdb.path=" + storage,
                                       "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                                      stdout=log, stderr=subprocess.STDOUT, cwd=relay.dir)

    def ready():
        if prometheus.poll() is not None:
            raise AssertionError("prometheus exited with %s:\n%s" % (prometheus.returncode, open(log_path).read()))
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % port, timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    h.wait_until(ready, timeout=60, what="prometheus ready")
    # Both targets scraped successfully.
    h.wait_until(lambda: query(port, "up") == {"dkim-relay": 1.0, "dkim-relay-admin": 1.0}, timeout=30,
                 what="up == 1 for both jobs")
    before = query(port, "sum by (job) (dkim_relay_messages_signed_total)")
    check(before == {"dkim-relay": 0.0, "dkim-relay-admin": 0.0}, "no signatures before mail: %s" % before)

    for i in range(3):
        relay.send("example.test", "prometheus %d" % i)
    relay.wait_for_messages(3)
    h.wait_until(lambda: query(port, "sum by (job) (dkim_relay_messages_signed_total)") ==
                 {"dkim-relay": 3.0, "dkim-relay-admin": 3.0}, timeout=30, what="3 signatures seen by Prometheus")
    check(query(port, 'dkim_relay_transactions_total{result="accepted"}') ==
          {"dkim-relay": 3.0, "dkim-relay-admin": 3.0}, "3 accepted transactions seen by Prometheus")
    check(query(port, "up") == {"dkim-relay": 1.0, "dkim-relay-admin": 1.0}, "up == 1 after the mail")
    check(query(port, "count by (job) (dkim_relay_build_info)") == {"dkim-relay": 1.0, "dkim-relay-admin": 1.0},
          "build_info scraped")

    with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/rules" % port, timeout=5) as response:
        rules = json.load(response)["data"]["groups"]
    names = {r["name"] for g in rules for r in g["rules"]}
    check("DkimRelayMailUnsigned" in names and "DkimRelayTlsCertificateExpiresSoon" in names,
          "Prometheus loaded docs/prometheus/alerts.yaml: %s" % sorted(names))
    check(all(r.get("health") != "err" for g in rules for r in g["rules"]), "no rule evaluates with an error")
finally:
    h.stop_process(prometheus)
    relay.close()

print("ops.prometheus_scrape: %d failed" % len(failures))
sys.exit(1 if failures else 0)
