// SPDX-License-Identifier: MIT
// An independent OTLP/HTTP logs receiver for otlp_export.py: it decodes every request
// with the generated protobuf code that the npm package @opentelemetry/otlp-transformer
// ships (its build/src/generated/root.js, made by protobufjs from opentelemetry-proto;
// found through NODE_PATH), protobuf bodies with ExportLogsServiceRequest.decode and JSON
// bodies with ExportLogsServiceRequest.fromObject, gunzipped first when the request says
// Content-Encoding: gzip.
//
//   node otlp_receiver.js OUT [--port N] [--respond STATUS[:RETRY_AFTER]]...
//        [--respond partial:N] [--keep-alive-ms N] [--tls-cert PEM --tls-key PEM]
//
// Prints "listening PORT" once it accepts connections.  The requests are answered, in
// order, with the --respond statuses given (Retry-After seconds when given; partial:N is
// a 200 whose partial_success rejects N records), then with 200.  Appends one JSON line
// per request to OUT, before answering it:
//   {"request": n, "connection": c, "status": S, "path": P, "contentType": T, "gzip": bool,
//    "encoding": "protobuf" | "json", "body": {...}}
// body is the decoded request as toObject gives it (64-bit integers as decimal strings,
// NaN and infinities as {"$num": "NaN" | "Infinity" | "-Infinity"}); it is present only
// when the answer is 200 (a request refused by status is logged without it).  connection
// numbers the TCP connections in the order they were accepted; authorization and scope are
// the Authorization and X-Scope-OrgID headers (null when absent).  --keep-alive-ms: how long
// an idle kept-alive connection stays open before the receiver closes it (default 5000).
"use strict";

const fs = require("fs");
const http = require("http");
const https = require("https");
const zlib = require("zlib");
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root");

const svc = root.opentelemetry.proto.collector.logs.v1;
const Request = svc.ExportLogsServiceRequest;
const Response = svc.ExportLogsServiceResponse;

function usage() {
  process.stderr.write("usage: otlp_receiver.js OUT [--port N] [--respond STATUS[:SECONDS]]... " +
    "[--respond partial:N] [--keep-alive-ms N] [--tls-cert PEM --tls-key PEM]\n");
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.length < 1) usage();
const out = fs.openSync(argv[0], "a");
let port = 0, tlsCert = null, tlsKey = null, keepAliveMs = 5000;
const plan = [];
for (let i = 1; i < argv.length; i += 2) {
  const v = argv[i + 1];
  if (v === undefined) usage();
  switch (argv[i]) {
    case "--port": port = Number(v); break;
    case "--respond": {
      const [a, b] = v.split(":");
      plan.push(a === "partial" ? { status: 200, partial: Number(b) }
        : { status: Number(a), retryAfter: b });
      break;
    }
    case "--keep-alive-ms": keepAliveMs = Number(v); break;
    case "--tls-cert": tlsCert = fs.readFileSync(v); break;
    case "--tls-key": tlsKey = fs.readFileSync(v); break;
    default: usage();
  }
}

const convert = { longs: String, enums: Number, bytes: String, defaults: false, arrays: true };

function plain(v) {
  if (typeof v === "number" && !Number.isFinite(v)) return { $num: String(v) };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

let nrequests = 0;

function handle(req, res) {
  const chunks = [];
  // Close the connection once it has been idle for keepAliveMs after an answer.
  clearTimeout(req.socket.sledIdle);
  res.on("finish", () => {
    req.socket.sledIdle = setTimeout(() => req.socket.end(), keepAliveMs);
  });
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const n = ++nrequests;
    const answer = plan.length ? plan.shift() : { status: 200 };
    const ctype = (req.headers["content-type"] || "").split(";")[0].trim();
    const gz = (req.headers["content-encoding"] || "") === "gzip";
    const json = ctype === "application/json";
    const line = { request: n, connection: req.socket.sledConnection, status: answer.status, path: req.url, contentType: ctype,
      gzip: gz, encoding: json ? "json" : "protobuf",
      contentLength: Number(req.headers["content-length"]),
      authorization: req.headers["authorization"] || null,
      scope: req.headers["x-scope-orgid"] || null };
    let status = answer.status, reply;
    try {
      let body = Buffer.concat(chunks);
      if (gz) body = zlib.gunzipSync(body);
      if (req.method !== "POST" || req.url !== "/v1/logs") {
        status = 404;
      } else if (status === 200) {
        const msg = json ? Request.fromObject(JSON.parse(body.toString("utf8")))
          : Request.decode(body);
        line.body = plain(Request.toObject(msg, convert));
      }
    } catch (e) {
      status = 400;
      line.error = String(e);
    }
    line.status = status;
    fs.writeSync(out, JSON.stringify(line) + "\n");
    const headers = {};
    if (answer.retryAfter !== undefined) headers["Retry-After"] = answer.retryAfter;
    if (status === 200) {
      const r = answer.partial ? { partialSuccess: { rejectedLogRecords: answer.partial,
        errorMessage: "test receiver rejected " + answer.partial } } : {};
      if (json) {
        headers["Content-Type"] = "application/json";
        reply = Buffer.from(JSON.stringify(Response.toObject(Response.fromObject(r),
          { longs: String })));
      } else {
        headers["Content-Type"] = "application/x-protobuf";
        reply = Buffer.from(Response.encode(Response.fromObject(r)).finish());
      }
    } else {
      headers["Content-Type"] = "text/plain";
      reply = Buffer.from(line.error ? "bad request: " + line.error
        : "test receiver answers " + status + "\n");
    }
    res.writeHead(status, headers);
    res.end(reply);
  });
}

const server = tlsCert ? https.createServer({ cert: tlsCert, key: tlsKey }, handle)
  : http.createServer(handle);
server.keepAliveTimeout = 0; /* handle() closes idle connections itself */
let nconnections = 0;
server.on(tlsCert ? "secureConnection" : "connection", (sock) => {
  sock.sledConnection = ++nconnections;
});
server.listen(port, "127.0.0.1", () => {
  process.stdout.write("listening " + server.address().port + "\n");
});
process.on("SIGTERM", () => process.exit(0));
