"""Local receivers for the benchmarks' network outputs (run_export_bench.py,
run_burst_bench.py): they run as threads of the benchmark, on 127.0.0.1.

    Discard()              reads and throws away (msgpack+tcp, syslog, Forward without
                           counting); .port
    Discard(forward=True)  Fluent Forward: parses each message and counts the events per
                           tag from each PackedForward's "size" option (.events: {tag: n},
                           .total(tag_prefix))
    Discard(ack=True)      the same, answering {"ack": chunk} to every message that carries
                           a chunk id
"""
import socket
import threading


class Discard:
    def __init__(self, ack=False, forward=False):
        if forward or ack:
            import msgpack  # only the Forward receiver parses (Debian: python3-msgpack)
            self.msgpack = msgpack
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.forward = forward or ack
        self.events = {}
        self.lock = threading.Lock()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        u = self.msgpack.Unpacker(raw=False, max_buffer_size=64 << 20) if self.forward else None
        while True:
            try:
                d = c.recv(1 << 20)
            except OSError:
                return
            if not d:
                return
            if u is None:
                continue
            u.feed(d)
            for msg in u:
                if not isinstance(msg, list) or len(msg) < 2:
                    continue
                opt = msg[2] if len(msg) > 2 and isinstance(msg[2], dict) else {}
                n = opt.get("size", 0)
                with self.lock:
                    self.events[msg[0]] = self.events.get(msg[0], 0) + n
                if "chunk" in opt:
                    c.sendall(self.msgpack.packb({"ack": opt["chunk"]}))

    def total(self, tag_prefix=""):
        with self.lock:
            return sum(n for t, n in self.events.items() if t.startswith(tag_prefix))

    def close(self):
        self.sock.close()
