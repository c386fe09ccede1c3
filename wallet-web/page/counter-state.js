// What the counter views share. The server is the record: a case with its retrievals and
// attachments comes from GET /api/counter/cases/{id}, an archive copy from GET
// /api/archive/{code}, the clerk from GET /api/staff/me. This tab only remembers which case is
// current (so 窗口受理 can offer to continue it); nothing about an applicant is kept in the
// browser of a shared counter PC. Every view of a retrieval checks its seal again here, from
// the sealed certificate and the issuer keys the owner vouched for.

import { api, now, Problem, session, wasm } from "/app/app.js";

const CASE_KEY = "ec.counter.case";
// The first version kept the clerk in localStorage and whole cases in sessionStorage.
localStorage.removeItem("ec.counter.clerk");

/** The id of the case this tab is handling, if any. */
export const currentCase = {
  get() {
    const id = sessionStorage.getItem(CASE_KEY);
    // A value from the first version (a JSON case with applicant data) is dropped, not read.
    if (id && !/^[A-Za-z0-9_-]+$/.test(id)) {
      sessionStorage.removeItem(CASE_KEY);
      return null;
    }
    return id;
  },
  set: (id) => sessionStorage.setItem(CASE_KEY, id),
  clear: () => sessionStorage.removeItem(CASE_KEY),
  /** Forgets `id` if it is the current one (finished and rated, or not found). */
  drop(id) {
    if (sessionStorage.getItem(CASE_KEY) === id) sessionStorage.removeItem(CASE_KEY);
  },
};

let me = null;
/**
 * The signed-in staff member (GET /api/staff/me), asked once per session: `{ id, name, role,
 * department, department_name, counter, node_name }`.
 */
export function staffMe() {
  const key = session.get("staff")?.refresh_token ?? "";
  if (me?.key !== key) {
    const entry = { key, promise: api("GET", "/api/staff/me", { role: "staff" }) };
    me = entry;
    // A failed answer is not kept: the next view asks again.
    entry.promise.catch(() => {
      if (me === entry) me = null;
    });
  }
  return me.promise;
}

/** Forgets the cached staff member (login, logout). */
export function forgetStaffMe() {
  me = null;
}

/**
 * The seal check in this browser with the WebAssembly core, against the issuer keys the owner
 * vouched for: `{ ok: true, view, at }` with the verified certificate, or `{ ok: false, err, at }`.
 */
export async function checkSeal(rec) {
  const at = now();
  try {
    const core = await wasm();
    const trust = new core.TrustList();
    for (const e of rec.issuer_keys ?? []) {
      trust.add(e.issuer, e.issuer_name, e.key, e.not_before, e.not_after ?? undefined);
    }
    return { ok: true, view: core.verifySealedCertificate(rec.sealed, trust, at), at };
  } catch (err) {
    return { ok: false, err: err ?? new Problem(0, "seal_invalid"), at };
  }
}

/** The retrieval's path as people read it: `漯河市… → 河南省… → 郑州市…`. */
export const routeText = (rec) => (rec.path_names?.length ? rec.path_names : rec.path ?? []).join(" → ");

/** The node that checked the holder's consent, by name where known. */
export function consentName(rec) {
  if (rec.consent_by_name) return rec.consent_by_name;
  const i = rec.path?.indexOf(rec.consent_by) ?? -1;
  return i >= 0 && rec.path_names?.[i] ? rec.path_names[i] : rec.consent_by;
}

/** Who sealed it, from the verified certificate. */
export const sealer = (check) => check.view.sealedBy || check.view.issuerName;
