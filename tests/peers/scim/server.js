// In-memory SCIM 2.0 test server (scimmy + scimmy-routers + express) for idsync's integration tests.
// usage: node server.js PORT [TOKEN]   -> http://127.0.0.1:PORT/scim/v2/{Users,Groups,Bulk,...}
//
// Besides plain SCIM (RFC 7643/7644, enterprise User extension, /Bulk, PATCH, filters, paging):
// - indexes on userName, externalId (Users) and displayName, externalId (Groups): `eq` filters on them and
//   uniqueness checks (409 on duplicate userName / group displayName) do not scan;
// - SCIM_DATA_FILE=path: loaded at start, saved atomically (tmp + fsync + rename) 200 ms after a change and at exit;
// - OAuth2 client credentials (optional): SCIM_OAUTH_CLIENT_ID / SCIM_OAUTH_CLIENT_SECRET enable
//   POST /oauth/token (form body or HTTP Basic); issued tokens live SCIM_OAUTH_TTL seconds (default 3600);
// - SCIM_BULK=0 disables /Bulk (ServiceProviderConfig then says bulk.supported=false);
// - admin endpoints (no auth, loopback only):
//     POST   /admin/faults  {"status":429,"count":5,"retry_after":1,"method":"POST","path":"/Users","every":1,
//                            "delay_ms":0}  -> the next matching requests get that status (list or single object)
//     DELETE /admin/faults  clear all faults
//     GET    /admin/stats   {"requests":{"POST /Users":n,...},"status":{"201":n},"writes":{"create Users":n,...},
//                            "patch_ops":{"add members":n,"remove members[filter]":n,...},
//                            "faults_injected":n,"users":n,"groups":n}
//     DELETE /admin/stats   reset counters
//     POST   /admin/reset   drop every resource and counter
//     POST   /admin/revoke-tokens   invalidate every issued OAuth2 token (the static token stays valid)
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const express = require("express");
const SCIMMY = require("scimmy").default;
const SCIMMYRouters = require("scimmy-routers").default;   // CJS build: named .default

const port = Number(process.argv[2] || process.env.SCIM_PORT || 8080);
const token = process.argv[3] || process.env.SCIM_TOKEN || "test-token";
const host = process.env.SCIM_HOST || "127.0.0.1";
if (!host.startsWith("127.")) throw new Error("loopback only");
const dataFile = process.env.SCIM_DATA_FILE || "";
const oauthClientId = process.env.SCIM_OAUTH_CLIENT_ID || "";
const oauthClientSecret = process.env.SCIM_OAUTH_CLIENT_SECRET || "";
const oauthTtl = Number(process.env.SCIM_OAUTH_TTL || 3600);
const LIST_ID = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

// ---------- counters ----------
let stats;
function resetStats() { stats = {requests: {}, status: {}, writes: {}, patch_ops: {}, faults_injected: 0}; }
resetStats();
const bump = (o, k) => { o[k] = (o[k] || 0) + 1; };

