"""Slow-client (slowloris) defence, against a real relay process.

Phase A, limit: a burst of --connections slow connections at once, more than relay.max_connections:
every connection gets a greeting, those over the limit get 421, and the relay never holds more
client sockets than the limit.
Phase B, timeouts: the slow connections are closed by the relay within the timeout plus slack.
They are of three kinds: silent (never sends), idle dribblers (one byte of a command line a second,
never a line end: idle_timeout bounds the wait for a command, README "Limits"), and transaction
dribblers (MAIL accepted, then RCPT one byte a second: command_timeout). Connections the relay has not
closed by then are closed by the test (and counted as failures) so the next phase still runs.
Phase C, service: --sustained slow connections are kept up (reconnecting when closed) while a
well-behaved smtplib client sends a message every 0.25 s: each must get 250 within --latency-bound.
Phase D, cleanup: the relay's descriptors return to the baseline.

DATA-phase dribblers are not in this burst (each would also hold an upstream connection, which the
descriptor bound here does not allow for): relay.min_data_rate bounds them, tested in tests/relay
(smtp_session_test.cpp, "min_data_rate").

The bench form: --connections 1000 --max-connections 800 --sustained 600."""
import argparse
import asyncio
import random
import resource
import statistics
import threading
import time

import fault_support as fs

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("--connections", type=int, default=200)
parser.add_argument("--max-connections", type=int, default=150)
parser.add_argument("--sustained", type=int, default=100)
parser.add_argument("--sustain-seconds", type=float, default=8.0)
parser.add_argument("--timeout", type=float, default=2.0, help="relay idle/command timeout, seconds")
parser.add_argument("--slack", type=float, default=3.0, help="allowed lateness of a timeout, seconds")
parser.add_argument("--latency-bound", type=float, default=4.0)
args = parser.parse_args()

harness = fs.harness
r = harness.Results("faults.slow_clients")
DOMAIN = "slow.example"
POOL_SIZE = 4
KINDS = ("silent", "idle-dribble", "rcpt-dribble")
CLOSE_BOUND = args.timeout + args.slack

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = min(hard, max(soft, 4 * (args.connections + args.sustained) + 256))
resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # the relay inherits it too


class SlowConnection:
    """One slow client. closed_by_relay: seconds from the end of its set-up to the relay's close."""

    def __init__(self, kind, port):
        self.kind = kind
        self.port = port
        self.greeting = None
        self.closed_by_relay = None
        self.open_for = 0.0  # when closed by the test
        self.last_reply = b""
        self.error = None

    async def run(self, stop):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError as e:
            self.error = repr(e)
            return self
        try:
            line = await asyncio.wait_for(reader.readline(), 60)
            self.greeting = line[:3].decode(errors="replace") or "eof"
            if self.greeting != "220":
                return self
            if self.kind == "rcpt-dribble":
                writer.write(b"EHLO slow.test\r\n")
                while (line := await asyncio.wait_for(reader.readline(), 60))[3:4] == b"-":
                    pass
                writer.write(f"MAIL FROM:<app@{DOMAIN}>\r\n".encode())
                await asyncio.wait_for(reader.readline(), 60)
            payload = {"silent": b"", "idle-dribble": b"NOOP " + b"n" * 400,
                       "rcpt-dribble": b"RCPT TO:<" + b"r" * 400}[self.kind]
            started = time.monotonic()
            eof = asyncio.ensure_future(reader.read())  # returns at the relay's close, with its reply
            sent = 0
            while not eof.done() and not stop.is_set():
                if sent < len(payload):
                    writer.write(payload[sent:sent + 1])
                    sent += 1
                # The pace of the attack (about a byte a second), not a synchronisation.
                await asyncio.wait([eof], timeout=random.uniform(0.8, 1.2))
            if eof.done():
                self.closed_by_relay = time.monotonic() - started
                self.last_reply = eof.result()[-60:] if not eof.exception() else b""
            else:
                self.open_for = time.monotonic() - started
                eof.cancel()
        except (OSError, asyncio.TimeoutError) as e:
            self.error = repr(e)
        finally:
            writer.close()
        return self


