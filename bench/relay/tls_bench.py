"""TLS as deployed (not a test): STARTTLS with a new connection per message, the relay's CPU per
message and handshakes/s, with an ECDSA P-256 or an RSA-2048 certificate, with and without session
resumption, against one RSA-2048 DKIM signature measured in the same run.

    /usr/bin/python3 bench/relay/tls_bench.py BUILD/app/dkim-relay [--messages 2000] [--concurrency 8]
                     [--size 2000] [--modes ecdsa,ecdsa-resume,rsa,rsa-resume,plain]
                     [--callgrind 200] [--upstream-tls] [--perf] [--rounds 1]

For each mode a fresh relay starts with that certificate (smtp-sink upstream, pooled), the client
workers (one process each, Python's ssl) each open a connection per message: EHLO, STARTTLS,
EHLO, MAIL, RCPT, DATA, QUIT; with "-resume" each worker offers the TLS 1.3 ticket of its previous
connection. Modes "dual..." serve an ECDSA tls_cert and an RSA tls_extra_cert together; with
"-rsaclient" the client takes only RSA (TLS 1.2, ECDHE-RSA), e.g. dual-rsaclient. "+nodelay" anywhere
in a mode sets TCP_NODELAY on the client's socket (Nagle is on by default, as in most mailers). Printed per mode: relay CPU per message (utime+stime from /proc, so other load on a
shared machine disturbs it less than wall time), handshakes/s, the share of connections resumed,
and the ratio to one RSA-2048 signature (`openssl speed`, same run).

--upstream-tls puts the upstream behind TLS too: the relay does STARTTLS (required, certificate
verified against the run's own CA file) to a private Postfix smtpd (ECDSA P-256 certificate) that
hands each transaction to smtp-sink through smtpd_proxy_filter (bench/relay/tls_upstream.py; run as
root). The relay's upstream connections are pooled (pool_size 4) and reused, and a new one offers
the TLS session of the last. Printed at the end: how many upstream TLS handshakes Postfix saw
(its smtpd processes' connections are not in the relay's CPU figure).

--floor FLOOR_BINARY (build/bench/tls_floor_server, bench/relay/tls_floor_server.cpp) runs the same
clients, mode by mode and interleaved with the relay's runs, against the floor of such a message: a
plain blocking server that does only what any relay must (accept, one reply per command, STARTTLS
with OpenSSL's own defaults and one ticket, SHA-256 of the body, one RSA-2048 signature, forwarding
over its pooled upstream connection), with the same certificate and upstream. Printed: its CPU per
message and the relay's ratio to it. Not for the "dual" modes (one certificate).

--callgrind N runs each mode again with the relay under callgrind over N connections (after a
warm-up, counters zeroed) and prints instructions per connection and the inclusive share of the
TLS handshake (SSL_do_handshake) and of the DKIM signature (EVP_DigestSign*): instruction counts do
not move with the machine's load.
"""
import argparse
import glob
import multiprocessing
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import relay_bench as rb  # noqa: E402
import tls_upstream  # noqa: E402

fs = rb.fs


def make_certificate(work, kind):
    return tls_upstream.make_certificate(work, kind)


def message(size):
    head = (f"From: <{rb.SENDER}>\r\nTo: <to@example.org>\r\nSubject: tls bench\r\n\r\n").encode()
    line = b"x" * 76 + b"\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


class Dialogue:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def reply(self):
        while True:
            lines = self.buf.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if len(line) >= 4 and line[3:4] == b" ":
                    self.buf = b"\r\n".join(lines[i + 1:])
                    return int(line[:3])
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data

    def command(self, text, expect):
        self.sock.sendall(text)
        code = self.reply()
        if code != expect:
            raise RuntimeError(f"{text[:20]!r}: {code}")


