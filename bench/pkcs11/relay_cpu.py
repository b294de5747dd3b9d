"""The relay's own CPU per 2 KB message with private_keys = "pkcs11" against "store", in one run,
under the same load, interleaved. Not a test.

    /usr/bin/python3 bench/pkcs11/relay_cpu.py build/release/app/dkim-relay [--messages 1500] [--rounds 3]
                     [--concurrency 8]

Three relays run side by side on one SoftHSM2 token (temporary SOFTHSM2_CONF), each with
bench.example added through its admin API: "store" (in-process OpenSSL key, signs inline on the I/O
thread), "pkcs11" (SoftHSM2 loaded into the relay, C_Sign on the signing pool) and "p11kit" (the same
token behind `p11-kit server`, the relay loads p11-kit-client.so). Postfix smtp-source sends 2 KB
messages from bench.example to each relay in turn (rounds interleave the modes), the relays forward
to one smtp-sink. CPU is utime+stime from /proc/PID/stat of the relay (and, for p11kit, of the
p11-kit server's process group, reported apart). Each relay's dkim_relay_messages_signed_total must
grow by the messages sent, or the figure is refused. `openssl speed rsa2048` runs in the same run
as the reference for one signature."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "pkcs11"))
sys.path.insert(0, os.path.join(ROOT, "bench", "relay"))
import pkcs11_harness as ph  # noqa: E402
import relay_bench as rb  # noqa: E402  (smtp-sink, smtp-source, openssl speed)

harness = ph.harness
DOMAIN = rb.DOMAIN


def out(line):
    print("pkcs11 relay_cpu: " + line, flush=True)


def toml(module, pin_file, sink_port, mode):
    return f"""
[relay]
listen = ["127.0.0.1:{{smtp_port}}"]
threads = 2
max_connections = 5000
max_messages_per_connection = 1000000
[upstream]
type = "smtp"
host = "127.0.0.1"
port = {sink_port}
starttls = "none"
pool_size = 8
command_timeout = "60s"
[signing]
algorithms = ["rsa-sha256"]
[keystore]
path = "{{dir}}/keys"
demo_domain = ""
private_keys = "{"store" if mode == "store" else "pkcs11"}"
[pkcs11]
module = "{module}"
token_label = "{ph.TOKEN}"
pin_file = "{pin_file}"
[admin]
listen = "127.0.0.1:{{admin_port}}"
token_file = "{{dir}}/admin.token"
dns_check_interval = "1h"
[log]
level = "warn"
"""


def api(relay, method, path, body=None):
    token = open(os.path.join(relay.dir, "admin.token")).read().strip()
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{relay.admin_port}{path}", data=data, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, resp.read().decode()


def signed_total(relay):
    _, text = api(relay, "GET", "/metrics")
    m = re.search(r'^dkim_relay_messages_signed_total\{algorithm="rsa-sha256"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    work = ph.tmpdir("dkr-pkcs11-cpu-")
    relays = {}
    server = None
    sink = None
    try:
        hsm = ph.SoftHsm(work)
        server = ph.P11KitServer(hsm, work).start()
        sink = rb.SmtpSink()
        for mode, module, env in (("store", ph.SOFTHSM_MODULE, {"SOFTHSM2_CONF": hsm.conf}),
                                  ("pkcs11", ph.SOFTHSM_MODULE, {"SOFTHSM2_CONF": hsm.conf}),
                                  ("p11kit", ph.P11KIT_CLIENT, {"P11_KIT_SERVER_ADDRESS": server.address})):
            relay = harness.Relay(os.path.abspath(args.binary), toml(module, hsm.pin_file, sink.port, mode), env=env)
            if mode == "p11kit":
                relay.env.pop("SOFTHSM2_CONF", None)
            relay.start()
            relays[mode] = relay
            status, body = api(relay, "POST", "/v1/domains", {"domain": DOMAIN})
            assert status == 201, f"{mode}: add domain: {status} {body}"
        rsa_signs = rb.openssl_rsa2048_signs(1)
        out(f"openssl speed rsa2048 (one core): {rsa_signs:.0f} sign/s = {1000 / rsa_signs:.3f} ms/sign; "
            f"load {rb.load_average()}")
        # Warm-up: connections, pools, token sessions.
        for mode, relay in relays.items():
            rb.smtp_source(relay.smtp_port, 2000, 100, args.concurrency)
        results = {mode: [] for mode in relays}
        server_cpu = []
        for round_ in range(args.rounds):
            for mode, relay in relays.items():
                before_signed = signed_total(relay)
                cpu0 = rb.cpu_seconds(relay.proc.pid)
                srv0 = ph_group_cpu(server.proc.pid) if mode == "p11kit" else 0
                elapsed = rb.smtp_source(relay.smtp_port, 2000, args.messages, args.concurrency)
                cpu = rb.cpu_seconds(relay.proc.pid) - cpu0
                signed = signed_total(relay) - before_signed
                if signed != args.messages:
                    raise SystemExit(f"{mode}: {signed} of {args.messages} messages signed: not a measurement")
                per = cpu / args.messages * 1000
                results[mode].append(per)
                line = (f"round {round_ + 1} {mode:7s}: {args.messages} msgs in {elapsed:.1f} s "
                        f"({args.messages / elapsed:.0f}/s), relay CPU {per:.3f} ms/msg")
                if mode == "p11kit":
                    srv = (ph_group_cpu(server.proc.pid) - srv0) / args.messages * 1000
                    server_cpu.append(srv)
                    line += f", p11-kit server side {srv:.3f} ms/msg"
                out(line + f"; load {rb.load_average()}")
        out("summary (median of rounds, relay's own CPU per 2 KB message):")
        med = {mode: sorted(v)[len(v) // 2] for mode, v in results.items()}
        for mode, value in med.items():
            out(f"  {mode:7s} {value:.3f} ms/msg = {value / med['store']:.2f}x store")
        if server_cpu:
            srv = sorted(server_cpu)[len(server_cpu) // 2]
            out(f"  p11kit: + p11-kit server {srv:.3f} ms/msg; relay + server {med['p11kit'] + srv:.3f} ms/msg = "
                f"{(med['p11kit'] + srv) / med['store']:.2f}x store")
        out(f"  one RSA-2048 signature (openssl speed) {1000 / rsa_signs:.3f} ms")
    finally:
        for relay in relays.values():
            relay.stop()
            relay.cleanup()
        if sink:
            sink.stop()
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def ph_group_cpu(pgid):
    total = 0.0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.getpgid(int(name)) == pgid:
                    fields = open(f"/proc/{name}/stat").read().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError):
                pass
    return total


if __name__ == "__main__":
    main()
