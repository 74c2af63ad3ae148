// The job of `wattrun run --no-fit --no-report` (spec sections 2.1-2.4 and 2.6),
// done the way a user would do it with Polars from Node.js (nodejs-polars, the
// Rust engine; POLARS_MAX_THREADS threads): the comparison point of
// bench/compare_bench.sh beside duckdb_job.mjs, whose semantics it mirrors
// step for step. Not part of wattrun.
//
// Usage: node bench/compare/polars_job.mjs --config configs/eagle.yaml --input FACILITY --output DIR [--threads 2]
// Writes DIR/runs_energy.csv, DIR/idle_power.csv, DIR/node_power_dist.csv and
// prints the time of each step on stderr.
//
// What it does (as duckdb_job.mjs, and where it falls short of the spec):
// - telemetry: every telemetry/**/*.csv[.gz] in sorted path order, one lazy
//   scanCSV per file (gzip inflated by Polars), typed (timestamp and node
//   strings, watts f64), concatenated in path order with the file's index and
//   row index as the row's place. Rows with a wrong field count are dropped
//   (one extra column in the schema catches a field too many; a field too few
//   leaves a null), a watts that is not a number becomes null and the row is
//   dropped: bad rows are not counted per reason. Files whose header lacks
//   timestamp/node/watts, empty files and fake gzips are skipped; a file that
//   fails in the middle is skipped whole.
// - times: a trailing Z is dropped (ignore_z) and the time read as local in
//   the configured zone (replaceTimeZone, once per distinct local time; a
//   nonexistent local time drops the row); an explicit +HH:MM offset is
//   honoured; a repeated-hour time is resolved per node and local day by
//   order (a pass ends where the local time goes back; first pass daylight).
// - dedup on (node, instant), first in (sorted path, line) order kept: one
//   stable sort by (node, instant), then the first of equal keys.
// - runs -> sacct allocation lines (last line of a JobID wins) -> hostlist
//   (expanded in JS) -> windows with one sampling interval of tolerance.
// - energy: linear interpolation, ends interpolated or held (spec step 3),
//   from each node's cumulative trapezoid sums and two sorted (asof) joins on
//   the (node, instant) key that find each window's first and last sample.
// - statuses of spec step 4; idle power = quantile(watts, q, 'linear') pooled
//   per node type; per-node quantile table (BUTTER-E levels) from one sort by
//   (node, watts) and the type-7 order statistics gathered per node.
// Not done: filters, standardization, overheads, model, quality.csv.
import fs from 'node:fs';
import path from 'node:path';
import { LEVELS, applyEnergies, expandHostlist, inputFiles, joinStatuses, parseArgs, readConfig, stepTimer, writeRunsEnergy } from './job_common.mjs';
import { createRequire } from 'node:module';

// ---------- arguments, configuration, input files (job_common.mjs) ----------
const args = parseArgs('polars_job.mjs');
const t0 = performance.now();
const step = stepTimer();
const cfg = readConfig(args.config);
const input = path.resolve(args.input);
const outDir = path.resolve(args.output);
fs.mkdirSync(outDir, { recursive: true });
// Header-only files skipped too: Polars' scan fails on them (they have no rows).
const { telemetryGroups, skipped, sacctFiles } = inputFiles(input, { skipHeaderOnly: true });

// ---------- Polars ----------
// The thread pool is sized from the environment when the native module loads.
process.env.POLARS_MAX_THREADS = args.threads ?? process.env.POLARS_MAX_THREADS ?? '2';
const require = createRequire(import.meta.url);
const pl = require('nodejs-polars');
const polarsVersion = require('nodejs-polars/package.json').version;
const { col, lit } = pl;
const MS = pl.Datetime('ms');
const epochMs = (e) => e.cast(MS).cast(pl.Int64);

