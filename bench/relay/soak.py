"""Load soak: for a bounded time, N concurrent SMTP clients (asyncio, one process) send messages of
random sizes through a real dkim-relay to an aiosmtpd sink in another process. The sink counts every
message by Message-ID and verifies a random sample with dkimpy.

    /usr/bin/python3 bench/relay/soak.py BUILD/app/dkim-relay [--clients 200] [--duration 60]

Prints sent, acknowledged, received upstream, verified (of the sample), duplicates, lost
(acknowledged but never received: must be 0), the relay's peak RSS (VmHWM), its descriptors at the
end against the baseline, and messages/s. Exits non-zero when a message was lost or duplicated, a
sampled message does not verify, nothing was acknowledged, or descriptors do not return to the
baseline. ctest runs a short form as faults.soak_short.

Sizes are drawn log-uniformly between --min-size and --max-size (default 1 KB - 1 MB): as many
messages of 1-10 KB as of 100 KB-1 MB, which is closer to real mail than a uniform draw."""
import argparse
import asyncio
import math
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "faults"))
sys.path.insert(0, HERE)
import fault_support as fs  # noqa: E402  (imports the lead's tests/system/harness.py)
import soak_sink  # noqa: E402

DOMAIN = "soak.example"
POOL_SIZE = 16


class Stats:
    def __init__(self):
        self.sent = 0
        self.acked = set()
        self.refused_4xx = 0
        self.refused_5xx = 0
        self.broken = 0  # connection failed with the message in flight: outcome unknown to the client
        self.latencies = []  # end of data -> 250
        self.bytes = 0
        self.errors = {}


class ReplyError(Exception):
    pass


async def read_reply(reader, timeout):
    lines = []
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            raise ConnectionError("connection closed")
        lines.append(line)
        if line[3:4] != b"-":
            return int(line[:3]), b"".join(lines)


def log_uniform(lo, hi):
    return int(math.exp(random.uniform(math.log(lo), math.log(hi))))


def make_message(mid, size):
    head = (f"From: Soak <app@{DOMAIN}>\r\nTo: user@example.org\r\nSubject: soak {mid}\r\n"
            f"Message-ID: {mid}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n").encode()
    line = (b"%-74s\r\n" % mid.encode())[:76].replace(b" ", b"x")  # no line starts with "."
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


async def client(index, port, deadline, stats, args):
    n = 0
    while time.monotonic() < deadline:
        in_flight = False
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            try:
                code, _ = await read_reply(reader, 30)
                if code != 220:
                    raise ReplyError(f"greeting {code}")
                writer.write(b"EHLO soak.test\r\n")
                if (await read_reply(reader, 30))[0] != 250:
                    raise ReplyError("EHLO")
                for _ in range(args.per_connection):
                    if time.monotonic() >= deadline:
                        break
                    n += 1
                    mid = f"<soak-{index}-{n}-{random.getrandbits(32):08x}@{DOMAIN}>"
                    data = make_message(mid, log_uniform(args.min_size, args.max_size))
                    stats.sent += 1
                    in_flight = True
                    # PIPELINING: MAIL, RCPT and DATA in one write (RFC 2920: DATA ends the group).
                    writer.write(f"MAIL FROM:<app@{DOMAIN}> SIZE={len(data)}\r\nRCPT TO:<user@example.org>\r\n"
                                 f"DATA\r\n".encode())
                    mail, _ = await read_reply(reader, 60)
                    rcpt, rcpt_text = await read_reply(reader, 60)
                    data_code, _ = await read_reply(reader, 60)
                    if data_code != 354:
                        in_flight = False
                        if 400 <= rcpt < 500 or 400 <= mail < 500:
                            stats.refused_4xx += 1
                        else:
                            stats.refused_5xx += 1
                        key = f"refused before DATA: {mail}/{rcpt} {rcpt_text[:60]!r}"
                        stats.errors[key] = stats.errors.get(key, 0) + 1
                        writer.write(b"RSET\r\n")
                        await read_reply(reader, 60)
                        continue
                    writer.write(data + b".\r\n")
                    await writer.drain()
                    sent_at = time.monotonic()
                    code, text = await read_reply(reader, 120)
                    in_flight = False
                    if code == 250:
                        stats.acked.add(mid)
                        stats.bytes += len(data)
                        stats.latencies.append(time.monotonic() - sent_at)
                    else:
                        if 400 <= code < 500:
                            stats.refused_4xx += 1
                        else:
                            stats.refused_5xx += 1
                        key = f"refused after DATA: {text[:60]!r}"
                        stats.errors[key] = stats.errors.get(key, 0) + 1
                writer.write(b"QUIT\r\n")
                await read_reply(reader, 30)
            finally:
                writer.close()
        except (OSError, ConnectionError, ReplyError, asyncio.TimeoutError, ValueError) as e:
            if in_flight:
                stats.broken += 1
            key = type(e).__name__ + ": " + str(e)[:60]
            stats.errors[key] = stats.errors.get(key, 0) + 1
            await asyncio.sleep(0.1)  # the client's retry pace after a failure


