#!/usr/bin/env node
// Turns the logs of one scripts/bench.sh run into BENCHMARKS.md.
//
//   node scripts/bench-report.mjs DIR [--output FILE] [--check]
//
// DIR holds machine.txt, steps.txt and one NAME.log per benchmark; every `BENCH {json}` line in
// a log is one figure of one repetition:
//   { bench, section, name, value, unit, rep, ref?, target?: { op, value, source } }
// For each figure the report gives min / median / max over the repetitions, the same for its
// ratio to `ref` (the figure of the same bench, section and repetition it is measured against),
// and, where an issue set a target, whether the median meets it.
// --check: fail unless every benchmark gave figures and each is finite (timings and sizes also
// non-zero): the smoke form's assertion that nothing has rotted.

import fs from "node:fs";
import path from "node:path";
import process from "node:process";

const BENCHES = [
  ["core", "Wallet core (native, release)", "`cargo bench -p wallet-core --bench core`: our presentation against bare Ed25519, JWT, PASETO and SD-JWT+KB with the same claims; sizes; signing."],
  ["browser-crypto", "Browser crypto (headless Chromium)", "`tests/browser/bench-crypto.mjs`: one page, our WebAssembly against @noble/ed25519 and WebCrypto Ed25519; cold start in a fresh context."],
  ["budget", "Page budgets (headless Chromium, phone profile)", "`tests/browser/budget.mjs` against the demo federation: each load and tap is one sample."],
  ["load", "Node: retrieval under load, certificate look-up", "`cargo bench -p server --bench load`: node and load generator in one process on 127.0.0.1."],
  ["hops", "Node: retrieval over 0, 1, 2 and 4 hops", "`cargo bench -p server --bench hops`: six nodes in one process, each on its own port and database."],
  ["disclosure", "Node: public search (社会公示)", "`cargo bench -p server --bench disclosure`: province and Luohe, one request at a time."],
  ["sizes", "Sizes", "What the page downloads from `pkg/`, raw and `gzip -9`; the wallet's whole transfer is under page budgets."],
];
const POSITIVE_UNITS = new Set(["ms", "µs", "req/s", "bytes", "version"]);

function args() {
  const a = process.argv.slice(2);
  const dir = a.find((x) => !x.startsWith("--"));
  if (!dir) throw new Error("usage: bench-report.mjs DIR [--output FILE] [--check]");
  const i = a.indexOf("--output");
  return { dir, output: i >= 0 ? a[i + 1] : null, check: a.includes("--check") };
}

