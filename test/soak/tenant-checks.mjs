// The checks of one tenant against the log of answered writes (see checker.mjs): records and
// their versions, idempotency keys, the audit trail, search, files, members, usage and quotas.

/** The usage meter's documented window for read counts (durable-objects/usage/usage-meter.ts). */
export const READ_FLUSH_MS = 60_000;
export const READ_FLUSH_COUNTS = 1_000;

/** Runs every check of one tenant; returns how many of its file writes recovery settled. */
export async function checkTenant(c) {
  const { records, history } = await checkRecords(c);
  checkKeys(c, records);
  const { fileEvents, memberEvents, recovered } = await checkAudit(c, records, history);
  await checkSearch(c, records, history);
  const catalogue = await checkFiles(c, fileEvents);
  const members = await checkMembers(c, memberEvents);
  checkUsage(c, records, members, catalogue);
  return recovered;
}

/** Records, their versions and the acknowledged writes. */
async function checkRecords(c) {
  const { token, log, tally, all, where } = c;
  const records = await all(token, "/v1/collections/notes/records?include_deleted=true&limit=1000");
  const history = new Map();
  for (const r of records) {
    history.set(r.id, await all(token, `/v1/collections/notes/records/${r.id}/history?limit=1000`));
  }
  for (const w of log?.recs ?? []) {
    const v = history.get(w.id)?.find((h) => h.version === w.version);
    tally.check("acknowledged", v !== undefined && v.op === w.op && v.data.title === w.title, () =>
      where(`acknowledged ${w.op} of ${w.id} v${w.version} is ${v ? `${v.op} "${v.data.title}"` : "missing"}`),
    );
  }
  const lastAck = new Map();
  for (const w of log?.recs ?? []) lastAck.set(w.id, w);
  for (const r of records) {
    const h = history.get(r.id);
    const last = h.at(-1);
    const contiguous = h.every((x, i) => x.version === i + 1);
    tally.check(
      "recordsWhole",
      contiguous &&
        last?.version === r.version &&
        last.data.title === r.title &&
        (last.op === "delete") === Boolean(r.deletedAt),
      () =>
        where(
          `record ${r.id} v${r.version} deleted=${Boolean(r.deletedAt)} vs versions ${h.map((x) => `${x.version}:${x.op}`).join(",")}`,
        ),
    );
    const ack = lastAck.get(r.id);
    const maybes = (log?.maybeRecs ?? []).filter((m) => m.id === r.id && m.seq > (ack?.seq ?? 0)).length;
    const created = (log?.idem ?? []).some((e) => e.ids.includes(r.id));
    // Versions after the last acknowledged one come only from writes that got no answer.
    tally.check("recordsWhole", r.version - (ack?.version ?? 0) <= maybes + (ack || created ? 0 : 1), () =>
      where(
        `record ${r.id} at v${r.version}; last acknowledged v${ack?.version ?? "none"}, ${maybes} unanswered writes since`,
      ),
    );
  }
  return { records, history };
}

/** One effect per idempotency key. */
function checkKeys(c, records) {
  const { log, tally, where } = c;
  const byKey = new Map();
  for (const r of records) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.id]);
  const keys = new Set();
  for (const e of log?.idem ?? []) {
    const subKeys = e.batch ? [`${e.key}#0`, `${e.key}#1`] : [e.key];
    subKeys.forEach((k, i) => {
      keys.add(k);
      const found = byKey.get(k) ?? [];
      tally.check("oneEffect", found.length === 1 && found[0] === e.ids[i], () =>
        where(`key ${k} (acknowledged as ${e.ids[i]}) made ${found.length} records: ${found.join(",")}`),
      );
    });
  }
  for (const e of log?.idemOpen ?? []) {
    for (const k of e.kind === "batch" ? [`${e.key}#0`, `${e.key}#1`] : [e.key]) {
      keys.add(k);
      tally.check("oneEffect", (byKey.get(k) ?? []).length <= 1, () =>
        where(`unanswered key ${k} made ${byKey.get(k).length} records`),
      );
    }
  }
  for (const [k, ids] of byKey) {
    tally.check("oneEffect", keys.has(k), () => where(`records ${ids.join(",")} carry key ${k} that no request sent`));
  }
}