// Local wall time (ms since epoch, read as if UTC) -> the UTC instants that
// show it in zone Z: early and late (equal unless in the repeated hour; null
// for a time that does not exist).
function localInstants(lf, column, zone, prefix) {
  const wall = col(column).cast(MS);
  return lf.withColumns(
    epochMs(wall.dt.replaceTimeZone(zone, 'earliest', 'null')).alias(`${prefix}early`),
    epochMs(wall.dt.replaceTimeZone(zone, 'latest', 'null')).alias(`${prefix}late`));
}

// nodes.csv -> node ids and types (a HOSTNAMES hostlist is expanded).
const nodeRows = pl.readCSV(path.join(input, 'nodes.csv'), { inferSchemaLength: 0 })
  .select(col('HOSTNAMES').alias('h'), col('CPUS').cast(pl.Int64, false).alias('cpus'),
    col('MEMORY').cast(pl.Int64, false).alias('mem'), col('TMP_DISK').cast(pl.Int64, false).alias('tmp'),
    col('GRES').str.strip().alias('gres'))
  .toRecords();
const nodes = new Map();
for (const r of nodeRows) {
  if (r.cpus === null || r.mem === null || r.tmp === null) continue;
  const t = cfg.types.find((ty) => ty.cpus === Number(r.cpus) && ty.memory === Number(r.mem) &&
    ty.tmp_disk === Number(r.tmp) && ty.gres === (r.gres ?? '(null)'));
  for (const h of expandHostlist(r.h ?? '')) if (!nodes.has(h)) nodes.set(h, { id: nodes.size, name: h, type: t ? t.name : '' });
}
const nodeList = [...nodes.values()];
const nodesDf = pl.DataFrame({
  node: nodeList.map((n) => n.name), node_id: pl.Series('node_id', nodeList.map((n) => n.id), pl.Int32),
  node_type: nodeList.map((n) => n.type),
});
step('nodes');

// ---------- telemetry ----------
// One lazy scan per file, typed by its header order, plus one extra string
// column: a line with a field too many fills it (those with still more are
// cut by truncateRaggedLines but caught the same way) and is dropped.
function scanTelemetry(file, order, index) {
  const names = order.split(',');
  const schema = Object.fromEntries(names.map((c) => [c, c === 'watts' ? pl.Float64 : pl.Utf8]));
  schema.__extra = pl.Utf8;
  return pl.scanCSV(file, { hasHeader: false, skipRows: 1, schema, sep: ',', quoteChar: '"',
                           ignoreErrors: true, truncateRaggedLines: true, missingIsNull: false })
    .filter(col('__extra').isNull().and(col('node').isNotNull()).and(col('timestamp').isNotNull()))
    .withRowIndex('row')
    .select(lit(index).cast(pl.Int64).mul(lit(2 ** 40).cast(pl.Int64)).add(col('row').cast(pl.Int64)).alias('rid'),
      col('timestamp').alias('ts'), col('node'), col('watts'));
}
// The rows of known nodes with a watts >= 0, in file order.
function typedTelemetry(scans) {
  return pl.concat(scans, { how: 'vertical', rechunk: false, parallel: true })
    .filter(col('watts').gtEq(0))
    .join(nodesDf.lazy().select('node', 'node_id'), { on: 'node', how: 'left' })  // left: keeps file order
    .filter(col('node_id').isNotNull())
    .select('rid', 'node_id', 'watts', 'ts');
}
function readTelemetry(groups) {
  const scans = [];
  let g = 0;
  for (const [order, files] of groups) for (const f of files) scans.push(scanTelemetry(f, order, g++));
  return typedTelemetry(scans).collectSync();
}
let tel;
try {
  tel = readTelemetry(telemetryGroups);
} catch (e) {
  // A file that fails in the middle (damaged gzip): read them one by one.
  console.error(`  combined telemetry read failed (${String(e.message).split('\n')[0]}); reading file by file`);
  const good = [];
  for (const [order, files] of telemetryGroups) {
    for (const f of files) {
      try { scanTelemetry(f, order, 0).select(col('rid').count()).collectSync(); good.push([order, [f]]); }
      catch (e2) { skipped.push(`${f} (${String(e2.message).split('\n')[0].slice(0, 80)})`); }
    }
  }
  tel = readTelemetry(good);
}
step('read telemetry');