// ---------- storage with indexes ----------
const stores = {};
let saveTimer = null;
function scheduleSave() {
  if (!dataFile || saveTimer) return;
  saveTimer = setTimeout(() => { saveTimer = null; saveNow(); }, 200);
}
function saveNow() {
  if (!dataFile) return;
  const tmp = `${dataFile}.tmp.${process.pid}`;
  const data = JSON.stringify({Users: [...stores.Users.items.values()], Groups: [...stores.Groups.items.values()]});
  const fd = fs.openSync(tmp, "w", 0o600);
  try { fs.writeSync(fd, data); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  fs.renameSync(tmp, dataFile);
}

// One store per resource type: items by id, plus lower-cased value -> Set(id) indexes.
function makeStore(name, uniqueAttr, indexed) {
  const st = {name, uniqueAttr, indexed, items: new Map(), idx: {}};
  for (const a of indexed) st.idx[a.toLowerCase()] = new Map();
  st.unindex = (obj) => {
    for (const a of indexed) {
      const v = obj[a]; if (v === undefined || v === null) continue;
      const m = st.idx[a.toLowerCase()], k = String(v).toLowerCase(), s = m.get(k);
      if (s) { s.delete(obj.id); if (s.size === 0) m.delete(k); }
    }
  };
  st.index = (obj) => {
    for (const a of indexed) {
      const v = obj[a]; if (v === undefined || v === null) continue;
      const m = st.idx[a.toLowerCase()], k = String(v).toLowerCase();
      if (!m.has(k)) m.set(k, new Set());
      m.get(k).add(obj.id);
    }
  };
  st.put = (obj) => { const old = st.items.get(obj.id); if (old) st.unindex(old); st.items.set(obj.id, obj); st.index(obj); };
  st.del = (id) => { const old = st.items.get(id); if (!old) return false; st.unindex(old); st.items.delete(id); return true; };
  st.lookup = (attr, value) => {
    const s = st.idx[attr.toLowerCase()]?.get(String(value).toLowerCase());
    return s ? [...s].map((id) => st.items.get(id)) : [];
  };
  // Candidates for a filter: a top-level `eq` on an indexed attribute in every OR-branch narrows the scan.
  st.candidates = (filter) => {
    const out = new Map();
    for (const branch of filter) {
      const hit = Object.entries(branch).find(([k, v]) => st.idx[k.toLowerCase()] && Array.isArray(v) && v[0] === "eq" && typeof v[1] === "string");
      if (!hit) return [...st.items.values()];
      for (const o of st.lookup(hit[0], hit[1][1])) out.set(o.id, o);
    }
    return [...out.values()];
  };
  stores[name] = st;
  return st;
}

function inMemory(Resource, st) {
  Resource.ingress((res, instance) => {
    if (res.id && !st.items.has(res.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
    const data = JSON.parse(JSON.stringify(instance));
    const u = data[st.uniqueAttr];
    if (u !== undefined && st.lookup(st.uniqueAttr, u).some((o) => o.id !== res.id))
      throw new SCIMMY.Types.Error(409, "uniqueness", `${st.uniqueAttr} '${u}' already in use`);
    const now = new Date();
    const id = res.id ?? crypto.randomUUID();
    const created = st.items.get(id)?.meta?.created ?? now;
    const obj = {...data, id, meta: {created, lastModified: now}};
    st.put(obj);
    bump(stats.writes, `${res.id ? "update" : "create"} ${st.name}`);
    scheduleSave();
    return obj;
  });
  Resource.egress((res, req) => {
    if (res.id) {
      if (!st.items.has(res.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
      return st.items.get(res.id);
    }
    const all = res.filter ? res.filter.match(st.candidates(res.filter)) : [...st.items.values()];
    const c = res.constraints ?? {};
    // Page here (scimmy would otherwise render every resource before slicing); the real startIndex
    // is put back into the ListResponse by the send hook below.
    if (c.sortBy === undefined && req) {
      const start = Math.max(c.startIndex ?? 1, 1), count = Math.max(c.count ?? 20, 0);
      req.scimPage = {startIndex: start};
      res.constraints = {startIndex: 1, count, totalResults: all.length};
      return all.slice(start - 1, start - 1 + count);
    }
    return all;
  });
  Resource.degress((res) => {
    if (!st.del(res.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
    bump(stats.writes, `delete ${st.name}`);
    scheduleSave();
  });
}
const users = makeStore("Users", "userName", ["userName", "externalId", "displayName"]);
const groups = makeStore("Groups", "displayName", ["displayName", "externalId"]);
inMemory(SCIMMY.Resources.declare(SCIMMY.Resources.User).extend(SCIMMY.Schemas.EnterpriseUser, false), users);
inMemory(SCIMMY.Resources.declare(SCIMMY.Resources.Group), groups);

if (dataFile && fs.existsSync(dataFile)) {
  const d = JSON.parse(fs.readFileSync(dataFile, "utf8"));
  for (const o of d.Users ?? []) users.put(o);
  for (const o of d.Groups ?? []) groups.put(o);
}

// ---------- OAuth2 client credentials ----------
const issued = new Map();   // token -> expiry (ms)
function tokenValid(h) {
  if (h === `Bearer ${token}`) return true;
  const m = /^Bearer (.+)$/.exec(h || "");
  if (!m) return false;
  const exp = issued.get(m[1]);
  return exp !== undefined && exp > Date.now();
}

// ---------- faults ----------
let faults = [];
function pathKey(p) {   // "/Users/abc" -> "/Users/:id"
  const parts = p.split("?")[0].split("/").filter(Boolean);
  if (parts.length >= 2 && ["Users", "Groups"].includes(parts[0])) return `/${parts[0]}/:id`;
  return "/" + parts.join("/");
}

const app = express();
app.disable("x-powered-by");
// Express 5 re-parses req.query on every access, so scimmy-routers' string->number cast of
// startIndex/count is lost (paging ignored). Freeze req.query once per request.
app.use((req, res, next) => { Object.defineProperty(req, "query", {value: req.query, writable: true}); next(); });

const admin = express.Router();
admin.use(express.json());
admin.post("/faults", (req, res) => {
  const list = Array.isArray(req.body) ? req.body : [req.body];
  for (const f of list) {
    if (!Number.isInteger(f.status) || f.status < 100) return res.status(400).json({error: "status required"});
    faults.push({status: f.status, count: f.count ?? 1, retry_after: f.retry_after, method: f.method,
                 path: f.path, every: Math.max(f.every ?? 1, 1), delay_ms: f.delay_ms ?? 0, seen: 0});
  }
  res.json({faults});
});
admin.delete("/faults", (req, res) => { faults = []; res.json({faults}); });
admin.get("/stats", (req, res) => res.json({...stats, users: users.items.size, groups: groups.items.size}));
admin.delete("/stats", (req, res) => { resetStats(); res.json(stats); });
admin.post("/reset", (req, res) => {
  for (const st of [users, groups]) { for (const id of [...st.items.keys()]) st.del(id); }
  resetStats(); faults = []; scheduleSave(); res.json({ok: true});
});
admin.post("/revoke-tokens", (req, res) => { issued.clear(); res.json({ok: true}); });
app.use("/admin", admin);

app.post("/oauth/token", express.urlencoded({extended: false}), (req, res) => {
  if (!oauthClientId) return res.status(404).json({error: "oauth2 not enabled"});
  let id = req.body?.client_id, secret = req.body?.client_secret;
  const basic = /^Basic (.+)$/.exec(req.header("Authorization") || "");
  if (basic) {
    const dec = Buffer.from(basic[1], "base64").toString();
    const i = dec.indexOf(":");
    id = decodeURIComponent(dec.slice(0, i)); secret = decodeURIComponent(dec.slice(i + 1));
  }
  bump(stats.requests, "POST /oauth/token");
  if (req.body?.grant_type !== "client_credentials") return res.status(400).json({error: "unsupported_grant_type"});
  if (id !== oauthClientId || secret !== oauthClientSecret) return res.status(401).json({error: "invalid_client"});
  const t = crypto.randomBytes(24).toString("base64url");
  issued.set(t, Date.now() + oauthTtl * 1000);
  res.json({access_token: t, token_type: "Bearer", expires_in: oauthTtl});
});

// PatchOp operations by op and path ("remove members[filter]"), also inside Bulk, so tests can
// assert what kind of change was sent (e.g. never a full replace of members).
function countPatchOps(body) {
  for (const o of Array.isArray(body?.Operations) ? body.Operations : [])
    bump(stats.patch_ops, `${String(o.op).toLowerCase()} ${String(o.path ?? "").replace(/\[.*\]/, "[filter]")}`.trim());
}
app.use("/scim/v2", express.json({type: ["application/scim+json", "application/json"], limit: "2mb"}));
// Counters, fault injection and the ListResponse startIndex fix, in front of the SCIM routers.
app.use("/scim/v2", (req, res, next) => {
  const key = `${req.method} ${pathKey(req.path)}`;
  bump(stats.requests, key);
  if (req.method === "PATCH") countPatchOps(req.body);
  if (req.method === "POST" && pathKey(req.path) === "/Bulk")
    for (const op of Array.isArray(req.body?.Operations) ? req.body.Operations : [])
      if (String(op.method).toUpperCase() === "PATCH") countPatchOps(op.data);
  res.on("finish", () => bump(stats.status, String(res.statusCode)));
  const send = res.send.bind(res);
  res.send = (body) => {
    if (body && typeof body === "object" && req.scimPage && Array.isArray(body.schemas) && body.schemas.includes(LIST_ID))
      body.startIndex = req.scimPage.startIndex;
    return send(body);
  };
  for (const f of faults) {
    if (f.count <= 0) continue;
    if (f.method && f.method.toUpperCase() !== req.method) continue;
    if (f.path && f.path !== pathKey(req.path) && f.path !== req.path) continue;
    if (++f.seen % f.every !== 0) continue;
    f.count--;
    stats.faults_injected++;
    if (f.retry_after !== undefined) res.setHeader("Retry-After", String(f.retry_after));
    const reply = () => res.status(f.status).type("application/scim+json").send(JSON.stringify({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: String(f.status), detail: "injected fault"}));
    return f.delay_ms ? setTimeout(reply, f.delay_ms) : reply();
  }
  faults = faults.filter((f) => f.count > 0);
  next();
});
app.use("/scim/v2", new SCIMMYRouters({
  type: "bearer",
  docUri: "https://example.test/auth",
  handler: (req) => {
    if (!tokenValid(req.header("Authorization"))) throw new Error("Invalid or missing bearer token");
    return "ci-client";
  },
  context: (req) => req,
}));
if (process.env.SCIM_BULK === "0") SCIMMY.Config.set("bulk", false);

const server = app.listen(port, host, () => console.log(`SCIM listening on http://${host}:${port}/scim/v2 pid=${process.pid}`));
server.keepAliveTimeout = 30000;
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => {
  if (saveTimer) { clearTimeout(saveTimer); saveTimer = null; }
  try { saveNow(); } catch (e) { console.error(`saving ${dataFile} failed: ${e.message}`); }
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