/** Audit: chain, seq, and each event against the change it names. */
async function checkAudit(c, records, history) {
  const { token, tally, get, all, where } = c;
  const events = await all(token, "/v1/audit?limit=1000");
  const verify = await get(token, "/v1/audit/verify");
  tally.check("chain", verify.json?.ok === true && verify.json.count === events.length, () =>
    where(`verify: ${JSON.stringify(verify.json)} over ${events.length} events`),
  );
  tally.check(
    "seqGapless",
    events.every((e, i) => e.seq === (events[0]?.seq ?? 1) + i) && (events[0]?.seq ?? 1) === 1,
    () =>
      where(
        `audit seqs ${events
          .map((e) => e.seq)
          .slice(0, 5)
          .join(",")}... (${events.length})`,
      ),
  );
  const recordEvents = new Map();
  const fileEvents = new Map();
  const memberEvents = new Map();
  for (const e of events) {
    const [kind, name] = [e.resource.slice(0, e.resource.indexOf(":")), e.resource.slice(e.resource.indexOf(":") + 1)];
    const into =
      kind === "record" ? recordEvents : kind === "file" ? fileEvents : kind === "member" ? memberEvents : null;
    if (into) into.set(name, [...(into.get(name) ?? []), e]);
  }
  const ACTION = {
    create: "record.create",
    update: "record.update",
    delete: "record.delete",
    restore: "record.restore",
  };
  for (const r of records) {
    const evs = recordEvents.get(`notes/${r.id}`) ?? [];
    recordEvents.delete(`notes/${r.id}`);
    const fromVersions = history.get(r.id).map((h) => `${ACTION[h.op]}${h.op === "create" ? "" : `@${h.version}`}`);
    const fromAudit = evs.map((e) => `${e.action}${e.action === "record.create" ? "" : `@${e.details?.version}`}`);
    tally.check("auditMatches", fromVersions.join() === fromAudit.join(), () =>
      where(`record ${r.id}: versions ${fromVersions} vs audit ${fromAudit}`),
    );
  }
  for (const [name, evs] of recordEvents) {
    tally.check("auditMatches", false, () =>
      where(`audit events ${evs.map((e) => e.action)} name record ${name}, which does not exist`),
    );
  }
  return { fileEvents, memberEvents, recovered: events.filter((e) => e.actor === "system:recovery").length };
}

/** Search. */
async function checkSearch(c, records, history) {
  const { token, tally, get, where } = c;
  const buckets = new Map();
  for (const r of records) {
    const b = /b(\d+)/.exec(r.body ?? "")?.[1];
    if (b !== undefined) buckets.set(b, [...(buckets.get(b) ?? []), r]);
  }
  for (const [b, rs] of buckets) {
    const hits = (await get(token, `/v1/search?q=b${b}&collection=notes&limit=100`)).json.items.map((h) => h.id);
    const live = rs.filter((r) => !r.deletedAt).map((r) => r.id);
    if (live.length >= 100) continue;
    const missing = live.filter((x) => !hits.includes(x));
    const stray = hits.filter((x) => !live.includes(x));
    tally.check("searchMatches", !missing.length && !stray.length, () =>
      where(`search b${b}: missing ${missing}, hits without a live record ${stray}`),
    );
  }
  const sample = records.filter((r) => !r.deletedAt && r.version > 1).slice(0, 8);
  for (const r of sample) {
    const now = r.title.split(" ")[1];
    const before = history.get(r.id).at(-2)?.data.title.split(" ")[1];
    const hitNow = (await get(token, `/v1/search?q=${now}&limit=100`)).json.items.some((h) => h.id === r.id);
    const hitBefore =
      before && before !== now
        ? (await get(token, `/v1/search?q=${before}&limit=100`)).json.items.some((h) => h.id === r.id)
        : false;
    tally.check("searchMatches", hitNow && !hitBefore, () =>
      where(`search for ${r.id}: current title hit=${hitNow}, replaced title hit=${hitBefore}`),
    );
  }
}

/** Files: catalogue, R2, acknowledged puts and deletes, audit. */
async function checkFiles(c, fileEvents) {
  const { id, token, log, tally, get, all, where, r2Keys } = c;
  const catalogue = await all(token, "/v1/files?limit=1000");
  const inCatalogue = new Map(catalogue.map((f) => [f.path, f]));
  for (const f of catalogue) {
    const head = await get(token, `/v1/files/${f.path}`, "HEAD");
    const body = await get(token, `/v1/files/${f.path}`);
    const sha = body.body ? await crypto.subtle.digest("SHA-256", body.body) : null;
    const hex = sha ? Buffer.from(sha).toString("hex") : null;
    tally.check(
      "filesMatch",
      head.status === 200 &&
        head.headers.get("etag") === f.etag &&
        Number(head.headers.get("content-length")) === f.size &&
        hex === f.sha256,
      () =>
        where(
          `file ${f.path}: catalogue ${f.size} B ${f.etag}, R2 answers ${head.status} ${head.headers.get("content-length")} B ${head.headers.get("etag")}`,
        ),
    );
  }
  const prefix = `tenant-${id}/files/`;
  const objects = new Set((await r2Keys(id)).map((k) => k.slice(prefix.length)));
  for (const path of objects) {
    tally.check("filesMatch", inCatalogue.has(path), () => where(`R2 object ${path} has no catalogue entry`));
  }
  for (const path of inCatalogue.keys()) {
    if (!objects.has(path)) tally.check("filesMatch", false, () => where(`catalogue entry ${path} has no R2 object`));
  }
  const lastFileOp = new Map();
  for (const e of [...(log?.files ?? []), ...(log?.maybeFiles ?? [])].sort((a, b) => a.seq - b.seq))
    lastFileOp.set(e.path, e);
  for (const [path, e] of lastFileOp) {
    if (e.k !== "file") continue; // the last change of this path got no answer: either state is fine
    const f = inCatalogue.get(path);
    tally.check("acknowledged", e.op === "put" ? f?.etag === e.etag && f.sha256 === e.sha256 : f === undefined, () =>
      where(`acknowledged ${e.op} of file ${path} (${e.etag ?? ""}), catalogue has ${f ? f.etag : "nothing"}`),
    );
  }
  const acknowledgedFileOps = (log?.files ?? []).length - [...lastFileOp.values()].filter((e) => e.k === "file").length;
  for (let i = 0; i < acknowledgedFileOps; i++) tally.check("acknowledged", true); // superseded, counted
  for (const path of new Set([...fileEvents.keys(), ...inCatalogue.keys()])) {
    const last = fileEvents.get(path)?.at(-1);
    tally.check("auditMatches", (last?.action === "file.upload") === inCatalogue.has(path), () =>
      where(
        `file ${path}: last audit event ${last?.action ?? "none"}, catalogue ${inCatalogue.has(path) ? "has it" : "has not"}`,
      ),
    );
  }
  return catalogue;
}