// Each distinct time string is parsed once (a month has ~44k of them, against
// millions of rows: strptime on every row costs more than the join back).
// A trailing Z is dropped (ignore_z) and the rest read as a local time (T or
// space, optional fraction); a string with an offset (or a Z kept) is an
// instant. Local times -> early/late instants in the zone.
const shortLen = cfg.ignoreZ ? 20 : 19;
const ts = col('ts');
const tail = ts.str.slice(19, 16);
const offsetTail = cfg.ignoreZ ? '^(\\.\\d+)?[+-]\\d\\d:?\\d\\d$' : '^(\\.\\d+)?([+-]\\d\\d:?\\d\\d|Z)$';
const hasOffset = ts.str.lengths().gt(shortLen).and(tail.str.contains(offsetTail));
const fraction = pl.when(tail.str.contains('^\\.\\d')).then(tail.str.extract('^\\.(\\d{1,3})', 1).str.padEnd(3, '0')
  .cast(pl.Int64)).otherwise(lit(0));
const wallMs = epochMs(ts.str.replace('T', ' ').str.slice(0, 19).str.strptime(MS, '%Y-%m-%d %H:%M:%S')).add(fraction);
const offsetMs = epochMs(ts.str.replace('T', ' ').str.replace('Z$', '+00:00').str.replace('([+-]\\d\\d)(\\d\\d)$', '$1:$2')
  .str.strptime(MS, '%Y-%m-%d %H:%M:%S%.f%:z'));  // -> UTC
const zones = localInstants(
  tel.lazy().select('ts').unique()
    .select(ts, pl.when(hasOffset).then(lit(null)).otherwise(wallMs).alias('L'),
      pl.when(hasOffset).then(offsetMs).otherwise(lit(null)).alias('abs')),
  'L', cfg.telTz, '').collectSync();
const tz = tel.lazy().join(zones.lazy(), { on: 'ts', how: 'left' })  // left: keeps file order
  .select('rid', 'node_id', 'watts', 'L', 'abs', 'early', 'late').collectSync();
tel = null;
step('local times');
// The repeated hour (rare: one night a year) by order: per node and local
// day, over its ambiguous rows in file order, a pass ends where the local
// time goes back; the first pass is daylight time.
const group = [col('node_id'), col('L').sub(col('L').modulo(86400000))];
const repeated = tz.lazy().filter(col('early').neq(col('late')).and(col('abs').isNull()))
  .withColumns(col('L').lt(col('L').shift(1).over(group)).fillNull(false).cast(pl.Int32).alias('back'))
  .withColumns(col('back').cumSum().over(group).alias('pass'))
  .select('rid', pl.when(col('pass').modulo(2).eq(0)).then(col('early')).otherwise(col('late')).alias('t_repeated'))
  .collectSync();
let instants = tz.lazy();
if (repeated.height > 0) instants = instants.join(repeated.lazy(), { on: 'rid', how: 'left' });  // keeps file order
instants = instants.select('node_id', 'watts',
  pl.when(col('abs').isNotNull()).then(col('abs')).when(col('early').eq(col('late'))).then(col('early'))
    .otherwise(repeated.height > 0 ? col('t_repeated') : lit(null)).alias('t'))
  .filter(col('t').isNotNull());