class StopFlag:
    def __init__(self):
        self.flag = False

    def is_set(self):
        return self.flag

    def set(self):
        self.flag = True


def good_client(port, stop, latencies, failures):
    n = 0
    while not stop.is_set():
        n += 1
        mid = f"<good-{n}@{DOMAIN}>"
        started = time.monotonic()
        code, text = fs.send(port, f"app@{DOMAIN}", ["user@example.org"], fs.message(DOMAIN, mid, 2000), timeout=30)
        latencies.append(time.monotonic() - started)
        if code != 250:
            failures.append((mid, code, text))
        time.sleep(0.25)  # the client's own pace


async def fd_sampler(pid, stop, peak):
    while not stop.is_set():
        peak[0] = max(peak[0], fs.fd_count(pid))
        await asyncio.sleep(0.02)


async def scenario(relay, sink, baseline):
    pid = relay.proc.pid
    peak = [0]
    sampler_stop = StopFlag()
    sampler = asyncio.ensure_future(fd_sampler(pid, sampler_stop, peak))

    # Phase A + B.
    stop_a = StopFlag()
    burst = [SlowConnection(KINDS[i % len(KINDS)], relay.smtp_port) for i in range(args.connections)]
    started = time.monotonic()
    tasks = [asyncio.ensure_future(c.run(stop_a)) for c in burst]
    done, pending = await asyncio.wait(tasks, timeout=CLOSE_BOUND + 10)
    stop_a.set()
    if pending:
        await asyncio.wait(pending, timeout=30)
    greetings = {}
    for c in burst:
        greetings[c.greeting] = greetings.get(c.greeting, 0) + 1
    print(f"phase A: {args.connections} connections, over after {time.monotonic() - started:.1f}s, greetings {greetings}, "
          f"peak relay fds {peak[0]} (baseline {baseline})", flush=True)
    r.check(greetings.get("220", 0) + greetings.get("421", 0) == args.connections,
            f"every connection got a 220 or 421 greeting: {greetings}; errors "
            f"{[c.error for c in burst if c.error][:3]}")
    over = args.connections - args.max_connections
    r.check(greetings.get("421", 0) >= over // 2,
            f"connections over max_connections get 421: {greetings.get('421', 0)} of ~{over}")
    r.check(greetings.get("220", 0) >= args.max_connections // 2, "a good part of the burst was admitted")
    limit = baseline + args.max_connections + POOL_SIZE + 10  # +10: accepted sockets about to get 421
    r.check(peak[0] <= limit, f"relay never held more than max_connections clients: peak fds {peak[0]} <= {limit}")

    for kind in KINDS:
        admitted = [c for c in burst if c.kind == kind and c.greeting == "220" and not c.error]
        by_relay = [c.closed_by_relay for c in admitted if c.closed_by_relay is not None]
        late = [c for c in admitted if c.closed_by_relay is None or c.closed_by_relay > CLOSE_BOUND]
        worst = f"latest after {max(by_relay):.1f}s" if by_relay else "none"
        print(f"phase B: {kind}: {len(admitted)} admitted, {len(by_relay)} closed by the relay "
              f"({worst}), {len(late)} not closed within {CLOSE_BOUND:.1f}s", flush=True)
        r.check(admitted and not late,
                f"{kind}: every slow connection closed by the relay within {CLOSE_BOUND:.1f}s: {len(late)} were not "
                f"(e.g. open for {max([c.open_for for c in late] or [0]):.1f}s)")
        timed_out = [c for c in admitted if b"421 4.4.2" in c.last_reply]
        r.check(len(timed_out) == len(by_relay), f"{kind}: each close came with 421 4.4.2: {len(timed_out)}/{len(by_relay)}")

    # Phase C.
    stop_c = StopFlag()
    sustained = []

    async def keep_up(i):
        while not stop_c.is_set():
            c = SlowConnection(KINDS[i % len(KINDS)], relay.smtp_port)
            sustained.append(c)
            await c.run(stop_c)
            if c.greeting != "220" and not stop_c.is_set():
                await asyncio.sleep(0.2)  # refused: the attacker's retry pace

    keepers = [asyncio.ensure_future(keep_up(i)) for i in range(args.sustained)]
    latencies, failures = [], []
    good_stop = threading.Event()
    good = threading.Thread(target=good_client, args=(relay.smtp_port, good_stop, latencies, failures))
    good.start()
    await asyncio.sleep(args.sustain_seconds)  # the duration of the phase
    good_stop.set()
    await asyncio.get_running_loop().run_in_executor(None, good.join)
    stop_c.set()
    await asyncio.wait(keepers, timeout=60)
    sampler_stop.set()
    await sampler

    if latencies:
        q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
        print(f"phase C: {args.sustained} sustained slow connections ({len(sustained)} opened); well-behaved client: "
              f"{len(latencies)} messages, {len(failures)} not accepted, latency p50 {q[49] * 1000:.0f} ms, "
              f"p99 {q[98] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms", flush=True)
    r.check(len(latencies) >= 5, f"the well-behaved client got through several messages: {len(latencies)}")
    r.check(not failures, f"every message of the well-behaved client got 250: {failures[:3]}")
    r.check(latencies and max(latencies) < args.latency_bound,
            f"well-behaved client served within {args.latency_bound}s: max {max(latencies or [0]):.2f}s")
    late = [c for c in sustained if c.greeting == "220" and not c.error and
            (c.closed_by_relay or c.open_for) > CLOSE_BOUND]
    r.check(not late, f"phase C: sustained slow connections closed within {CLOSE_BOUND:.1f}s: {len(late)} were not")
    sink.wait_count(len(latencies) - len(failures) + 1)
    return pid


binary = args.binary
with harness.Sink() as sink:
    t = f"{args.timeout:g}s"
    relay = harness.Relay(binary, fs.relay_config(
        sink.port,
        relay_extra=(f'max_connections = {args.max_connections}\nmax_connections_per_ip = {args.connections * 10}\n'
                     f'idle_timeout = "{t}"\ncommand_timeout = "{t}"\ndata_timeout = "{t}"'),
        upstream_extra=f"pool_size = {POOL_SIZE}", upstream_command_timeout="30s"))
    try:
        key = fs.add_domain(binary, relay.dir + "/keys", DOMAIN)
        relay.start()
        code, text = fs.send_from(relay, DOMAIN, f"<warmup@{DOMAIN}>")
        r.check(code == 250, f"warm-up message: 250, got {code} {text}")
        def counted(pid):  # the upstream pool may keep idle connections: not a leak
            return fs.fd_count_except_peer(pid, sink.port)

        baseline = fs.settled_fd_count(relay.proc.pid, count=counted)
        pid = asyncio.run(scenario(relay, sink, baseline))
        fds = fs.wait_fds_back(pid, baseline, timeout=30, count=counted)
        print(f"phase D: relay fds (upstream pool aside) {fds}, baseline {baseline}", flush=True)
        r.check(fds <= baseline, f"relay descriptors back to baseline {baseline}: {fds}: {fs.describe_fds(pid)}")
        r.check(relay.proc.poll() is None, "relay still running")
        with sink.lock:
            received = [m for _, _, m in sink.messages]
        sample = random.sample(received, min(5, len(received)))
        ok, detail = fs.verify_all(sample, key.records())
        r.check(ok, f"sampled messages verify (dkimpy, Mail::DKIM): {detail}")
        fs.stop_cleanly(relay, r)
    finally:
        relay.cleanup()
r.finish()
