#!/usr/bin/python3
"""WebSocket checks of stampede-target against a strict peer (Debian's python3-websockets).

    tests/target/test_ws.py [BINARY]        (default bin/stampede-target)

Starts the target on 127.0.0.1 port 0 (and a second one with --ws-delay), checks echo,
broadcast, the sequenced feed, ws-drop, protocol failures and the counters, and ends with
"test_ws: N passed, M failed" (exit status 1 on any failure). Every wait is bounded.
"""
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request

try:
    import websockets
except ImportError:             # another python3 first in PATH: use Debian's, which has it
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise SystemExit("test_ws: needs python3-websockets (apt-get install -y python3-websockets)")

BIN = sys.argv[1] if len(sys.argv) > 1 else "bin/stampede-target"
T = 5.0                 # bound of every single wait, seconds
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def start(*args):
    p = subprocess.Popen([BIN, "--listen", "127.0.0.1:0", "--max-seconds", "120", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if not line.startswith("listening 127.0.0.1:"):
        p.kill()
        raise SystemExit(f"test_ws: target did not start: {line!r}")
    return p, int(line.rsplit(":", 1)[1])


def http(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=body.encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=T) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def counters(port):
    return json.loads(http(port, "GET", "/__target/counters")[1])


def connect(port, path, **kw):
    return websockets.connect(f"ws://127.0.0.1:{port}{path}", open_timeout=T, close_timeout=T,
                              max_size=2 << 20, compression=None, **kw)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), T)


async def wait_closed(ws):
    try:
        await asyncio.wait_for(ws.wait_closed(), T)
    except asyncio.TimeoutError:
        return None
    return ws.close_code


