// The job of `wattrun run --no-fit --no-report` (spec sections 2.1-2.4 and 2.6),
// done the way a user would do it with DuckDB from Node.js: the comparison
// point of bench/compare_bench.sh. Not part of wattrun.
//
// Usage: node bench/compare/duckdb_job.mjs --config configs/eagle.yaml --input FACILITY --output DIR [--threads 2]
// Writes DIR/runs_energy.csv, DIR/idle_power.csv, DIR/node_power_dist.csv and
// prints the time of each step on stderr.
//
// What it does, and where it falls short of the spec (as well as DuckDB allows):
// - telemetry: every telemetry/**/*.csv[.gz] in sorted path order, read by
//   read_csv (one per run of files with the same column order, in one
//   statement) with ignore_errors (rows with a wrong field count or a watts that
//   is not a number are dropped silently, not counted per reason). Files whose
//   header lacks timestamp/node/watts, empty files and files that are not
//   really gzip are skipped. A truncated gzip stream is read up to the damage
//   (DuckDB 1.5 does not fail on it); if the combined read fails anyway, the
//   files are read one by one and those that fail are skipped whole.
// - times: a trailing Z is dropped and the time read as local in the
//   configured zone; an explicit +HH:MM offset is honoured. Local times are
//   converted once per distinct value (ICU); a nonexistent local time drops
//   the row; a repeated-hour time is resolved per node and local day by order
//   (a pass ends where the local time goes back; first pass daylight time).
// - dedup on (node, instant), first in (sorted path, line) order kept.
// - runs -> sacct allocation lines (last line of a JobID wins) -> hostlist
//   (expanded in JS) -> windows with one sampling interval of tolerance.
// - energy: linear interpolation, ends interpolated or held (spec step 3),
//   from the samples inside the window and the nearest sample on each side.
// - statuses of spec step 4; idle power = quantile_cont(watts, q) pooled per
//   node type; per-node quantile table with the BUTTER-E levels.
// Not done: filters, standardization, overheads, model, quality.csv.
import fs from 'node:fs';
import path from 'node:path';
import { LEVELS, applyEnergies, expandHostlist, inputFiles, joinStatuses, parseArgs, readConfig, stepTimer, writeRunsEnergy } from './job_common.mjs';
import duckdb, { DuckDBInstance } from '@duckdb/node-api';

// ---------- arguments, configuration, input files (job_common.mjs) ----------
const args = parseArgs('duckdb_job.mjs');
const threads = args.threads ?? '2';
const t0 = performance.now();
const step = stepTimer();
const cfg = readConfig(args.config);
const input = path.resolve(args.input);
const outDir = path.resolve(args.output);
fs.mkdirSync(outDir, { recursive: true });
const { telemetryGroups, skipped, sacctFiles } = inputFiles(input);
const sql = (s) => `'${String(s).replaceAll("'", "''")}'`;
const sqlList = (fs_) => `[${fs_.map(sql).join(',')}]`;

// ---------- DuckDB ----------
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads), preserve_insertion_order: 'true' });
const con = await instance.connect();
const run = (s) => con.run(s);
const rows = async (s) => (await con.runAndReadAll(s)).getRowObjectsJS();
await run(`SET TimeZone = 'UTC'`);

// Local wall time (ms since epoch, read as if UTC) -> the UTC instants that
// show it in zone Z: kind 0 nonexistent, 1 unique, 2 ambiguous (early, late).
// The two candidates use the zone's offsets one day before and after.
for (const [name, zone] of [['tel', cfg.telTz], ['sched', cfg.schedTz]]) {
  await run(`CREATE MACRO ${name}_off(x) AS epoch_ms(timezone(${sql(zone)}, to_timestamp(x // 1000))) - (x // 1000) * 1000`);
  await run(`CREATE MACRO ${name}_local(le) AS (
    WITH c AS (SELECT le - ${name}_off(le - 86400000) AS c1, le - ${name}_off(le + 86400000) AS c2),
         v AS (SELECT c1, c2, c1 + ${name}_off(c1) = le AS ok1, c2 + ${name}_off(c2) = le AS ok2 FROM c)
    SELECT {'kind': CASE WHEN ok1 AND ok2 AND c1 <> c2 THEN 2 WHEN ok1 OR ok2 THEN 1 ELSE 0 END,
            'early': CASE WHEN ok1 AND ok2 THEN least(c1, c2) WHEN ok1 THEN c1 WHEN ok2 THEN c2 END,
            'late': CASE WHEN ok1 AND ok2 THEN greatest(c1, c2) WHEN ok1 THEN c1 WHEN ok2 THEN c2 END} FROM v)`);
}