// Readings: valid, deduplicated on (node, instant), the first in file order
// kept: a stable sort by (node, instant) keeps file order among equal keys
// (one int64 key, node << 36 | ms since the first instant: Polars sorts one
// integer column much faster than two).
const tMin = instants.select(col('t').min()).collectSync().getColumn('t').get(0);
const rd = instants.withColumns(col('node_id').cast(pl.Int64).mul(lit(2 ** 36).cast(pl.Int64)).add(col('t').sub(lit(tMin).cast(pl.Int64))).alias('key'))
  .sort('key', false, false, true)
  .filter(col('key').neq(col('key').shift(1)).fillNull(true))
  .select(col('key'), col('node_id'), col('t'), col('watts').alias('w'))
  .collectSync();
step('dedup');

// ---------- small tables: runs, sacct ----------
// Everything read as strings, then typed with non-strict casts (null = bad).
const utcMs = (e) => epochMs(e.str.strip().str.replace('T', ' ').str.replace('Z$', '+00:00')
  .str.replace('([+-]\\d\\d)(\\d\\d)$', '$1:$2').str.strptime(MS, '%Y-%m-%d %H:%M:%S%.f%:z'));
const num = (c) => col(c).str.strip().cast(pl.Float64, false);
const runRows = pl.readCSV(path.join(input, 'runs.csv'), { inferSchemaLength: 0, ignoreErrors: true })
  .select(col('run_id'), col('slurm_job_id'), col('host_name').str.strip().alias('host'),
    utcMs(col('start_time')).alias('s'), utcMs(col('update_time')).alias('u'),
    num('size').alias('size'), num('depth').alias('depth'), num('batch_size').alias('bs'),
    num('learning_rate').alias('lr'), col('is_gpu').str.strip().alias('is_gpu'))
  .toRecords();
// sacct: allocation lines (no '.' in JobID; repeated header lines dropped),
// Start/End local in the scheduler's zone -> early/late instants.
// (readCSV takes a .txt path for CSV text: the files are scanned.)
const sacctLines = sacctFiles.length === 0 ? null : pl.concat(sacctFiles.map((f) =>
  pl.scanCSV(f, { sep: '|', quoteChar: '\0', inferSchemaLength: 0, ignoreErrors: true, truncateRaggedLines: true })
    .select('JobID', 'NodeList', 'Start', 'End').collectSync()), { how: 'vertical' });
let sacct = [];
if (sacctLines) {
  const localOf = (c) => pl.when(col(c).isIn(['Unknown', 'None'])).then(lit(null))
    .otherwise(epochMs(col(c).str.replace('T', ' ').str.strptime(MS, '%Y-%m-%d %H:%M:%S')));
  let lf = sacctLines.lazy().withRowIndex('rn')
    .select(col('rn'), col('JobID').str.strip().alias('job'), col('NodeList').str.strip().alias('nl'),
      col('Start').str.strip().alias('st'), col('End').str.strip().alias('en'))
    .filter(col('job').isNotNull().and(col('job').neq(lit('JobID'))).and(col('job').str.contains('.', true).not()))
    .withColumns(localOf('st').alias('sl'), localOf('en').alias('el'));
  lf = localInstants(localInstants(lf, 'sl', cfg.schedTz, 's_'), 'el', cfg.schedTz, 'e_');
  sacct = lf.sort('rn').collectSync().toRecords();
}
const jobs = new Map(); // JobID -> last good allocation line
for (const j of sacct) {
  const hasStart = !(j.st === 'Unknown' || j.st === 'None');
  const running = j.en === null || j.en === 'Unknown' || j.en === 'None';
  if (hasStart && j.s_early === null) continue; // bad or nonexistent time
  if (!running && j.e_early === null) continue;
  const start = hasStart ? Number(j.s_early) : null;
  let end = null;
  if (!running) {
    end = Number(j.e_early);
    if (hasStart && end < start) end = Number(j.e_late);
    if (hasStart && end < start) continue; // negative window
  }
  jobs.set(j.job, { nl: j.nl ?? '', hasStart, start, end, hosts: null });
}
step('runs + sacct');

