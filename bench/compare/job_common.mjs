// What bench/compare/duckdb_job.mjs and polars_job.mjs share: arguments,
// the few config keys they read, the BUTTER-E quantile levels, Slurm hostlist
// expansion and the list of input files (telemetry grouped by header column
// order, in sorted path order; files that cannot be telemetry skipped).
// Not part of wattrun.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

// --config F --input DIR --output DIR [--threads N], or the usage and exit 2.
export function parseArgs(script) {
  const args = Object.fromEntries(
    process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
  for (const k of ['config', 'input', 'output']) {
    if (!args[k]) { console.error(`usage: node ${script} --config F --input DIR --output DIR [--threads N]`); process.exit(2); }
  }
  return args;
}

// step(name) prints the seconds since the previous step on stderr.
export function stepTimer() {
  let tPrev = performance.now();
  return (name) => { const t = performance.now(); console.error(`  ${name}: ${((t - tPrev) / 1000).toFixed(2)} s`); tPrev = t; };
}

// The few config keys the job needs, read with regular expressions (no YAML
// package): zones, ignore_z, sampling interval, idle quantile, node types.
export function readConfig(file) {
  const text = fs.readFileSync(file, 'utf8').replace(/#.*$/gm, '');
  const section = (name) => {
    const m = text.match(new RegExp(`^(\\s*)${name}:\\s*\\n([\\s\\S]*?)(?=^\\1\\S|(?![\\s\\S]))`, 'm'));
    return m ? m[2] : '';
  };
  const tel = section('telemetry'), sch = section('scheduler');
  const get = (src, key, dflt) => { const m = src.match(new RegExp(`\\b${key}:\\s*"?([^"\\s,}]+)"?`)); return m ? m[1] : dflt; };
  const types = [];
  const nt = section('node_types');
  const re = /name:\s*"?([\w.-]+)"?[\s\S]*?signature:\s*\{([^}]*)\}/g;
  let m;
  while ((m = re.exec(nt))) {
    const sig = m[2];
    types.push({
      name: m[1],
      cpus: Number(get(sig, 'cpus')), memory: Number(get(sig, 'memory_mb')),
      tmp_disk: Number(get(sig, 'tmp_disk_mb')), gres: get(sig, 'gres', '(null)'),
    });
  }
  const idle = text.match(/idle:\s*\{[^}]*quantile:\s*([\d.eE+-]+)/);
  return {
    telTz: get(tel, 'timezone', 'UTC'), ignoreZ: get(tel, 'ignore_z', 'false') === 'true',
    schedTz: get(sch, 'timezone', 'UTC'),
    interval: Number(get(text, 'sampling_interval_s', '60')),
    idleQ: idle ? Number(idle[1]) : 0.02, types,
  };
}

// BUTTER-E node_power_dist.csv levels.
export const LEVELS = [['p000001', 1e-6], ['p00001', 1e-5], ['p0001', 1e-4], ['p001', 1e-3]];
for (let p = 1; p <= 99; ++p) LEVELS.push([`p${p}`, p / 100]);
LEVELS.push(['p999', 0.999], ['p9999', 0.9999], ['p99999', 0.99999], ['p999999', 0.999999]);

// Slurm hostlist expansion: `r1i0n[1-3,5]`, `r1i[0-1]n[2,4]`, `a[001-003],b7`.
export function expandHostlist(expr) {
  expr = expr.trim();
  if (!expr || expr === 'None assigned' || expr === '(null)') return [];
  const items = [];
  let depth = 0, start = 0;
  for (let i = 0; i < expr.length; ++i) {
    if (expr[i] === '[') ++depth;
    else if (expr[i] === ']') --depth;
    else if (expr[i] === ',' && depth === 0) { items.push(expr.slice(start, i)); start = i + 1; }
  }
  items.push(expr.slice(start));
  const out = [];
  for (const item of items) {
    let names = [''];
    const re = /([^[]*)(?:\[([^\]]*)\])?/g;
    let m;
    while ((m = re.exec(item)) && m[0].length) {
      let parts = [m[1]];
      if (m[2] !== undefined) {
        parts = [];
        for (const r of m[2].split(',')) {
          const [lo, hi] = r.split('-');
          if (hi === undefined) { parts.push(m[1] + lo); continue; }
          for (let v = Number(lo); v <= Number(hi); ++v) parts.push(m[1] + String(v).padStart(lo.length, '0'));
        }
      }
      names = names.flatMap((n) => parts.map((p) => n + p));
    }
    out.push(...names);
  }
  return out;
}

// Spec step 4's statuses up to job_running, for each runs.csv row (fields
// run_id, slurm_job_id, host, s and u in ms, size, depth, bs, lr, is_gpu),
// given the node inventory (name -> {id, type}) and the sacct jobs (JobID ->
// {nl, hasStart, start, end, hosts}); a run that passes gets 'measure'.
export function joinStatuses(runRows, nodes, jobs, cfg) {
  const tolMs = cfg.interval * 1000;
  const isCount = (x) => x !== null && Number.isInteger(x) && x >= 0;
  const boolOf = { True: true, False: false, true: true, false: false, 1: true, 0: false };
  return runRows.map((r) => {
    const o = { run_id: r.run_id, slurm_job_id: r.slurm_job_id, node: r.host, node_type: '', is_gpu: '', status: '',
                run_time: null, samples: null, energy: null, s: r.s === null ? null : Number(r.s), u: r.u === null ? null : Number(r.u) };
    if (r.s === null || r.u === null || !isCount(r.size) || !isCount(r.depth) || !isCount(r.bs) || r.lr === null ||
        !(r.is_gpu in boolOf)) { o.status = 'bad_run_row'; return o; }
    o.is_gpu = boolOf[r.is_gpu] ? 'True' : 'False';
    if (o.u < o.s) { o.status = 'bad_window'; return o; }
    o.run_time = (o.u - o.s) / 1000;
    const n = nodes.get(r.host);
    if (!n || !n.type) { o.status = 'unknown_node'; return o; }
    o.node_type = n.type; o.node_id = n.id;
    const job = jobs.get(r.slurm_job_id);
    if (!job) { o.status = 'no_job'; return o; }
    job.hosts ??= new Set(expandHostlist(job.nl));
    if (!job.hosts.has(r.host)) { o.status = 'host_not_in_job'; return o; }
    if (!job.hasStart || o.s < job.start - tolMs || (job.end !== null && o.u > job.end + tolMs)) { o.status = 'outside_job_window'; return o; }
    if (job.end === null) { o.status = 'job_running'; return o; }
    o.status = 'measure';
    return o;
  });
}

// The statuses of the measured runs from their samples, zeros and energy
// (spec step 4 after job_running): energies[i] = {k (index into out), samples,
// zeros, energy}.
export function applyEnergies(out, energies, cfg) {
  for (const e of energies) {
    const o = out[e.k];
    o.samples = Number(e.samples);
    if (o.samples === 0) { o.status = 'missing_all'; continue; }
    o.energy = e.energy;
    if (o.samples < (o.u - o.s) / 1000 / cfg.interval - 1) o.status = 'missing_some';
    else if (Number(e.zeros) > 0) o.status = 'zero_watts';
    else o.status = 'ok';
  }
}

// runs_energy.csv of the spec from the joined runs (energy only for the
// statuses that have one), and a one-line summary of the statuses.
export function writeRunsEnergy(outDir, out) {
  const csvField = (v) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  const lines = ['run_id,slurm_job_id,node,node_type,is_gpu,status,run_time,samples,energy'];
  for (const o of out) {
    const measured = ['ok', 'missing_some', 'zero_watts'].includes(o.status);
    lines.push([o.run_id, o.slurm_job_id, o.node, o.node_type, o.is_gpu, o.status, o.run_time,
      o.samples, measured ? o.energy : null].map(csvField).join(','));
  }
  fs.writeFileSync(path.join(outDir, 'runs_energy.csv'), lines.join('\n') + '\n');
  const counts = {};
  for (const o of out) counts[o.status] = (counts[o.status] ?? 0) + 1;
  return `${out.length} runs (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')})`;
}

// The input's files: telemetry/**/*.csv[.gz] in sorted path order, grouped in
// runs of consecutive files with the same header column order (a header probe
// of the first 64 KiB, inflated if gzip: a file whose header lacks timestamp,
// node and watts, an empty file or a fake gzip is skipped, and so is a
// header-only file when skipHeaderOnly), and the sacct files.
export function inputFiles(input, { skipHeaderOnly = false } = {}) {
  const listFiles = (dir, ok) => {
    if (!fs.existsSync(dir)) return [];
    const out = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) out.push(...listFiles(p, ok));
      else if (ok(e.name)) out.push(p);
    }
    return out;
  };
  const byPath = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const allTelemetry = listFiles(path.join(input, 'telemetry'), (n) => n.endsWith('.csv') || n.endsWith('.csv.gz')).sort(byPath);
  const telemetryGroups = []; // [header column order, files]: consecutive files in path order
  const skipped = [];
  const buf = Buffer.alloc(65536);
  for (const f of allTelemetry) {
    let head, n;
    try {
      const fd = fs.openSync(f, 'r');
      n = fs.readSync(fd, buf, 0, buf.length, 0);
      fs.closeSync(fd);
      head = buf.subarray(0, n);
      if (f.endsWith('.gz')) head = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (e) { skipped.push(`${f} (${e.code ?? e.message})`); continue; }
    const line = head.toString('utf8').split('\n')[0].replace(/\r$/, '');
    const cols = line.split(',').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (!['timestamp', 'node', 'watts'].every((c) => cols.includes(c))) { skipped.push(`${f} (header '${line.slice(0, 40)}')`); continue; }
    if (skipHeaderOnly && n < buf.length && head.toString('utf8').split('\n').slice(1).every((l) => l.trim() === '')) continue;
    const key = cols.join(',');
    const last = telemetryGroups[telemetryGroups.length - 1];
    if (last && last[0] === key) last[1].push(f);
    else telemetryGroups.push([key, [f]]);
  }
  const sacctFiles = listFiles(path.join(input, 'sacct'), (n) => n.endsWith('.txt')).sort(byPath);
  return { telemetryGroups, skipped, sacctFiles };
}
