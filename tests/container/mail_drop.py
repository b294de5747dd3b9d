"""A real SMTP upstream for the pod and compose tests, run inside the peer image: aiosmtpd on
ADDRESS:PORT (default 127.0.0.1:2500, on the pod's loopback), writing each message's bytes unchanged to DIR/<n>.eml (a host directory
mounted into the pod), so that the host verifies exactly what the relay sent."""
import asyncio
import itertools
import os
import sys

from aiosmtpd.controller import Controller

directory = sys.argv[1]
address = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
port = int(sys.argv[3]) if len(sys.argv) > 3 else 2500
counter = itertools.count(1)


class Drop:
    async def handle_DATA(self, server, session, envelope):
        n = next(counter)
        tmp = os.path.join(directory, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(directory, f"{n}.eml"))
        return f"250 2.0.0 Ok: queued as {n}"


controller = Controller(Drop(), hostname=address, port=port, decode_data=False)
controller.start()
print(f"mail_drop: listening on {address}:{port}", flush=True)
asyncio.get_event_loop().run_forever()