def worker(port, count, size, mode, results):
    resume = "-resume" in mode
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if "-rsaclient" in mode:  # a client that can only take an RSA certificate (TLS 1.2, ECDHE-RSA)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384")
    payload = message(size) + b".\r\n"
    session = None
    reused = 0
    kinds = set()
    for _ in range(count):
        raw = socket.create_connection(("127.0.0.1", port))
        if "+nodelay" in mode:  # off by default, as in PHP's and Python's smtplib clients
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        d = Dialogue(raw)
        if d.reply() != 220:
            raise RuntimeError("no greeting")
        d.command(b"EHLO client.test\r\n", 250)
        d.command(b"STARTTLS\r\n", 220)
        tls = ctx.wrap_socket(raw, server_hostname="relay.test", session=session if resume else None)
        if tls.session_reused:
            reused += 1
        else:  # the certificate served: id-ecPublicKey in its DER, or not
            kinds.add("ECDSA" if b"\x2a\x86\x48\xce\x3d\x02\x01" in tls.getpeercert(True) else "RSA")
        d = Dialogue(tls)
        d.command(b"EHLO client.test\r\n", 250)
        d.command(f"MAIL FROM:<{rb.SENDER}>\r\n".encode(), 250)
        d.command(b"RCPT TO:<to@example.org>\r\n", 250)
        d.command(b"DATA\r\n", 354)
        d.command(payload, 250)
        d.command(b"QUIT\r\n", 221)
        session = tls.session  # the TLS 1.3 ticket arrived after the handshake
        tls.close()
    results.put((reused, kinds))


def plain_worker(port, count, size, mode, results):
    payload = message(size) + b".\r\n"
    for _ in range(count):
        raw = socket.create_connection(("127.0.0.1", port))
        if "+nodelay" in mode:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        d = Dialogue(raw)
        d.reply()
        d.command(b"EHLO client.test\r\n", 250)
        d.command(f"MAIL FROM:<{rb.SENDER}>\r\n".encode(), 250)
        d.command(b"RCPT TO:<to@example.org>\r\n", 250)
        d.command(b"DATA\r\n", 354)
        d.command(payload, 250)
        d.command(b"QUIT\r\n", 221)
        raw.close()
    results.put((0, set()))


def drive(port, messages, concurrency, size, mode):
    target = plain_worker if mode.startswith("plain") else worker
    results = multiprocessing.Queue()
    per = max(1, messages // concurrency)
    procs = [multiprocessing.Process(target=target, args=(port, per, size, mode, results))
             for _ in range(concurrency)]
    started = time.monotonic()
    for p in procs:
        p.start()
    answers = [results.get(timeout=1800) for _ in procs]
    reused = sum(r for r, _ in answers)
    drive.certificates = sorted(set().union(*(k for _, k in answers)))
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError("a client worker failed")
    return per * concurrency, time.monotonic() - started, reused


def start(binary, sink_port, work, mode, wrapper=None, upstream_ca=None):
    extra = "max_connections = 5000\nmax_connections_per_ip = 5000\n"
    if mode.startswith("dual"):  # ECDSA tls_cert + RSA tls_extra_cert
        cert, key = make_certificate(work, "ecdsa")
        rsa_cert, rsa_key = make_certificate(work, "rsa")
        extra += (f'tls_cert = "{cert}"\ntls_key = "{key}"\n'
                  f'tls_extra_cert = "{rsa_cert}"\ntls_extra_key = "{rsa_key}"\n')
    elif not mode.startswith("plain"):
        cert, key = make_certificate(work, mode.split("-")[0].split("+")[0])
        extra += f'tls_cert = "{cert}"\ntls_key = "{key}"\n'
    config = fs.relay_config(sink_port, relay_extra=extra, upstream_extra="pool_size = 4",
                             upstream_command_timeout="60s")
    if upstream_ca:  # STARTTLS required to the upstream, its certificate checked (IP SAN 127.0.0.1)
        config = config.replace('starttls = "none"', f'starttls = "required"\nca_file = "{upstream_ca}"')
    relay = rb.harness.Relay(wrapper or binary, config)
    fs.add_domain(binary, os.path.join(relay.dir, "keys"), rb.DOMAIN)
    relay.start()
    return relay


class FloorServer:
    """bench/relay/tls_floor_server.cpp for one mode: same certificate, same upstream."""

    def __init__(self, binary, upstream_port, work, mode, upstream_tls):
        dkim_key = os.path.join(work, "floor-dkim.pem")
        if not os.path.exists(dkim_key):
            subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                            dkim_key], check=True, capture_output=True)
        self.port = rb.harness.free_port()
        command = [binary, str(self.port), str(upstream_port), dkim_key]
        if not mode.startswith("plain"):
            cert, key = make_certificate(work, mode.split("-")[0].split("+")[0])
            command += ["--cert", cert, "--key", key]
        if upstream_tls:
            command.append("--upstream-tls")
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("tls_floor_server did not start: " + self.proc.stderr.read())

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def floor_run(args, upstream_port, work, mode):
    """CPU per message of the floor server in this mode (ms), after the same warm-up as the relay."""
    floor = FloorServer(os.path.abspath(args.floor), upstream_port, work, mode, args.upstream_tls)
    try:
        drive(floor.port, 4 * args.concurrency, args.concurrency, args.size, mode)
        cpu0 = rb.cpu_seconds(floor.proc.pid)
        user0, system0 = user_system(floor.proc.pid)
        count, elapsed, reused = drive(floor.port, args.messages, args.concurrency, args.size, mode)
        user1, system1 = user_system(floor.proc.pid)
        rb.out(f"{mode}: floor server: user {1000 * (user1 - user0) / count:.3f} ms/msg, "
               f"system {1000 * (system1 - system0) / count:.3f} ms/msg")
        return (rb.cpu_seconds(floor.proc.pid) - cpu0) / count * 1000, reused, count
    finally:
        floor.stop()