/** Members. */
async function checkMembers(c, memberEvents) {
  const { token, log, tally, get, where } = c;
  const members = (await get(token, "/v1/members")).json.items;
  const memberOf = new Map(members.map((m) => [m.sub, m]));
  const lastMemberOp = new Map();
  for (const e of [...(log?.members ?? []), ...(log?.maybeMembers ?? [])].sort((a, b) => a.seq - b.seq))
    lastMemberOp.set(e.sub, e);
  for (const e of log?.members ?? []) {
    const last = lastMemberOp.get(e.sub);
    if (last !== e) {
      tally.check("acknowledged", true);
      continue;
    }
    const m = memberOf.get(e.sub);
    tally.check(
      "acknowledged",
      e.op === "remove" ? m === undefined : m !== undefined && m.roles.join() === e.roles.join(),
      () =>
        where(`acknowledged member ${e.op} of ${e.sub} (${e.roles ?? ""}), members have ${m ? m.roles : "nothing"}`),
    );
  }
  for (const sub of new Set([...memberEvents.keys(), ...memberOf.keys()])) {
    if (sub === "owner") continue;
    const last = memberEvents.get(sub)?.at(-1);
    tally.check("auditMatches", (last !== undefined && last.action !== "member.remove") === memberOf.has(sub), () =>
      where(
        `member ${sub}: last audit event ${last?.action ?? "none"}, members ${memberOf.has(sub) ? "have" : "have not"}`,
      ),
    );
  }
  return members;
}

/** Usage and quotas. */
function checkUsage(c, records, members, catalogue) {
  const { st, limits, u, stops, tally, reads, where } = c;
  tally.check("usageWrites", u.writes >= st.writes && u.writes <= st.writes + st.writesUnanswered, () =>
    where(`writes counted ${u.writes}, answered ${st.writes} (+ ${st.writesUnanswered} unanswered)`),
  );
  // Reads answered in the window before each stop may be lost with the runtime's memory.
  const inWindow = stops.reduce(
    (a, s) => a + Math.min(st.readTimes.filter((t) => t <= s && t > s - READ_FLUSH_MS).length, READ_FLUSH_COUNTS),
    0,
  );
  const lost = st.reads - u.reads;
  tally.check("usageReads", lost <= inWindow && lost >= -st.readsUnanswered, () =>
    where(`reads answered ${st.reads}, counted ${u.reads}: ${lost} lost, window allows ${inWindow}`),
  );
  reads.answered += st.reads;
  reads.counted += u.reads;
  reads.lost += Math.max(0, lost);
  reads.maxLostPerTenant = Math.max(reads.maxLostPerTenant, lost);
  // The seconds of this tenant's reads the loss amounts to (its read rate over the run).
  const span = (st.readTimes.at(-1) - st.readTimes[0]) / 1000;
  if (lost > 0 && span > 0 && stops.length) reads.windowSeconds.push(lost / stops.length / (st.reads / span));
  tally.check("quotas", records.length <= limits.maxRecords && u.records === records.length, () =>
    where(`records ${records.length} (gauge ${u.records}), limit ${limits.maxRecords}`),
  );
  tally.check("quotas", members.length <= limits.maxMembers && u.members === members.length, () =>
    where(`members ${members.length} (gauge ${u.members}), limit ${limits.maxMembers}`),
  );
  const bytes = catalogue.reduce((a, f) => a + f.size, 0);
  tally.check("quotas", bytes <= limits.maxStorageBytes && u.storageBytes === bytes, () =>
    where(`stored ${bytes} B (gauge ${u.storageBytes}), limit ${limits.maxStorageBytes}`),
  );
}