def raw_exchange(port, frame, path="/ws/echo"):
    """Handshake by hand, send frame as is, return everything the server sent after the
    101 until it closed the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=T)
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    try:
        s.sendall(frame)
    except OSError:
        pass
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        rest += chunk
    s.close()
    return head.decode(errors="replace"), rest


def masked(op, payload, fin=True):
    mask = b"\x01\x02\x03\x04"
    hdr = bytes([(0x80 if fin else 0) | op])
    n = len(payload)
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return hdr + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


def close_code_of(frames):
    """Code of the first close frame in unmasked server frames, or None."""
    i = 0
    while i + 2 <= len(frames):
        op, n = frames[i] & 0x0F, frames[i + 1] & 0x7F
        i += 2
        if n == 126:
            n = struct.unpack(">H", frames[i:i + 2])[0]; i += 2
        elif n == 127:
            n = struct.unpack(">Q", frames[i:i + 8])[0]; i += 8
        if op == 8:
            return struct.unpack(">H", frames[i:i + 2])[0] if n >= 2 else 1005
        i += n
    return None


async def test_echo(port):
    http(port, "POST", "/__target/reset")
    async with connect(port, "/ws/echo") as ws:
        await ws.send("hello ü")
        check("echo text", await recv(ws) == "hello ü")
        await ws.send(b"\x00\x01\xff")
        check("echo binary", await recv(ws) == b"\x00\x01\xff")
        await ws.send(["frag", "mented"])                    # continuation frames
        check("echo fragmented", await recv(ws) == "fragmented")
        big = os.urandom(1 << 20)
        await ws.send(big)
        check("echo 1 MiB", await recv(ws) == big)
        pong = await ws.ping(b"p")
        await asyncio.wait_for(pong, T)
        check("ping answered", True)
        await ws.close(1000)
        check("close 1000 echoed", ws.close_code == 1000, str(ws.close_code))
    c = counters(port)["ws"]
    check("counters connections", c["connections"] == 1, str(c))
    check("counters messages_in", c["messages_in"] == 4, str(c))
    check("counters messages_out", c["messages_out"] == 4, str(c))
    check("counters closes", c["closes"] == {"1000": 1}, str(c))
    check("counters open", c["open"] == 0, str(c))


async def test_broadcast(port):
    http(port, "POST", "/__target/reset")
    clients = [await connect(port, "/ws/production") for _ in range(3)]
    try:
        for k, ws in enumerate(clients):
            await ws.send(f"m{k}")
            for other in clients:
                got = await recv(other)
                check(f"broadcast m{k}", got == f"m{k}", got)
    finally:
        for ws in clients:
            await ws.close()
    c = counters(port)["ws"]
    check("broadcast counters", c["messages_in"] == 3 and c["messages_out"] == 9, str(c))


async def seq_of(port, path, n):
    async with connect(port, path) as ws:
        return [json.loads(await recv(ws)) for _ in range(n)]


async def test_seq(port):
    t0 = time.monotonic()
    msgs = await seq_of(port, "/ws/seq", 30)
    took = time.monotonic() - t0
    seqs = [m["seq"] for m in msgs]
    check("seq in order", seqs == list(range(1, 31)), str(seqs))
    check("seq has ts_us", all(isinstance(m["ts_us"], int) and m["ts_us"] > 1.6e15 for m in msgs))
    check("seq every 10 ms", 0.25 <= took <= 2.0, f"{took:.3f}s")
    seqs = [m["seq"] for m in await seq_of(port, "/ws/seq?reorder=1", 30)]
    out_of_order = [i for i in range(1, len(seqs)) if seqs[i] < seqs[i - 1]]
    check("reorder detected", len(out_of_order) == 3 and sorted(seqs) == list(range(1, 31)),
          str(seqs))


async def test_drop(port):
    http(port, "POST", "/__target/reset")
    a = await connect(port, "/ws/echo")
    b = await connect(port, "/ws/seq")
    st, body = http(port, "POST", "/__target/ws-drop")
    check("drop answer", st == 200 and json.loads(body)["dropped"] == 2, body)
    check("drop closes echo with 1012", await wait_closed(a) == 1012, str(a.close_code))
    check("drop closes seq with 1012", await wait_closed(b) == 1012, str(b.close_code))
    await asyncio.sleep(0.1)
    c = counters(port)["ws"]
    check("drop counters", c["closes"] == {"1012": 2} and c["open"] == 0, str(c))


def test_protocol(port):
    http(port, "POST", "/__target/reset")
    unmasked = b"\x81\x02hi"
    head, rest = raw_exchange(port, unmasked)
    check("raw handshake 101", head.startswith("HTTP/1.1 101") and
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head, head)
    check("unmasked frame closed with 1002", close_code_of(rest) == 1002, repr(rest[:20]))
    head, rest = raw_exchange(port, masked(1, b"\xff\xfe"))
    check("invalid UTF-8 closed with 1007", close_code_of(rest) == 1007, repr(rest[:20]))
    head, rest = raw_exchange(port, masked(0, b"x"))
    check("stray continuation closed with 1002", close_code_of(rest) == 1002, repr(rest[:20]))
    # only the header: the length alone decides (the payload would meet a closed socket)
    head, rest = raw_exchange(port, b"\x82\xff" + struct.pack(">Q", (1 << 20) + 1) + b"mask")
    check("message above 1 MiB closed with 1009", close_code_of(rest) == 1009, repr(rest[:20]))
    head, rest = raw_exchange(port, masked(8, struct.pack(">H", 4001) + b"bye"))
    check("close code echoed", close_code_of(rest) == 4001, repr(rest[:20]))
    c = counters(port)["ws"]
    check("protocol counters", c["closes"] == {"1002": 2, "1007": 1, "1009": 1, "4001": 1}, str(c))
    st, _ = http(port, "GET", "/ws/echo")
    check("plain GET refused 400", st == 400, str(st))
    st, _ = http(port, "GET", "/ws/nope")
    check("unknown ws path 404", st == 404, str(st))
    c = counters(port)
    check("refusals counted apart", c["ws"]["refused"] == 2 and c["total"] == 0, str(c))


async def test_delay(port):
    async with connect(port, "/ws/echo") as ws:
        lat = []
        for k in range(5):
            t0 = time.monotonic()
            await ws.send(f"d{k}")
            got = await recv(ws)
            lat.append(time.monotonic() - t0)
            check("delayed echo", got == f"d{k}")
        check("--ws-delay 50 holds", min(lat) >= 0.050 and max(lat) < 1.0, str(lat))


def main():
    p, port = start()
    pd, dport = start("--ws-delay", "50")
    try:
        asyncio.run(asyncio.wait_for(test_echo(port), 30))
        asyncio.run(asyncio.wait_for(test_broadcast(port), 30))
        asyncio.run(asyncio.wait_for(test_seq(port), 30))
        asyncio.run(asyncio.wait_for(test_drop(port), 30))
        test_protocol(port)
        asyncio.run(asyncio.wait_for(test_delay(dport), 30))
        st, _ = http(port, "GET", "/ping")
        check("HTTP still served", st == 200)
    except Exception as e:          # a crash of the target or a bounded wait that ran out
        check("no exception", False, repr(e))
    finally:
        for proc in (p, pd):
            proc.terminate()
            try:
                _, err = proc.communicate(timeout=T)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            check("exit 0 on SIGTERM", proc.returncode == 0, str(proc.returncode))
            check("no sanitizer report", "Sanitizer" not in err and "runtime error" not in err,
                  err[-2000:])
    print(f"test_ws: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