def user_system(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def perf_summary(perf_data, mode):
    """Share of the relay's samples by object (self), and inclusive under the TLS handshake and the
    DKIM signature (children: the call graph of each sample)."""
    rows = []
    text = subprocess.run(["perf", "report", "-i", perf_data, "--no-children", "--sort", "dso", "--stdio", "-g", "none"],
                          capture_output=True, text=True).stdout
    objects = [line.strip() for line in text.splitlines() if "%" in line and not line.startswith("#")][:6]
    rows.append(f"{mode} (perf, self by object): " + "; ".join(" ".join(o.split()) for o in objects))
    text = subprocess.run(["perf", "report", "-i", perf_data, "--children", "--sort", "symbol", "--stdio", "-g", "none"],
                          capture_output=True, text=True).stdout
    # libssl and libcrypto have no symbols here (no debug package): their own functions are addresses,
    # so the handshake is found through asio's handshake_op in the call chains (dwarf unwinding); it
    # also holds the session's short completion handler (set up the next read).
    wanted = {"TLS handshake (asio ssl handshake_op)": lambda n: "handshake_op" in n,
              "DKIM signature (RSA_sign)": lambda n: n == "RSA_sign",
              "TLS records in (asio ssl read_op)":
                  lambda n: "ssl::detail::read_op" in n and n.startswith("boost::asio::ssl::detail::io_op"),
              "sendto": lambda n: n == "__x64_sys_sendto", "recvfrom": lambda n: n == "__x64_sys_recvfrom",
              "epoll_wait": lambda n: n == "__x64_sys_epoll_wait", "accept4": lambda n: n == "__x64_sys_accept4",
              "close": lambda n: n == "__x64_sys_close"}
    found = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+[\d.]+%\s+\[[.k]\]\s+(.*?)(?:\s+-\s+-)?\s*$", line)
        if not m:
            continue
        for label, match in wanted.items():
            if match(m.group(2)):
                found[label] = max(found.get(label, 0.0), float(m.group(1)))
    rows.append(f"{mode} (perf, inclusive): " + ", ".join(f"{k} {v:.1f} %" for k, v in found.items()))
    for row in rows:
        rb.out(row)
    return rows


def inclusive_shares(dump):
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump], capture_output=True,
                          text=True).stdout
    total = None
    found = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?(.*)", line)
        if not m:
            continue
        value = int(m.group(1).replace(",", ""))
        name = m.group(2)
        if "PROGRAM TOTALS" in name:
            total = value
        for key in ("SSL_do_handshake", "EVP_DigestSignFinal", "SSL_new", "SSL_free", "SSL_read", "SSL_write",
                    "tls_construct_new_session_ticket", "EVP_DigestUpdate"):
            if name.endswith(":" + key) or name.split(" ")[0].endswith(":" + key):
                found[key] = max(found.get(key, 0), value)
    return total, found


