#!/usr/bin/python3
"""Issue 25 item 5: the admin API's endpoint table and admin/openapi.yaml describe the same API, both
ways: every row is an operation with the same role, domain scope, thread, mutation and metrics
listener flags (the x-* fields), and every operation is a row, except the console's static files
under /ui/, which admin/src/console_assets.cpp serves before routing. Public rows need no security.

usage: test_endpoint_table.py PATH/endpoint_table_dump PATH/openapi.yaml
"""
import json
import subprocess
import sys

import yaml

dump, spec_path = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in subprocess.run([dump], check=True, capture_output=True, text=True)
        .stdout.splitlines()]
with open(spec_path) as f:
    spec = yaml.safe_load(f)

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL: " + what, flush=True)


check(len(rows) >= 16, "the table has its rows: %d" % len(rows))
operations = {}
for path, item in spec["paths"].items():
    for method, operation in item.items():
        if method in ("get", "post", "put", "patch", "delete", "head", "options"):
            operations[(method.upper(), path)] = operation

table = {(row["method"], row["path"]): row for row in rows}
check(len(table) == len(rows), "no method and path twice in the table")

for key, row in table.items():
    operation = operations.get(key)
    check(operation is not None, "table row %s %s is in openapi.yaml" % key)
    if operation is None:
        continue
    for field, column in (("x-role", "role"), ("x-domain-scope", "domain_scope"), ("x-runs-on", "runs_on"),
                          ("x-mutates", "mutates"), ("x-metrics-listener", "metrics_listener")):
        check(operation.get(field) == row[column], "%s %s: openapi %s=%r, table %s=%r" %
              (key[0], key[1], field, operation.get(field), column, row[column]))
    public = operation.get("security", spec.get("security")) == []
    check(public == (row["role"] == "public"), "%s %s: security [] exactly when public" % key)
    if row["role"] != "public":
        check("401" in operation.get("responses", {}), "%s %s documents 401" % key)
    if row["role"] not in ("public", "metrics") or row["domain_scope"] == "unscoped":
        check("403" in operation.get("responses", {}), "%s %s documents 403" % key)
    if row["domain_scope"] == "path":
        check("{domain}" in key[1] and "404" in operation.get("responses", {}), "%s %s documents 404" % key)

for key in operations:
    if key[1].startswith("/ui/"):
        continue  # the console's files: admin/src/console_assets.cpp, not the API table
    check(key in table, "openapi operation %s %s is a row of the endpoint table" % key)

print("admin.endpoint_table: %d rows, %d operations, %d failed" % (len(rows), len(operations), len(failures)))
sys.exit(1 if failures else 0)
