"""The soak test's upstream: an aiosmtpd server in its own process (so that parsing the relay's
output does not compete with the load generator for one interpreter lock). It counts every message
by Message-ID and keeps a uniform random sample (reservoir) of whole messages, which it verifies
with dkimpy when asked for its report.

Driven over a multiprocessing Pipe: it sends ("ready", port); it answers ("report", records) with a
summary dict; ("stop",) ends it."""
import random
import re
import threading

MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class Counter:
    def __init__(self, sample_size):
        self.lock = threading.Lock()
        self.counts = {}  # message-id -> times received
        self.received = 0
        self.bytes = 0
        self.sample_size = sample_size
        self.sample = []

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        end = content.find(b"\r\n\r\n")
        match = MESSAGE_ID.search(content, 0, end if end >= 0 else len(content))
        mid = match.group(1).decode(errors="replace") if match else "<none>"
        with self.lock:
            self.received += 1
            self.bytes += len(content)
            self.counts[mid] = self.counts.get(mid, 0) + 1
            if len(self.sample) < self.sample_size:
                self.sample.append(content)
            else:
                slot = random.randrange(self.received)
                if slot < self.sample_size:
                    self.sample[slot] = content
        return "250 2.0.0 Ok: queued as S%d" % self.received


def verify(message, records):
    import dkim

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return records.get(name.rstrip(".").lower(), "").encode()

    d = dkim.DKIM(message)
    count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
    return count > 0 and all(d.verify(idx=i, dnsfunc=dnsfunc) for i in range(count))


def run(conn, sample_size):
    import socket

    from aiosmtpd.controller import Controller

    counter = Counter(sample_size)
    with socket.socket() as probe:  # Controller cannot report the port it got for port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(counter, hostname="127.0.0.1", port=port, decode_data=False,
                            data_size_limit=64 * 1024 * 1024)
    controller.start()
    conn.send(("ready", port))
    try:
        while True:
            request = conn.recv()
            if request[0] == "stop":
                return
            if request[0] == "report":
                records = request[1]
                with counter.lock:
                    counts = dict(counter.counts)
                    sample = list(counter.sample)
                    received, size = counter.received, counter.bytes
                verified = sum(1 for m in sample if verify(m, records))
                conn.send({"received": received, "bytes": size, "counts": counts, "sample": len(sample),
                           "verified": verified})
    finally:
        controller.stop()
