// Plain HTTP load client for bench/export.sh: POSTs the same SCIM user payloads as tool_scim_probe's
// --gen-users (same attributes, same JSON shape) with N keep-alive connections, one request in flight each.
// usage: node export_load.js URL TOKEN_FILE COUNT CONCURRENCY PREFIX   -> prints "LOAD items=N ok=N seconds=S rate=R/s"
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const [url, tokenFile, countS, concS, prefix] = process.argv.slice(2);
const count = Number(countS), conc = Number(concS);
const token = fs.readFileSync(tokenFile, "utf8").trim();
const base = new URL(url.replace(/\/$/, "") + "/Users");
const agent = new http.Agent({keepAlive: true, maxSockets: conc});
const pad = (k) => String(k).padStart(6, "0");
function payload(k) {
  return JSON.stringify({
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    userName: `${prefix}${pad(k)}`, externalId: `${prefix}-ext-${pad(k)}`, displayName: `User ${prefix} ${pad(k)}`,
    active: true, name: {givenName: "User", familyName: `${prefix}${pad(k)}`},
    emails: [{type: "work", value: `${prefix}${pad(k)}@example.test`}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {department: "Load"},
  });
}
function post(body) {
  return new Promise((resolve) => {
    const req = http.request(base, {method: "POST", agent, headers: {
      "Authorization": `Bearer ${token}`, "Content-Type": "application/scim+json",
      "Accept": "application/scim+json", "Content-Length": Buffer.byteLength(body)}}, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", () => resolve(0));
    req.end(body);
  });
}
(async () => {
  let next = 0, ok = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({length: conc}, async () => {
    while (next < count) { const k = next++; if ((await post(payload(k))) === 201) ok++; }
  }));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`LOAD items=${count} ok=${ok} seconds=${s.toFixed(3)} rate=${Math.round(count / s)}/s`);
  agent.destroy();
})();
