"""A small SMTP proxy whose faults a test controls, in front of a real SMTP server.

`FaultProxy(upstream_host, upstream_port)` listens on 127.0.0.1 (`.host`, `.port`); each
client connection gets its own connection to the upstream server (an aiosmtpd
`smtp_server`), and the proxy reads the client's lines as it relays them. A fault is
armed for a *step* of the session:

    "greeting" (the connection itself), "ehlo", "mail", "rcpt", "data" (the DATA command),
    "body" (the first line of the message data), "dot" (the final ".")

and each fires once (`times`), on the first session that reaches the step:

    proxy.reply("mail", "451 4.3.0 later")  answer the command itself; the server never
                                            sees it (for "dot": the server gets the
                                            message, the client gets this reply instead)
    proxy.cut("rcpt")                       close the client's connection instead of
                                            relaying the command (the server never sees it)
    proxy.hold("data")                      keep the command until `release()`
    proxy.cut_after_reply("dot")            relay the command; the server answers; the
                                            client gets nothing and is cut
    proxy.hold_reply("dot")                 relay the command; keep the server's reply
                                            until `release()`

`reached(step)` waits until an armed fault's step is reached (e.g. to SIGKILL the client
then); `release(cut=True)` ends every hold by cutting the connection instead of going on.
A refused connection needs no proxy: a port nobody listens on (`free_port()`). Plain
SMTP only (a proxy cannot read inside TLS). Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
STEPS = ("greeting", "ehlo", "mail", "rcpt", "data", "body", "dot")
_VERBS = {b"EHLO": "ehlo", b"HELO": "ehlo", b"MAIL": "mail", b"RCPT": "rcpt", b"DATA": "data"}


@dataclass
class _Fault:
    step: str
    action: str  # reply, cut, hold, cut_after_reply, hold_reply
    reply: str = ""
    times: int = 1
    reached: threading.Event = field(default_factory=threading.Event)


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = LOOPBACK
        self.port = 0
        self.faults: list[_Fault] = []
        self.steps_seen: list[str] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._release: asyncio.Event | None = None
        self._cut_on_release = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smtp-fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")

    # Arming -------------------------------------------------------------------------

    def _arm(self, step: str, action: str, reply: str = "", times: int = 1) -> _Fault:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}")
        fault = _Fault(step, action, reply, times)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reply(self, step: str, reply: str, times: int = 1) -> _Fault:
        return self._arm(step, "reply", reply, times)

    def cut(self, step: str, times: int = 1) -> _Fault:
        return self._arm(step, "cut", times=times)

    def hold(self, step: str) -> _Fault:
        return self._arm(step, "hold")

    def cut_after_reply(self, step: str) -> _Fault:
        return self._arm(step, "cut_after_reply")

    def hold_reply(self, step: str) -> _Fault:
        return self._arm(step, "hold_reply")

    def reached(self, step: str, timeout: float = 60) -> bool:
        with self._lock:
            faults = [f for f in self.faults if f.step == step]
        return any(f.reached.wait(timeout) for f in faults)

    def release(self, *, cut: bool = False) -> None:
        """End every hold: go on, or (`cut`) close the held connections."""
        self._cut_on_release = cut

        def wake() -> None:
            assert self._release is not None
            self._release.set()
            self._release = asyncio.Event()

        self._loop.call_soon_threadsafe(wake)

    def close(self) -> None:
        self.release(cut=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _take(self, step: str) -> _Fault | None:
        with self._lock:
            self.steps_seen.append(step)
            for fault in self.faults:
                if fault.step == step and fault.times > 0:
                    fault.times -= 1
                    fault.reached.set()
                    return fault
        return None

    # The proxy ----------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._release = asyncio.Event()
        # A small receive buffer (no autotuning): a held client soon blocks writing, as
        # a server that stops reading would make it.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        listener.bind((LOOPBACK, 0))
        server = self._loop.run_until_complete(
            asyncio.start_server(self._session, sock=listener, limit=2**16)
        )
        self.port = listener.getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _held(self) -> bool:
        """Wait for release(); True: go on, False: cut."""
        assert self._release is not None
        await self._release.wait()
        return not self._cut_on_release

    async def _session(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        upstream_w = None
        try:
            fault = self._take("greeting")
            if fault and fault.action == "cut":
                return
            if fault and fault.action == "reply":
                client_w.write(fault.reply.encode() + b"\r\n")
                await client_w.drain()
                return
            upstream_r, upstream_w = await asyncio.open_connection(*self.upstream, limit=2**20)
            # What to do with the server's next complete reply: relay, cut, hold, replace.
            pending: list[_Fault] = []
            pump = asyncio.ensure_future(self._pump(upstream_r, client_w, pending))
            in_data = first_line = False
            while True:
                line = await client_r.readline()
                if not line:
                    break
                step = None
                if in_data:
                    if line == b".\r\n":
                        step, in_data = "dot", False
                    elif first_line:
                        step, first_line = "body", False
                else:
                    step = _VERBS.get(line[:4].upper())
                    if step == "data":
                        in_data = first_line = True
                fault = self._take(step) if step else None
                if fault is not None:
                    if fault.action == "reply" and step != "dot":
                        in_data = False if step == "data" else in_data
                        client_w.write(fault.reply.encode() + b"\r\n")
                        await client_w.drain()
                        continue
                    if fault.action == "cut":
                        break
                    if fault.action == "hold" and not await self._held():
                        break
                    if fault.action in ("cut_after_reply", "hold_reply", "reply"):
                        pending.append(fault)
                upstream_w.write(line)
                await upstream_w.drain()
                if pump.done():
                    break
            pump.cancel()
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            for writer in (client_w, upstream_w):
                if writer is not None:
                    with contextlib.suppress(Exception):
                        writer.close()

    async def _pump(self, upstream_r, client_w, pending: list[_Fault]) -> None:
        """Relay the server's replies, applying a fault armed for the next one."""
        while True:
            line = await upstream_r.readline()
            if not line:
                client_w.close()
                return
            final = len(line) < 4 or line[3:4] != b"-"
            if final and pending:
                fault = pending.pop(0)
                if fault.action == "cut_after_reply":
                    client_w.close()
                    return
                if fault.action == "hold_reply" and not await self._held():
                    client_w.close()
                    return
                if fault.action == "reply":
                    line = fault.reply.encode() + b"\r\n"
            client_w.write(line)
            await client_w.drain()