// nodes.csv -> node ids and types (a HOSTNAMES hostlist is expanded).
const nodeRows = await rows(`SELECT HOSTNAMES h, TRY_CAST(CPUS AS BIGINT) cpus, TRY_CAST(MEMORY AS BIGINT) mem,
  TRY_CAST(TMP_DISK AS BIGINT) tmp, trim(GRES) gres FROM read_csv(${sql(path.join(input, 'nodes.csv'))}, all_varchar = true, header = true)`);
const nodes = new Map();
for (const r of nodeRows) {
  if (r.cpus === null || r.mem === null || r.tmp === null) continue;
  const t = cfg.types.find((ty) => ty.cpus === Number(r.cpus) && ty.memory === Number(r.mem) &&
    ty.tmp_disk === Number(r.tmp) && ty.gres === (r.gres ?? '(null)'));
  for (const h of expandHostlist(r.h ?? '')) if (!nodes.has(h)) nodes.set(h, { id: nodes.size, name: h, type: t ? t.name : '' });
}
await run(`CREATE TABLE nodes (node_id INTEGER, node VARCHAR, node_type VARCHAR)`);
{
  const app = await con.createAppender('nodes');
  for (const n of nodes.values()) { app.appendInteger(n.id); app.appendVarchar(n.name); app.appendVarchar(n.type); app.endRow(); }
  app.closeSync();
}
step('nodes');

// ---------- telemetry ----------
// rid: the row's place in (sorted path, line) order (group << 40 | row);
// L: local wall time in ms; TRY_CAST(... AS TIMESTAMP) drops a trailing Z,
// but would also drop an explicit offset: so the rare long time strings are
// kept (lng) and those with an offset become instants (abs) just after.
// (Testing every row for an offset in the read doubles its time.)
const shortLen = cfg.ignoreZ ? 20 : 19;
const hasOffset = `(lng[-6] IN ('+', '-') OR lng[-5] IN ('+', '-')${cfg.ignoreZ ? '' : " OR lng[-1] = 'Z'"})`;
const readTelemetry = (g, files, order) => `SELECT (${g}::BIGINT << 40) + row_number() OVER () AS rid, timestamp AS ts, node, watts
  FROM read_csv(${sqlList(files)},
    columns = {${order.split(',').map((c) => `${sql(c)}: ${c === 'watts' ? "'DOUBLE'" : "'VARCHAR'"}`).join(', ')}},
    header = true, delim = ',', quote = '"', escape = '"', auto_detect = false, ignore_errors = true)`;
async function createTel(sources) {
  await run(`CREATE OR REPLACE TABLE tel AS
    SELECT rid, n.node_id, watts, epoch_ms(TRY_CAST(ts AS TIMESTAMP)) AS L,
           CASE WHEN strlen(ts) > ${shortLen} THEN ts END AS lng, NULL::BIGINT AS abs
    FROM (${sources.join(' UNION ALL ')}) p JOIN nodes n ON p.node = n.node
    WHERE watts >= 0`);
  await run(`UPDATE tel SET abs = epoch_ms(TRY_CAST(lng AS TIMESTAMPTZ)), L = NULL WHERE lng IS NOT NULL AND ${hasOffset}`);
}
try {
  await createTel(telemetryGroups.map(([order, files], g) => readTelemetry(g, files, order)));
} catch (e) {
  // A file that fails in the middle (damaged gzip): read them one by one.
  console.error(`  combined telemetry read failed (${String(e.message).split('\n')[0]}); reading file by file`);
  const good = [];
  let g = 0;
  for (const [order, files] of telemetryGroups) {
    for (const f of files) {
      try { await rows(`SELECT count(*) FROM (${readTelemetry(0, [f], order)})`); good.push(readTelemetry(g++, [f], order)); }
      catch (e2) { skipped.push(`${f} (${String(e2.message).split('\n')[0].slice(0, 80)})`); }
    }
  }
  await createTel(good);
}
step('read telemetry');

