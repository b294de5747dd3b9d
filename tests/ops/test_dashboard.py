#!/usr/bin/python3
"""Issue 25 item 4: docs/grafana/dkim-relay.json is valid JSON with well-formed panels, and it and
docs/prometheus/alerts.yaml use only series the relay exports: those of a live scrape of the real
relay, plus the ones docs/prometheus/series.yaml lists as present only under a condition (PostgreSQL
keystore, per-domain metrics, rotation scheduler, DNS publishing). Every scraped family is listed with
its type, and every `always` series is scraped, so the list cannot drift from the code.

usage: /usr/bin/python3 test_dashboard.py PATH/dkim-relay
"""
import json
import os
import re
import sys

import yaml

import ops_harness
from ops_harness import ROOT

binary = os.path.abspath(sys.argv[1])
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL: " + what, flush=True)


KEYWORDS = {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
            "group", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan"}


def metric_names(expr):
    """The series names a PromQL expression selects (a small lexer: enough for our own expressions)."""
    expr = re.sub(r'label_values\(\s*([^,)]+)[^)]*\)', r'\1', expr)  # Grafana's variable query
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)                    # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)                              # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)                             # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\w+", "", expr)                                  # dashboard variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS or re.fullmatch(r"\d+[smhdwy]", name):
            continue
        names.add(name)
    return names


with open(os.path.join(ROOT, "docs", "prometheus", "series.yaml")) as f:
    listed = {s["name"]: s for s in yaml.safe_load(f)["series"]}
histograms = {name for name, s in listed.items() if s["type"] == "histogram"}


def family(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in histograms:
            return name[: -len(suffix)]
    return name


# The dashboard: strict JSON, panels that Grafana can lay out, every query on a known series.
with open(os.path.join(ROOT, "docs", "grafana", "dkim-relay.json")) as f:
    text = f.read()
try:
    dashboard = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
except ValueError as e:
    dashboard = {}
    check(False, "dashboard is strict JSON: %s" % e)
check(dashboard.get("title") and dashboard.get("uid"), "dashboard has a title and a uid")
ids = [p.get("id") for p in dashboard.get("panels", [])]
check(len(ids) > 10 and len(set(ids)) == len(ids), "panels have unique ids")
exprs = []
for p in dashboard.get("panels", []):
    grid = p.get("gridPos", {})
    check(all(isinstance(grid.get(k), int) for k in "hwxy") and grid["x"] + grid["w"] <= 24,
          "panel %r has a gridPos within 24 columns" % p.get("title"))
    if p.get("type") == "row":
        continue
    check(p.get("targets"), "panel %r has queries" % p.get("title"))
    for t in p.get("targets", []):
        check(t.get("expr") and t.get("refId"), "panel %r target has expr and refId" % p.get("title"))
        exprs.append(("dashboard panel %r" % p.get("title"), t.get("expr", "")))
for v in dashboard.get("templating", {}).get("list", []):
    if v.get("type") == "query":
        exprs.append(("dashboard variable " + v["name"], v["definition"]))

with open(os.path.join(ROOT, "docs", "prometheus", "alerts.yaml")) as f:
    for group in yaml.safe_load(f)["groups"]:
        for rule in group["rules"]:
            exprs.append(("alert " + rule["alert"], rule["expr"]))

used = set()
for where, expr in exprs:
    names = {family(n) for n in metric_names(expr)}
    check(names, "%s selects some series: %s" % (where, expr))
    for name in names:
        check(name in listed, "%s uses %s, which series.yaml does not list" % (where, name))
    used |= names
check({"dkim_relay_keys_past_interval", "dkim_relay_tls_certificate_not_after_seconds",
       "dkim_relay_keystore_connected"} <= used, "the dashboard and alerts cover rotation, certificates, keystore")

# The live scrape against series.yaml, both ways.
relay = ops_harness.OpsRelay(binary)
try:
    relay.start()
    relay.send("example.test")
    relay.wait_for_messages(1)
    scraped = ops_harness.families(relay.scrape())
finally:
    relay.close()
always = {name for name, s in listed.items() if s["when"] == "always"}
for name, kind in scraped.items():
    check(name in listed, "scraped family %s is listed in series.yaml" % name)
    check(name not in listed or listed[name]["type"] == kind, "%s is a %s as listed" % (name, kind))
for name in always:
    check(name in scraped, "series.yaml says %s is always exported; the live scrape has no such family" % name)

print("ops.dashboard: %d expressions, %d series used, %d failed" % (len(exprs), len(used), len(failures)))
sys.exit(1 if failures else 0)