// ---------- join and statuses up to job_running (as duckdb_job.mjs) ----------
const out = joinStatuses(runRows, nodes, jobs, cfg);

// ---------- energies ----------
// W(t) is the node's readings joined linearly and held beyond its first and
// last. Per reading, trap = the trapezoid from the node's previous reading;
// per run, two sorted (asof) joins find a = the first reading at or after s
// and b = the last at or before u (with their neighbours): samples
// = b - a + 1, zeros from a cumulative count, and energy = [s, t_a] +
// sum of trap over (a, b] (gathered by position) + [t_b, u], each end piece
// the trapezoid of the interpolated (or held) values.
// (The readings are sorted by key = node << 36 | ms since the first reading,
// so one asof join on the key finds a reading of the run's node or of a
// neighbouring node, which is then no match; and neighbours along the sorted
// column are the node's own where their node_id is the same.)
const ownShift = (c, offset) => pl.when(col('node_id').eq(col('node_id').shift(offset))).then(col(c).shift(offset))
  .otherwise(lit(null));
const series = rd.lazy().withRowIndex('i')
  .withColumns(
    ownShift('t', 1).alias('t_prev'), ownShift('w', 1).alias('w_prev'),
    ownShift('t', -1).alias('t_next'), ownShift('w', -1).alias('w_next'))
  .withColumns(
    col('t').sub(col('t_prev')).div(1000).mul(col('w').add(col('w_prev'))).div(2).fillNull(0).alias('trap'),
    col('w').eq(0).cast(pl.Int64).cumSum().alias('Z'))  // exact across nodes: only differences within one are used
  .collectSync();
const measured = out.map((o, k) => [o, k]).filter(([o]) => o.status === 'measure');
const keyOf = (id, ms) => id * 2 ** 36 + (ms - tMin);
const q = pl.DataFrame({
  k: pl.Series('k', measured.map(([, k]) => k), pl.Int32),
  node_id: pl.Series('node_id', measured.map(([o]) => o.node_id), pl.Int32),
  s: pl.Series('s', measured.map(([o]) => o.s), pl.Int64), u: pl.Series('u', measured.map(([o]) => o.u), pl.Int64),
  key_s: pl.Series('key_s', measured.map(([o]) => keyOf(o.node_id, o.s)), pl.Int64),
  key_u: pl.Series('key_u', measured.map(([o]) => keyOf(o.node_id, o.u)), pl.Int64),
});
const pick = (side) => series.lazy().select(col('key').alias(`key_${side}`), col('node_id').alias(`node_${side}`),
  col('t').alias(`t_${side}`), col('w').alias(`w_${side}`), col('i').alias(`i_${side}`),
  col('Z').alias(`Z_${side}`), col(side === 'a' ? 't_prev' : 't_next').alias(`t_o${side}`),
  col(side === 'a' ? 'w_prev' : 'w_next').alias(`w_o${side}`));
// Interpolated value at x on the segment (t0, w0)-(t1, w1); held if no t0.
const at = (x, t0, w0, t1, w1) => pl.when(col(t0).isNull()).then(col(w1))
  .otherwise(col(w0).add(col(w1).sub(col(w0)).mul(col(x).sub(col(t0)).cast(pl.Float64).div(col(t1).sub(col(t0)).cast(pl.Float64)))));