// Distinct local times -> instants, then the repeated hour by order.
await run(`CREATE TABLE lz AS SELECT L, tel_local(L) AS z FROM (SELECT DISTINCT L FROM tel WHERE L IS NOT NULL)`);
await run(`CREATE TABLE amb AS
  WITH a AS (SELECT t.rid, t.node_id, t.L, lz.z.early AS early, lz.z.late AS late FROM tel t JOIN lz USING (L) WHERE lz.z.kind = 2),
       b AS (SELECT *, lag(L) OVER (PARTITION BY node_id, L // 86400000 ORDER BY rid) AS prev FROM a),
       c AS (SELECT *, sum(CASE WHEN L < prev THEN 1 ELSE 0 END) OVER (PARTITION BY node_id, L // 86400000 ORDER BY rid) AS pass FROM b)
  SELECT rid, CASE WHEN pass % 2 = 0 THEN early ELSE late END AS t FROM c`);
step('local times');

// Readings: valid, deduplicated on (node, instant), the first (lowest rid) kept.
await run(`CREATE TABLE rd AS
  WITH v AS (SELECT t.rid, t.node_id, t.watts,
                    coalesce(t.abs, CASE lz.z.kind WHEN 1 THEN lz.z.early WHEN 2 THEN a.t END) AS t
             FROM tel t LEFT JOIN lz USING (L) LEFT JOIN amb a USING (rid))
  SELECT node_id, t, arg_min(watts, rid) AS w FROM v WHERE t IS NOT NULL GROUP BY node_id, t`);
await run(`DROP TABLE tel`);
step('dedup');

// ---------- small tables: runs, sacct ----------
const runsCsv = path.join(input, 'runs.csv');
const runRows = await rows(`SELECT run_id, slurm_job_id, trim(host_name) AS host,
    epoch_ms(TRY_CAST(trim(start_time) AS TIMESTAMPTZ)) AS s, epoch_ms(TRY_CAST(trim(update_time) AS TIMESTAMPTZ)) AS u,
    TRY_CAST(size AS DOUBLE) AS size, TRY_CAST(depth AS DOUBLE) AS depth, TRY_CAST(batch_size AS DOUBLE) AS bs,
    TRY_CAST(learning_rate AS DOUBLE) AS lr, trim(is_gpu) AS is_gpu
  FROM read_csv(${sql(runsCsv)}, all_varchar = true, header = true, ignore_errors = true)`);
const sacct = sacctFiles.length ? await rows(`
  WITH r AS (SELECT row_number() OVER () AS rn, trim(JobID) AS job, trim(NodeList) AS nl, trim(Start) AS st, trim("End") AS en
             FROM read_csv(${sqlList(sacctFiles)}, delim = '|', header = true, all_varchar = true, quote = '', escape = '',
                           ignore_errors = true, union_by_name = true)),
       a AS (SELECT * FROM r WHERE job IS NOT NULL AND job <> 'JobID' AND NOT contains(job, '.'))
  SELECT rn, job, nl, st, en,
         CASE WHEN st IN ('Unknown', 'None') THEN NULL ELSE sched_local(epoch_ms(TRY_CAST(st AS TIMESTAMP))) END AS sz,
         CASE WHEN en IN ('Unknown', 'None') THEN NULL ELSE sched_local(epoch_ms(TRY_CAST(en AS TIMESTAMP))) END AS ez
  FROM a ORDER BY rn`) : [];
