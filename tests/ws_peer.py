#!/usr/bin/python3
"""A WebSocket server that is not ours, for integration tests: Debian's python3-websockets
(10.x, a strict RFC 6455 implementation) playing the part stampede-target plays, so a
test can check that Stampede's client talks to someone else's server as well as to ours.

    /usr/bin/python3 tests/ws_peer.py [--listen 127.0.0.1] [--port 0] [--ready-file F]
                                      [--delay-ms N] [--max-seconds 300]

Once it listens it prints one line to stdout, "listening 127.0.0.1:PORT" (flushed), and
writes the port number to --ready-file when given (written to F.tmp, then renamed, so a
reader never sees half a number). Endpoints (ws:// on that port):
  /echo         every message back (text stays text, binary stays binary), after
                ?delay_ms=N or --delay-ms (a timer per message, so order is kept);
  /production   every message to every open client of /production, the sender too;
  /seq          {"seq":n,"ts_us":...} every 10 ms, n = 1, 2, ... per client; ?reorder=1
                swaps every 10th pair like stampede-target (..., 8, 10, 9, 11, ...);
                what clients send is counted and ignored.
Any other path is refused with 404 before the upgrade. Plain HTTP (process_request):
  GET /__peer/counters  {"connections", "open", "refused", "messages_in", "messages_out",
                         "closes": {"CODE": n}}   (closes: the code the client sent in its
                         close frame, 1006 when none came; 1012 for connections we dropped)
  GET /__peer/drop      closes every open connection with 1012; {"dropped": n}
  GET /__peer/reset     zeroes the counters ("open" stays: it is a state); {}
Messages count data frames (text or binary), not pings, pongs or closes.

Bounded: exits 0 on SIGTERM or SIGINT and by itself after --max-seconds (default 300).
Loopback only unless --listen says otherwise (tests use 127.0.0.1).
"""
import argparse
import asyncio
import http
import json
import os
import signal
import sys
import time
import urllib.parse

try:
    import websockets
    import websockets.exceptions
except ImportError:             # another python3 first in PATH: use Debian's, which has it
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise SystemExit("ws_peer: needs python3-websockets (apt-get install -y python3-websockets)")

SEQ_MS = 10
ENDPOINTS = ("/echo", "/production", "/seq")


class Peer:
    """Counters and the set of open connections, all on the one asyncio thread."""

    def __init__(self, delay_ms):
        self.delay_ms = delay_ms
        self.open = set()               # every open connection
        self.production = set()         # the open ones on /production
        self.dropped = set()            # connections we closed with 1012
        self.reset()

    def reset(self):
        self.connections = self.refused = self.msgs_in = self.msgs_out = 0
        self.closes = {}

    def counters(self):
        return {"connections": self.connections, "open": len(self.open),
                "refused": self.refused, "messages_in": self.msgs_in,
                "messages_out": self.msgs_out,
                "closes": {str(k): v for k, v in sorted(self.closes.items())}}

    def count_close(self, ws):
        code = 1012 if ws in self.dropped else (ws.close_code or 1006)
        self.closes[code] = self.closes.get(code, 0) + 1
        self.dropped.discard(ws)

    def send_now(self, ws, msg):
        """Queues msg on ws without waiting (websockets.broadcast to one connection: no
        backpressure, skipped when ws is no longer open); counts it when it went out."""
        if ws.state is websockets.protocol.State.OPEN:
            websockets.broadcast([ws], msg)
            self.msgs_out += 1

    # --- plain HTTP ------------------------------------------------------------------

    async def process_request(self, path, headers):
        url = urllib.parse.urlsplit(path)
        if url.path == "/__peer/counters":
            return self.http_json(self.counters())
        if url.path == "/__peer/drop":
            n = 0
            for ws in list(self.open):
                if ws.state is websockets.protocol.State.OPEN:
                    self.dropped.add(ws)
                    asyncio.ensure_future(ws.close(1012, "service restart"))
                    n += 1
            return self.http_json({"dropped": n})
        if url.path == "/__peer/reset":
            self.reset()
            return self.http_json({})
        if url.path not in ENDPOINTS:
            self.refused += 1
            return (http.HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")],
                    b"ws endpoints: /echo, /production, /seq\n")
        return None                     # go on with the WebSocket handshake

    @staticmethod
    def http_json(obj):
        return (http.HTTPStatus.OK, [("Content-Type", "application/json")],
                json.dumps(obj).encode())

    # --- WebSocket -------------------------------------------------------------------

    async def handler(self, ws, path=None):
        url = urllib.parse.urlsplit(ws.path)
        query = urllib.parse.parse_qs(url.query)
        self.connections += 1
        self.open.add(ws)
        feed = None
        try:
            if url.path == "/production":
                self.production.add(ws)
            elif url.path == "/seq":
                feed = asyncio.ensure_future(self.seq_feed(ws, query.get("reorder") == ["1"]))
            delay_ms = self.delay_ms
            if "delay_ms" in query:
                delay_ms = max(0, int(query["delay_ms"][0]))
            loop = asyncio.get_running_loop()
            async for msg in ws:
                self.msgs_in += 1
                if url.path == "/echo":
                    if delay_ms:
                        loop.call_later(delay_ms / 1000.0, self.send_now, ws, msg)
                    else:
                        self.send_now(ws, msg)
                elif url.path == "/production":
                    for other in list(self.production):
                        self.send_now(other, msg)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            if feed:
                feed.cancel()
            self.production.discard(ws)
            # the handshake of the close (ours or theirs) may still be under way
            try:
                await asyncio.wait_for(ws.wait_closed(), 10)
            except asyncio.TimeoutError:
                pass
            self.open.discard(ws)
            self.count_close(ws)

    async def seq_feed(self, ws, reorder):
        """One message every SEQ_MS on an absolute schedule (no drift); with reorder the
        9th and 10th of every ten swap places, as stampede-target does."""
        loop = asyncio.get_running_loop()
        start, i = loop.time(), 0
        while ws.state is websockets.protocol.State.OPEN:
            i += 1
            await asyncio.sleep(max(0.0, start + i * SEQ_MS / 1000.0 - loop.time()))
            n = i
            if reorder and i % 10 == 9:
                n = i + 1
            elif reorder and i % 10 == 0:
                n = i - 1
            self.send_now(ws, json.dumps({"seq": n, "ts_us": time.time_ns() // 1000},
                                         separators=(",", ":")))


async def serve(args):
    peer = Peer(args.delay_ms)
    stop = asyncio.get_running_loop().create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(s, lambda: stop.done() or stop.set_result(None))
    server = await websockets.serve(peer.handler, args.listen, args.port,
                                    process_request=peer.process_request, compression=None,
                                    max_size=1 << 20, max_queue=1024, close_timeout=5)
    port = server.sockets[0].getsockname()[1]
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.ready_file + ".tmp", args.ready_file)
    print("listening %s:%d" % (args.listen, port), flush=True)
    try:
        await asyncio.wait_for(stop, args.max_seconds)
    except asyncio.TimeoutError:
        print("ws_peer: --max-seconds reached", file=sys.stderr, flush=True)
    server.close()
    try:
        await asyncio.wait_for(server.wait_closed(), 10)
    except asyncio.TimeoutError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=300)
    args = ap.parse_args()
    if args.delay_ms < 0 or args.max_seconds <= 0:
        ap.error("--delay-ms must be >= 0 and --max-seconds > 0")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