const found = (side) => col(`node_${side}`).eq(col('node_id')).fillNull(false);
const energies = q.lazy().sort('key_s')
  .joinAsof(pick('a'), { leftOn: 'key_s', rightOn: 'key_a', strategy: 'forward' })
  .sort('key_u')
  .joinAsof(pick('b'), { leftOn: 'key_u', rightOn: 'key_b', strategy: 'backward' })
  .withColumns(pl.when(found('a').and(found('b')).and(col('i_b').gtEq(col('i_a'))))
    .then(col('i_b').sub(col('i_a')).add(1)).otherwise(lit(0)).alias('samples'))
  .select(col('k'), col('samples'), col('i_a'), col('i_b'),
    col('Z_b').sub(col('Z_a')).add(col('w_a').eq(0).cast(pl.Int64)).alias('zeros'),
    col('t_a').sub(col('s')).div(1000).mul(at('s', 't_oa', 'w_oa', 't_a', 'w_a').add(col('w_a'))).div(2).alias('head'),
    col('u').sub(col('t_b')).div(1000).mul(at('u', 't_ob', 'w_ob', 't_b', 'w_b').add(col('w_b'))).div(2).alias('tail'))
  .collectSync().toRecords();
// The inner segments of all runs in one gather (a few hundred thousand).
const inner = [];
for (const e of energies) if (Number(e.samples) > 1) for (let i = Number(e.i_a) + 1; i <= Number(e.i_b); ++i) inner.push(i);
const traps = inner.length ? series.getColumn('trap').gather(inner).toArray() : [];
let next = 0;
for (const e of energies) {
  if (Number(e.samples) === 0) continue;
  let sum = e.head;
  for (let i = Number(e.i_a) + 1; i <= Number(e.i_b); ++i) sum += traps[next++];
  e.energy = sum + e.tail;
}
applyEnergies(out, energies, cfg);
step('join + energies');

// ---------- idle power and per-node quantiles ----------
const typed = rd.lazy().join(nodesDf.lazy(), { on: 'node_id', how: 'left' });
const idle = typed.filter(col('node_type').neq(lit(''))).groupBy('node_type')
  .agg(col('node_id').nUnique().alias('nodes'), col('w').count().alias('readings'),
    col('w').quantile(cfg.idleQ, 'linear').alias('idle_w'))
  .sort('node_type').collectSync();
idle.writeCSV(path.join(outDir, 'idle_power.csv'));
// Per-node table: each node's watts sorted (in a group-by: 236 sorts of a
// node's readings run in parallel, faster than one sort by two columns),
// then per node and level the type-7 order statistics
// x[lo] + (h - lo) * (x[lo + 1] - x[lo]), h = (n - 1) q, gathered by position.
const byValue = rd.lazy().groupBy('node_id').agg(col('w').sort().alias('w')).sort('node_id').explode('w')
  .collectSync();
const perNode = rd.lazy().groupBy('node_id')
  .agg(col('w').count().alias('count'), col('w').min().alias('min'), col('w').max().alias('max'))
  .sort('node_id').collectSync().toRecords();
const positions = [];
let first = 0;
for (const r of perNode) {
  const n = Number(r.count);
  for (const [, v] of LEVELS) {
    const h = (n - 1) * v, lo = Math.floor(h);
    positions.push(first + lo, first + Math.min(lo + 1, n - 1));
  }
  first += n;
}
const order = byValue.getColumn('w').gather(positions).toArray();
const distRows = perNode.map((r, i) => {
  const n = Number(r.count), node = nodeList[r.node_id];
  const row = { node: node.name, count: n, min: r.min };
  LEVELS.forEach(([name, v], j) => {
    const h = (n - 1) * v, x0 = order[2 * (i * LEVELS.length + j)], x1 = order[2 * (i * LEVELS.length + j) + 1];
    row[name] = x0 + (h - Math.floor(h)) * (x1 - x0);
  });
  return Object.assign(row, { max: r.max, node_type: node.type });
});
const dist = pl.DataFrame(distRows).sort('node');
dist.writeCSV(path.join(outDir, 'node_power_dist.csv'));
step('quantiles');

// ---------- runs_energy.csv ----------
const runsSummary = writeRunsEnergy(outDir, out);
step('write');
console.error(`polars_job (Polars ${polarsVersion}): ${runsSummary}, ` +
  `${rd.height} readings, ${skipped.length} telemetry files skipped, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
for (const s of skipped) console.error(`  skipped: ${s}`);