const jobs = new Map(); // JobID -> last good allocation line
for (const j of sacct) {
  const hasStart = !(j.st === 'Unknown' || j.st === 'None');
  const running = j.en === null || j.en === 'Unknown' || j.en === 'None';
  if (hasStart && (!j.sz || j.sz.kind === 0 || j.sz.early === null)) continue; // bad or nonexistent time
  if (!running && (!j.ez || j.ez.kind === 0 || j.ez.early === null)) continue;
  const start = hasStart ? Number(j.sz.early) : null;
  let end = null;
  if (!running) {
    end = Number(j.ez.early);
    if (hasStart && end < start) end = Number(j.ez.late);
    if (hasStart && end < start) continue; // negative window
  }
  jobs.set(j.job, { nl: j.nl ?? '', hasStart, start, end, hosts: null });
}
step('runs + sacct');

// ---------- join and statuses up to job_running ----------
const out = joinStatuses(runRows, nodes, jobs, cfg);

// ---------- energies ----------
// Per run: the samples inside [s, u] and the nearest sample on each side,
// taken from the readings within a margin of the window (one range join);
// for the few runs whose neighbour lies beyond the margin, from all the
// node's readings. Without a neighbour the nearest inside value is held.
// Energy = sum over consecutive samples of the linear segment clipped to [s, u].
await run(`CREATE TABLE q (k INTEGER, node_id INTEGER, s BIGINT, u BIGINT)`);
{
  const app = await con.createAppender('q');
  out.forEach((o, k) => {
    if (o.status !== 'measure') return;
    app.appendInteger(k); app.appendInteger(o.node_id); app.appendBigInt(BigInt(o.s)); app.appendBigInt(BigInt(o.u)); app.endRow();
  });
  app.closeSync();
}
const M = 5 * cfg.interval * 1000;  // five sampling intervals, in ms
await run(`CREATE TABLE j AS SELECT q.k, q.s, q.u, rd.t, rd.w FROM q JOIN rd ON rd.node_id = q.node_id AND rd.t BETWEEN q.s - ${M} AND q.u + ${M}`);
await run(`CREATE TABLE stats AS SELECT k, count(*) AS samples, count(*) FILTER (WHERE w = 0) AS zeros,
  arg_min(w, t) AS w_first, arg_max(w, t) AS w_last FROM j WHERE t BETWEEN s AND u GROUP BY k`);
await run(`CREATE TABLE pn AS
  SELECT k, max(t) AS t, arg_max(w, t) AS w, 'p' AS side FROM j WHERE t < s GROUP BY k
  UNION ALL SELECT k, min(t) AS t, arg_min(w, t) AS w, 'n' AS side FROM j WHERE t > u GROUP BY k`);
// Neighbours beyond the margin (gaps in the telemetry), for the runs that lack one.
await run(`CREATE TABLE qp AS SELECT * FROM q WHERE k IN (SELECT k FROM stats) AND k NOT IN (SELECT k FROM pn WHERE side = 'p')`);
await run(`CREATE TABLE qn AS SELECT * FROM q WHERE k IN (SELECT k FROM stats) AND k NOT IN (SELECT k FROM pn WHERE side = 'n')`);
await run(`INSERT INTO pn
  SELECT qp.k, max(rd.t), arg_max(rd.w, rd.t), 'p' FROM qp JOIN rd ON rd.node_id = qp.node_id AND rd.t < qp.s - ${M} GROUP BY qp.k
  UNION ALL SELECT qn.k, min(rd.t), arg_min(rd.w, rd.t), 'n' FROM qn JOIN rd ON rd.node_id = qn.node_id AND rd.t > qn.u + ${M} GROUP BY qn.k`);
const energies = await rows(`
  WITH seq AS (SELECT k, t, w FROM j WHERE t BETWEEN s AND u
               UNION ALL SELECT k, t, w FROM pn
               UNION ALL SELECT st.k, q.s, st.w_first FROM stats st JOIN q USING (k) WHERE st.k NOT IN (SELECT k FROM pn WHERE side = 'p')
               UNION ALL SELECT st.k, q.u, st.w_last FROM stats st JOIN q USING (k) WHERE st.k NOT IN (SELECT k FROM pn WHERE side = 'n')),
       seg AS (SELECT k, t, w, lead(t) OVER (PARTITION BY k ORDER BY t) AS nt, lead(w) OVER (PARTITION BY k ORDER BY t) AS nw FROM seq),
       clip AS (SELECT seg.*, greatest(t, q.s) AS x1, least(nt, q.u) AS x2 FROM seg JOIN q USING (k) WHERE nt IS NOT NULL),
       e AS (SELECT k, sum(CASE WHEN x2 > x1 THEN (x2 - x1) / 1000.0 *
                 ((w + (nw - w) * ((x1 - t) / (nt - t)::DOUBLE)) + (w + (nw - w) * ((x2 - t) / (nt - t)::DOUBLE))) / 2 ELSE 0 END) AS energy
             FROM clip GROUP BY k)
  SELECT q.k, coalesce(st.samples, 0) AS samples, coalesce(st.zeros, 0) AS zeros, e.energy
  FROM q LEFT JOIN stats st USING (k) LEFT JOIN e USING (k)`);