async def drive(port, args, stats, pid):
    deadline = time.monotonic() + args.duration
    tasks = [asyncio.ensure_future(client(i, port, deadline, stats, args)) for i in range(args.clients)]
    peak_fds = 0
    while not all(t.done() for t in tasks):
        peak_fds = max(peak_fds, fs.fd_count(pid))
        await asyncio.wait(tasks, timeout=0.25)  # samples the descriptors while waiting
    for t in tasks:
        t.result()
    return peak_fds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--min-size", type=int, default=1000)
    parser.add_argument("--max-size", type=int, default=1_000_000)
    parser.add_argument("--per-connection", type=int, default=20, help="messages per SMTP connection")
    parser.add_argument("--sample", type=int, default=50, help="messages verified with dkimpy")
    parser.add_argument("--name", default="soak")
    args = parser.parse_args()
    harness = fs.harness
    r = harness.Results(args.name)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.clients + 1024)), hard))

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    sink = ctx.Process(target=soak_sink.run, args=(child, args.sample), daemon=True)
    sink.start()
    relay = None
    try:
        if not parent.poll(60):
            raise AssertionError("sink process did not start")
        _, sink_port = parent.recv()
        relay = harness.Relay(args.binary, fs.relay_config(
            sink_port,
            relay_extra=(f"max_connections = {args.clients * 2 + 100}\n"
                         f"max_connections_per_ip = {args.clients * 2 + 100}\nmax_messages_per_connection = 1000"),
            upstream_extra=f"pool_size = {POOL_SIZE}", upstream_command_timeout="60s"))
        key = fs.add_domain(args.binary, os.path.join(relay.dir, "keys"), DOMAIN)
        relay.start()
        pid = relay.proc.pid
        code, text = fs.send_from(relay, DOMAIN, f"<soak-warmup@{DOMAIN}>")
        r.check(code == 250, f"warm-up message: 250, got {code} {text}")
        def counted(pid):  # the upstream pool may keep idle connections: not a leak
            return fs.fd_count_except_peer(pid, sink_port)

        baseline = fs.settled_fd_count(pid, count=counted)

        stats = Stats()
        started = time.monotonic()
        peak_fds = asyncio.run(drive(relay.smtp_port, args, stats, pid))
        elapsed = time.monotonic() - started
        fds_end = counted(pid)
        hwm = fs.status_kib(pid, "VmHWM")
        rss = fs.status_kib(pid, "VmRSS")
        fds_settled = fs.wait_fds_back(pid, baseline, timeout=30, count=counted)
        # What the relay keeps once the load is over (it trims freed memory after a quiet second):
        # the lowest RSS sampled over the next 5 s. A measurement window, not a synchronisation.
        rss_after = rss
        quiet_until = time.monotonic() + 5
        while time.monotonic() < quiet_until:
            rss_after = min(rss_after, fs.status_kib(pid, "VmRSS"))
            time.sleep(0.1)

        parent.send(("report", key.records()))
        report = parent.recv()
        counts = report["counts"]
        counts.pop(f"<soak-warmup@{DOMAIN}>", None)
        received_ids = set(counts)
        lost = stats.acked - received_ids
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        unacked_received = received_ids - stats.acked
        lat = sorted(stats.latencies)
        q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else (lat or [0]) * 99
        load = open("/proc/loadavg").read().split()[:3]

        n = args.name
        print(f"{n}: clients {args.clients}, duration {args.duration:.0f} s (ran {elapsed:.1f} s), sizes "
              f"{args.min_size}-{args.max_size} bytes log-uniform, load average {' '.join(load)}")
        print(f"{n}: sent {stats.sent}")
        print(f"{n}: acknowledged {len(stats.acked)} (refused 4xx {stats.refused_4xx}, 5xx {stats.refused_5xx}, "
              f"connection broken with a message in flight {stats.broken})")
        print(f"{n}: received upstream {len(counts)} distinct, {report['received'] - 1} in total "
              f"({len(unacked_received)} received but not acknowledged to the client)")
        print(f"{n}: verified {report['verified']} of a random sample of {report['sample']} (dkimpy)")
        print(f"{n}: duplicates {duplicates}")
        print(f"{n}: lost (acknowledged, not received) {len(lost)}")
        print(f"{n}: relay peak RSS (VmHWM) {hwm / 1024:.1f} MiB, RSS at end {rss / 1024:.1f} MiB, "
              f"5 s later {rss_after / 1024:.1f} MiB")
        print(f"{n}: relay fds (upstream connections aside): baseline {baseline}, at end {fds_end}, "
              f"settled {fds_settled}; peak of all fds {peak_fds}")
        print(f"{n}: messages/s {len(stats.acked) / elapsed:.1f}, MB/s {stats.bytes / elapsed / 1e6:.2f}, "
              f"mean size {stats.bytes / max(1, len(stats.acked)) / 1e3:.0f} KB")
        print(f"{n}: ack latency after end of data p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms")
        for what, count in sorted(stats.errors.items(), key=lambda kv: -kv[1])[:5]:
            print(f"{n}: client-side error x{count}: {what}")
        sys.stdout.flush()

        r.check(len(stats.acked) > 0, "messages were acknowledged")
        r.check(not lost, f"no acknowledged message lost: {sorted(lost)[:5]}")
        r.check(duplicates == 0, f"no duplicates: {duplicates}")
        r.check(report["sample"] > 0 and report["verified"] == report["sample"],
                f"every sampled message verifies: {report['verified']}/{report['sample']}")
        r.check(fds_settled <= baseline,
                f"relay descriptors back to baseline {baseline}: {fds_settled}: {fs.describe_fds(pid)}")
        fs.stop_cleanly(relay, r)
    finally:
        if relay:
            relay.cleanup()
        if sink.is_alive():
            parent.send(("stop",))
            sink.join(30)
            if sink.is_alive():
                sink.terminate()
    r.finish()


if __name__ == "__main__":
    main()
