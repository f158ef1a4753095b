// SPDX-License-Identifier: MIT
// An independent Fluent Forward receiver for forward_fluent.py: the FluentServer of the
// npm package @fluent-org/logger (found through NODE_PATH), logging what it decoded.
//
//   node fluent_server.js OUT (--port N | --unix PATH) [--shared-key K]
//        [--server-hostname H] [--user NAME:PASSWORD]... [--crash-after N]
//        [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
//
// With --tls-cert and --tls-key it listens with TLS (FluentServer's tlsOptions, given to
// Node's tls.createServer); --tls-client-ca also requires a client certificate that CA
// signed.
// Prints "listening PORT" (or "listening PATH") on stdout once it accepts connections.
// Appends JSON lines to OUT:
//   {"message": n, "tag": T, "option": {...}, "entries": base64}
//       one per transport message as received; entries are the raw msgpack bytes of its
//       entries (gunzipped when compressed), for a second, typed decode in Python
//   {"message": n, "tag": T, "time": {"sec": S, "nsec": N} or a number, "record": R}
//       one per entry as FluentServer decoded it; numbers JSON cannot carry are
//       {"$num": "NaN" | "Infinity" | "-Infinity"}, byte strings {"$bin": base64}
// Lines are written synchronously, before FluentServer acknowledges the chunk: an event
// that was acknowledged is in OUT even if this process is killed right after.
"use strict";

const fs = require("fs");
const zlib = require("zlib");
const { FluentServer } = require("@fluent-org/logger");
const protocol = require("@fluent-org/logger/build/src/protocol");
const EventTime = require("@fluent-org/logger/build/src/event_time").default;

function usage() {
  process.stderr.write("usage: fluent_server.js OUT (--port N | --unix PATH) " +
    "[--shared-key K] [--server-hostname H] [--user NAME:PASSWORD]... [--crash-after N] " +
    "[--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n");
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.length < 3) usage();
const out = fs.openSync(argv[0], "a");
const opts = { port: null, unix: null, sharedKey: null, hostname: "sled-test-receiver",
  users: {}, crashAfter: 0, tlsCert: null, tlsKey: null, tlsClientCa: null };
for (let i = 1; i < argv.length; i += 2) {
  const v = argv[i + 1];
  if (v === undefined) usage();
  switch (argv[i]) {
    case "--port": opts.port = Number(v); break;
    case "--unix": opts.unix = v; break;
    case "--shared-key": opts.sharedKey = v; break;
    case "--server-hostname": opts.hostname = v; break;
    case "--crash-after": opts.crashAfter = Number(v); break;
    case "--tls-cert": opts.tlsCert = fs.readFileSync(v); break;
    case "--tls-key": opts.tlsKey = fs.readFileSync(v); break;
    case "--tls-client-ca": opts.tlsClientCa = fs.readFileSync(v); break;
    case "--user": {
      const c = v.indexOf(":");
      if (c < 1) usage();
      opts.users[v.slice(0, c)] = v.slice(c + 1);
      break;
    }
    default: usage();
  }
}

function plain(v) {
  if (typeof v === "number" && !Number.isFinite(v)) return { $num: String(v) };
  if (typeof v === "bigint") return { $big: v.toString() };
  if (v instanceof EventTime) return { sec: v.epoch, nsec: v.nano };
  if (v instanceof Uint8Array) return { $bin: Buffer.from(v).toString("base64") };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

// FluentServer calls protocol.parseTransport for every transport message, then writes the
// ack, then emits the entries: log from inside parseTransport, so the log is ahead of
// the ack.  --crash-after N: once N entries are logged, die by SIGKILL right there, as a
// receiver that crashes after storing a chunk and before acknowledging it.
let nmessages = 0, nentries = 0;
const parseTransport = protocol.parseTransport;
protocol.parseTransport = function (message) {
  const parsed = parseTransport(message);
  const n = ++nmessages;
  const lines = [];
  const option = message[2] || {};
  let raw = message[1];
  if (raw instanceof Uint8Array) {
    if (option.compressed === "gzip") raw = zlib.gunzipSync(raw);
    lines.push(JSON.stringify({ message: n, tag: parsed.tag, option: plain(option),
      entries: Buffer.from(raw).toString("base64") }));
  } else {
    lines.push(JSON.stringify({ message: n, tag: parsed.tag, option: plain(option),
      entries: null }));
  }
  for (const [time, record] of parsed.entries)
    lines.push(JSON.stringify({ message: n, tag: parsed.tag, time: plain(time),
      record: plain(record) }));
  fs.writeSync(out, lines.join("\n") + "\n");
  nentries += parsed.entries.length;
  if (opts.crashAfter && nentries >= opts.crashAfter)
    process.kill(process.pid, "SIGKILL");
  return parsed;
};

const serverOpts = {
  listenOptions: opts.unix ? { path: opts.unix } : { port: opts.port || 0, host: "127.0.0.1" },
};
if (opts.sharedKey !== null) {
  serverOpts.security = {
    serverHostname: opts.hostname,
    sharedKey: opts.sharedKey,
    authorize: Object.keys(opts.users).length > 0,
    userDict: opts.users,
  };
}
if (opts.tlsCert) {
  serverOpts.tlsOptions = { cert: opts.tlsCert, key: opts.tlsKey };
  if (opts.tlsClientCa)
    Object.assign(serverOpts.tlsOptions, { ca: opts.tlsClientCa, requestCert: true,
      rejectUnauthorized: true });
}
const server = new FluentServer(serverOpts);
server.listen().then(() => {
  process.stdout.write("listening " + (opts.unix || server.port) + "\n");
});
for (const sig of ["SIGTERM", "SIGINT"])
  process.on(sig, () => server.close().then(() => process.exit(0)));
