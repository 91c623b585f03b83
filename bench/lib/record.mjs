// Benchmark records: one JSON file per run in bench/results/, named <YYYY-MM-DD>-<commit>-<backend>-<name>.json.
// The schema below is the contract every record (hand-written or from `pnpm bench`) must meet; `pnpm test` checks
// every file in bench/results against it (bench/results.test.ts).
import { z } from 'zod';

const loadTriple = z.tuple([z.number().nonnegative(), z.number().nonnegative(), z.number().nonnegative()]);

/** One table of a record: a caption, the column names and the rows (numbers where the cell is a plain number). */
export const tableSchema = z
  .object({
    caption: z.string().nullable(),
    columns: z.array(z.string()).min(1),
    rows: z.array(z.array(z.union([z.string(), z.number()]))),
  })
  .strict()
  .refine((t) => t.rows.every((r) => r.length === t.columns.length), {
    message: 'every row has one cell per column',
  });

export const recordSchema = z
  .object({
    schema: z.literal(1),
    /** What ran: bench, bench-synthcity, bench-digits, demo, ... (kebab-case). */
    name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/),
    /** Heading of the run where it had one (records converted from the old BENCHMARKS.md log). */
    title: z.string().optional(),
    /** The exact command; null only for summaries and for sections that list one command per item in `notes`. */
    command: z.string().min(1).nullable(),
    /** ISO UTC start: a date, or a date and time. */
    date: z.string().regex(/^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?Z)?$/),
    /** Git revision it ran on (short hash, `-dirty` when the tree had changes); null for multi-run summaries. */
    commit: z
      .string()
      .regex(/^[0-9a-f]{7,40}(-dirty)?$/)
      .nullable(),
    /** wasm-native, wasm, cpu, webgpu, tensorflow, ...; `mixed` / `none` for records that are not one engine's. */
    backend: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/),
    machine: z.object({ cpus: z.number().int().positive(), model: z.string().min(1), shared: z.boolean() }).strict(),
    /** Load average (1, 5, 15 min) at the start and the end; null where the run did not record it. */
    load: z.object({ start: loadTriple, end: loadTriple }).strict().nullable(),
    wallSeconds: z.number().nonnegative().nullable(),
    /** Every number of the run: `tables` (as shown), and for `pnpm bench` runs the children's raw `results`. */
    figures: z.object({ tables: z.array(tableSchema) }).passthrough(),
    /** Failures, caveats, and the prose of the run with the numbers it quotes. */
    notes: z.string(),
  })
  .strict();

/** The file name a record must have. */
export function recordFileName(r) {
  const commit = (r.commit ?? 'multiple').replace('-dirty', 'dirty');
  return `${r.date.slice(0, 10)}-${commit}-${r.backend}-${r.name}`;
}

/** Parses and checks one record's text; throws one error naming the file and every problem. */
export function checkRecord(text, file) {
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${e.message})`);
  }
  const r = recordSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
    throw new Error(`${file}: ${problems}`);
  }
  const base = file
    .split('/')
    .pop()
    .replace(/\.json$/, '');
  const want = recordFileName(r.data);
  if (base !== want && !new RegExp(`^${want}-\\d+$`).test(base)) {
    throw new Error(`${file}: name should be ${want}.json (date-commit-backend-name of its content)`);
  }
  return r.data;
}