function readKeyValues(file) {
  const out = {};
  if (!fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = line.match(/^(\S+) (.*)$/);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

function readFigures(dir) {
  const figures = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".log")).sort()) {
    for (const line of fs.readFileSync(path.join(dir, f), "utf8").split("\n")) {
      const i = line.indexOf("BENCH {");
      if (i < 0) continue;
      const rec = JSON.parse(line.slice(i + 6));
      rec.run = f;
      figures.push(rec);
    }
  }
  return figures;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function fmt(x, unit) {
  if (!Number.isFinite(x)) return String(x);
  if (unit === "bytes" || unit === "version") return Math.round(x).toLocaleString("en-US");
  if (unit === "share") return `${(x * 100).toFixed(1)} %`;
  const a = Math.abs(x);
  const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : 3;
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const fmtRatio = (x) => (Math.abs(x) >= 100 ? `${x.toFixed(0)}×` : Math.abs(x) >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);
const spread = (xs, f) => {
  if (xs.length === 1) return [f(xs[0]), "", ""];
  return [f(Math.min(...xs)), f(median(xs)), f(Math.max(...xs))];
};

/** Figures grouped by bench → section → name, in the order they were printed. */
function group(figures) {
  const benches = new Map();
  for (const r of figures) {
    if (!benches.has(r.bench)) benches.set(r.bench, new Map());
    const sections = benches.get(r.bench);
    if (!sections.has(r.section)) sections.set(r.section, new Map());
    const names = sections.get(r.section);
    if (!names.has(r.name)) names.set(r.name, []);
    names.get(r.name).push(r);
  }
  return benches;
}

function ratios(recs, names) {
  const ref = recs[0].ref;
  if (!ref || !names.has(ref)) return [];
  const byRep = new Map(names.get(ref).map((r) => [`${r.run}/${r.rep}`, r.value]));
  return recs.filter((r) => byRep.has(`${r.run}/${r.rep}`)).map((r) => r.value / byRep.get(`${r.run}/${r.rep}`));
}

function met(target, value) {
  return target.op === "<=" ? value <= target.value : value >= target.value;
}

function render(dir, figures) {
  const m = readKeyValues(path.join(dir, "machine.txt"));
  const steps = fs.existsSync(path.join(dir, "steps.txt")) ? fs.readFileSync(path.join(dir, "steps.txt"), "utf8").trim().split("\n") : [];
  const benches = group(figures);
  const L = [];
  L.push("# Benchmarks", "");
  L.push(`Written by \`scripts/bench.sh\`${m.mode === "smoke" ? " --smoke (figures meaningless: it only shows every benchmark runs)" : ""} on ${m.date}, commit ${m.commit}. Every figure is min / median / max over the repetitions (${m.reps} of each timed part per process; page loads, taps and cold starts count each sample as one), followed by its ratio to the same-run reference named beside it. Where an issue set a target, the median is compared with it. Rerun with \`scripts/bench.sh\` and compare.`, "");
  L.push("The load average below says how busy the machine was: on a shared machine the absolute figures move with other work, the ratios to same-run references much less.", "");
  L.push("## Machine", "");
  L.push("| | |", "|---|---|");
  for (const [k, label] of [["cpu", "CPU"], ["cores", "cores (nproc)"], ["memory", "memory"], ["kernel", "kernel"], ["rustc", "rustc"], ["chromium", "Chromium"], ["node", "Node.js"], ["postgresql", "PostgreSQL"], ["load_before", "load average at start (1, 5, 15 min)"], ["load_after", "load average at end"], ["seconds", "whole run, seconds"]]) {
    if (m[k]) L.push(`| ${label} | ${m[k]} |`);
  }
  if (steps.length) L.push(`| time per benchmark, s | ${steps.map((s) => s.split(" ").slice(0, 2).join(" ") + (s.endsWith("failed") ? " (FAILED)" : "")).join(", ")} |`);
  L.push("");

  // Targets first: what the issues asked, and where each stands.
  const targets = figures.filter((r) => r.target);
  if (targets.length) {
    L.push("## Targets from the issues", "");
    L.push("| target | section | figure | median (min – max) | threshold | verdict |", "|---|---|---|---:|---:|---|");
    const seen = new Set();
    for (const r of targets) {
      const key = `${r.bench}/${r.section}/${r.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const recs = benches.get(r.bench).get(r.section).get(r.name);
      const vals = recs.map((x) => x.value);
      const med = median(vals);
      const range = vals.length > 1 ? ` (${fmt(Math.min(...vals), r.unit)} – ${fmt(Math.max(...vals), r.unit)})` : "";
      L.push(`| ${r.target.source} | ${r.bench}: ${r.section} | ${r.name} | ${fmt(med, r.unit)} ${r.unit === "share" ? "" : r.unit}${range} | ${r.target.op === "<=" ? "≤" : "≥"} ${fmt(r.target.value, r.unit)} | ${met(r.target, med) ? "met" : "**not met**"} |`);
    }
    L.push("");
  }

  for (const [bench, title, blurb] of BENCHES) {
    L.push(`## ${title}`, "", blurb, "");
    const sections = benches.get(bench);
    if (!sections) {
      L.push("_No figures: this benchmark did not run or failed (see its log)._", "");
      continue;
    }
    for (const [section, names] of sections) {
      L.push(`### ${section}`, "");
      L.push("| figure | unit | min | median | max | ÷ reference: min | median | max | reference (same run) | target |");
      L.push("|---|---|---:|---:|---:|---:|---:|---:|---|---|");
      for (const [name, recs] of names) {
        const unit = recs[0].unit;
        const vals = recs.map((r) => r.value);
        const [lo, mid, hi] = spread(vals, (x) => fmt(x, unit));
        const rs = ratios(recs, names);
        const [rlo, rmid, rhi] = rs.length ? spread(rs, fmtRatio) : ["–", "", ""];
        const t = recs[0].target;
        const tcell = t ? `${t.op === "<=" ? "≤" : "≥"} ${fmt(t.value, unit)}: ${met(t, median(vals)) ? "met" : "**not met**"}` : "";
        const row = vals.length === 1 ? `| ${name} | ${unit} | | ${lo} | |` : `| ${name} | ${unit} | ${lo} | ${mid} | ${hi} |`;
        const rrow = rs.length > 1 ? ` ${rlo} | ${rmid} | ${rhi} |` : ` | ${rlo} | |`;
        L.push(`${row}${rrow} ${rs.length ? recs[0].ref : ""} | ${tcell} |`);
      }
      L.push("");
    }
  }
  return L.join("\n");
}

function check(figures, steps) {
  const problems = [];
  for (const [bench] of BENCHES) {
    const mine = figures.filter((r) => r.bench === bench);
    if (mine.length === 0) problems.push(`${bench}: no figures`);
    for (const r of mine) {
      if (!Number.isFinite(r.value)) problems.push(`${bench}: ${r.section}: ${r.name} = ${r.value}`);
      else if (POSITIVE_UNITS.has(r.unit) && !(r.value > 0)) problems.push(`${bench}: ${r.section}: ${r.name} = ${r.value} ${r.unit}`);
    }
  }
  for (const s of steps) if (s.endsWith("failed")) problems.push(`${s.split(" ")[0]}: exited non-zero`);
  return problems;
}

function main() {
  const { dir, output, check: checking } = args();
  const figures = readFigures(dir);
  const report = render(dir, figures);
  if (output) fs.writeFileSync(output, report + "\n");
  const stepsFile = path.join(dir, "steps.txt");
  const steps = fs.existsSync(stepsFile) ? fs.readFileSync(stepsFile, "utf8").trim().split("\n").filter(Boolean) : [];
  console.error(`bench-report: ${figures.length} figures from ${new Set(figures.map((r) => r.bench)).size} benchmarks${output ? ` → ${output}` : ""}`);
  if (checking) {
    const problems = check(figures, steps);
    if (problems.length) {
      console.error(`bench-report: the smoke check failed:\n  ${problems.join("\n  ")}`);
      process.exit(1);
    }
    console.error("bench-report: every benchmark ran and gave finite figures");
  }
}

main();