def upstream_handshakes(front):
    """What Postfix's log says of the relay's upstream connections: connections and TLS sessions."""
    try:
        log = open(os.path.join(front.dir, "maillog")).read()
    except OSError:
        return "no Postfix log"
    return (f"{log.count(' connect from ')} connections to Postfix smtpd over the whole run "
            f"(all modes, warm-ups and callgrind runs included)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--modes", default="ecdsa,ecdsa-resume,rsa,rsa-resume,plain")
    parser.add_argument("--rounds", type=int, default=1, help="the modes' CPU runs, interleaved (A B C, A B C)")
    parser.add_argument("--callgrind", type=int, default=0, help="connections per mode under callgrind (0: none)")
    parser.add_argument("--keep-dumps", help="directory to copy the callgrind dumps to (callgrind_annotate them)")
    parser.add_argument("--skip-cpu", action="store_true", help="only the callgrind runs")
    parser.add_argument("--strace", type=int, default=0,
                        help="then N more connections under strace -c: syscalls per connection, by name")
    parser.add_argument("--floor", help="build/bench/tls_floor_server: the same clients against the floor, interleaved")
    parser.add_argument("--upstream-tls", action="store_true",
                        help="the upstream is Postfix smtpd with STARTTLS in front of smtp-sink (run as root)")
    parser.add_argument("--perf", action="store_true",
                        help="perf record -e cpu-clock -g the relay over the timed run: share by object and in the handshake")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="dkr-tls-bench-")
    sink = rb.SmtpSink()
    front, upstream_port, upstream_ca = None, sink.port, None
    rows = []
    try:  # the finally below stops the sink and the Postfix front whatever fails (even printing)
        if args.upstream_tls:
            upstream_ca, upstream_key = tls_upstream.make_certificate(work, "ecdsa", "upstream.test", "127.0.0.1")
            front = tls_upstream.PostfixTlsFront(sink.port, upstream_ca, upstream_key)
            upstream_port = front.port
            rb.out(f"upstream: Postfix smtpd with STARTTLS (ECDSA P-256) on port {front.port} -> smtp-sink "
                   f"(smtpd_proxy_filter); the relay's pool: starttls required, pool_size 4")
        sign_ms = 1.0
        if not args.skip_cpu:
            sign_ms = 1000.0 / rb.openssl_rsa2048_signs(1)
            rb.out(f"one RSA-2048 signature (openssl speed, one core): {sign_ms:.3f} ms, load {rb.load_average()}")
        modes = args.modes.split(",")
        for index, mode in enumerate(modes * args.rounds):
            first_round = index < len(modes)
            relay = None if args.skip_cpu else start(binary, upstream_port, work, mode, upstream_ca=upstream_ca)
            try:
                if relay is None:
                    raise StopIteration
                drive(relay.smtp_port, 4 * args.concurrency, args.concurrency, args.size, mode)  # warm-up
                cpu0 = rb.cpu_seconds(relay.proc.pid)
                user0, system0 = user_system(relay.proc.pid)
                recorder = None
                if args.perf:
                    perf_data = os.path.join(work, f"perf.{mode}")
                    recorder = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "1000", "--call-graph", "dwarf,16384", "-o",
                                                 perf_data, "-p", str(relay.proc.pid)],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(1)
                count, elapsed, reused = drive(relay.smtp_port, args.messages, args.concurrency, args.size, mode)
                cpu = (rb.cpu_seconds(relay.proc.pid) - cpu0) / count * 1000
                user1, system1 = user_system(relay.proc.pid)
                rb.out(f"{mode}: user {1000 * (user1 - user0) / count:.3f} ms/msg, "
                       f"system {1000 * (system1 - system0) / count:.3f} ms/msg")
                if recorder:
                    recorder.send_signal(2)
                    recorder.wait(timeout=120)
                    rows.extend(perf_summary(perf_data, mode))
                    if args.keep_dumps:
                        os.makedirs(args.keep_dumps, exist_ok=True)
                        shutil.copy(perf_data, os.path.join(args.keep_dumps, f"perf.{mode}"))
                if args.strace and first_round:
                    n = args.strace
                    per, top = rb.strace_syscalls(relay.proc.pid, relay.smtp_port, args.size, n, args.concurrency,
                                                  send=lambda: drive(relay.smtp_port, n, args.concurrency, args.size,
                                                                     mode))
                    srow = (f"{mode} (strace -c, {n} connections): {per:.1f} syscalls per connection: "
                            + ", ".join(f"{name} {c:.1f}" for c, name in top[:10]))
                    rb.out(srow)
                    rows.append(srow)
                row = (f"{mode}: relay CPU {cpu:.3f} ms/msg, {count / elapsed:,.0f} connections (handshakes)/s, "
                       f"{reused} of {count} resumed, certificate {'/'.join(drive.certificates) or '-'}, "
                       f"load {rb.load_average()}, "
                       f"{cpu / sign_ms:.2f}x one RSA-2048 signature ({sign_ms:.3f} ms)")
                rb.out(row)
                rows.append(row)
                if args.floor and not mode.startswith("dual"):
                    floor_cpu, floor_reused, floor_count = floor_run(args, upstream_port, work, mode)
                    row = (f"{mode}: floor server CPU {floor_cpu:.3f} ms/msg ({floor_reused} of {floor_count} resumed), "
                           f"{floor_cpu / sign_ms:.2f}x one RSA-2048 signature; the relay {cpu / floor_cpu:.2f}x the floor, "
                           f"{cpu - floor_cpu:+.3f} ms/msg")
                    rb.out(row)
                    rows.append(row)
            except StopIteration:
                pass
            finally:
                if relay:
                    relay.cleanup()
            if args.callgrind and first_round:
                wrapper = rb.callgrind_wrapper(os.path.join(work, "relay-under-callgrind"), binary, f"{work}/cg.%p")
                relay = start(binary, upstream_port, work, mode, wrapper, upstream_ca)
                try:
                    pid = relay.proc.pid
                    drive(relay.smtp_port, 8, 2, args.size, mode)
                    subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
                    count, _, reused = drive(relay.smtp_port, args.callgrind, 2, args.size, mode)
                    before = set(glob.glob(f"{work}/cg.{pid}*"))
                    subprocess.run(["callgrind_control", "-d", mode, str(pid)], check=True, capture_output=True)
                    dump = sorted(set(glob.glob(f"{work}/cg.{pid}*")) - before, key=os.path.getmtime)[-1]
                    total, found = inclusive_shares(dump)
                    if args.keep_dumps:
                        os.makedirs(args.keep_dumps, exist_ok=True)
                        shutil.copy(dump, os.path.join(args.keep_dumps, f"callgrind.{mode}"))
                    parts = ", ".join(f"{k} {v / count / 1e6:.2f} M ({100.0 * v / total:.0f} %)"
                                      for k, v in sorted(found.items(), key=lambda kv: -kv[1]))
                    row = (f"{mode} (callgrind, {count} connections, {reused} resumed): {total / count / 1e6:.2f} M "
                           f"instructions per connection; inclusive: {parts}")
                    rb.out(row)
                    rows.append(row)
                finally:
                    relay.cleanup()
    finally:
        if front:
            handshakes = upstream_handshakes(front)
            rows.append(f"upstream TLS: {handshakes}")
            front.stop()
        sink.stop()
        shutil.rmtree(work, ignore_errors=True)
    rb.out("summary:")
    for row in rows:
        rb.out("  " + row)


if __name__ == "__main__":
    main()