applyEnergies(out, energies, cfg);
step('join + energies');

// ---------- idle power and per-node quantiles ----------
await run(`COPY (SELECT node_type, count(DISTINCT node_id) AS nodes, count(*) AS readings, quantile_cont(w, ${cfg.idleQ}) AS idle_w
  FROM rd JOIN nodes USING (node_id) WHERE node_type <> '' GROUP BY node_type ORDER BY node_type)
  TO ${sql(path.join(outDir, 'idle_power.csv'))} (HEADER)`);
// Per-node table: quantile_cont with 107 levels costs ~1 s per 10 levels
// here, so the levels are read off each node's value histogram instead
// (exact, same type-7 formula: x[lo] + (h - lo) * (x[lo+1] - x[lo]), h = (n-1)q).
await run(`CREATE TABLE lv (i INTEGER, q DOUBLE)`);
await run(`INSERT INTO lv VALUES ${LEVELS.map(([, v], i) => `(${i + 1}, ${v})`).join(', ')}`);
await run(`COPY (
  WITH h AS (SELECT node_id, w, count(*) AS c FROM rd GROUP BY node_id, w),
       hc AS (SELECT node_id, w, sum(c) OVER (PARTITION BY node_id ORDER BY w) - c AS lo_rank,
                     sum(c) OVER (PARTITION BY node_id ORDER BY w) AS hi_rank, sum(c) OVER (PARTITION BY node_id) AS n FROM h),
       pos AS (SELECT DISTINCT node_id, n FROM hc),
       lq AS (SELECT pos.node_id, pos.n, lv.i, (pos.n - 1) * lv.q AS hq, floor((pos.n - 1) * lv.q)::BIGINT AS r FROM pos, lv),
       v AS (SELECT lq.node_id, lq.n, lq.i,
                    (SELECT w FROM hc WHERE hc.node_id = lq.node_id AND lq.r >= hc.lo_rank AND lq.r < hc.hi_rank) AS x0,
                    (SELECT w FROM hc WHERE hc.node_id = lq.node_id AND least(lq.r + 1, lq.n - 1) >= hc.lo_rank AND least(lq.r + 1, lq.n - 1) < hc.hi_rank) AS x1,
                    lq.hq - lq.r AS f FROM lq),
       t AS (SELECT node_id, any_value(n) AS n, list(x0 + f * (x1 - x0) ORDER BY i) AS qs FROM v GROUP BY node_id),
       mm AS (SELECT node_id, min(w) AS lo, max(w) AS hi FROM h GROUP BY node_id)
  SELECT node, n AS count, lo AS min, ${LEVELS.map(([c], i) => `qs[${i + 1}] AS ${c}`).join(', ')}, hi AS max, node_type
  FROM t JOIN mm USING (node_id) JOIN nodes USING (node_id) ORDER BY node)
  TO ${sql(path.join(outDir, 'node_power_dist.csv'))} (HEADER)`);
step('quantiles');

// ---------- runs_energy.csv ----------
const runsSummary = writeRunsEnergy(outDir, out);
step('write');
const nReadings = (await rows(`SELECT count(*) AS n FROM rd`))[0].n;
console.error(`duckdb_job (DuckDB ${duckdb.version()}): ${runsSummary}, ` +
  `${nReadings} readings, ${skipped.length} telemetry files skipped, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
for (const s of skipped) console.error(`  skipped: ${s}`);
