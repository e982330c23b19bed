/**
 * Warehouse names for source columns: one deterministic rule, and a mapping that, once persisted
 * for a dataset, never changes (a renamed column would split its history across two columns).
 *
 * The rule, applied to a source column name:
 * 1. lower-case it (Redshift folds unquoted identifiers; `OrderId` and `orderid` are one name);
 * 2. replace every character outside `a-z`, `0-9`, `_` with `_`;
 * 3. prefix `col_` when it is empty, starts with a digit, or is a Redshift reserved word
 *    (`190_time` → `col_190_time`, `user` → `col_user`);
 * 4. cut a name over 127 bytes to 118 characters plus `_` and 8 hex digits of the original's
 *    SHA-256, so two long names with one prefix stay apart;
 * 5. a name another column already has (earlier in the persisted mapping, or earlier in table
 *    order) gets `_2`, `_3`, … (cut to fit 127 bytes).
 */
import { createHash } from 'node:crypto';

/** Redshift's reserved words (AWS docs, "Reserved words"), lower case. */
export const REDSHIFT_RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    'aes128 aes256 all allowoverwrite analyse analyze and any array as asc authorization az64 backup between binary blanksasnull ' +
    'both bytedict bzip2 case cast check collate column constraint create credentials cross current_date current_time ' +
    'current_timestamp current_user current_user_id default deferrable deflate defrag delta delta32k desc disable distinct do ' +
    'else emptyasnull enable encode encrypt encryption end except explicit false for foreign freeze from full globaldict256 ' +
    'globaldict64k grant group gzip having identity ignore ilike in initially inner intersect interval into is isnull join ' +
    'language leading left like limit localtime localtimestamp lun luns lzo lzop minus mostly16 mostly32 mostly8 natural new ' +
    'not notnull null nulls off offline offset oid old on only open or order outer overlaps parallel partition percent ' +
    'permissions pivot placing primary raw readratio recover references rejectlog resort respect restore right select ' +
    'session_user similar snapshot some sysdate system table tag tdes text255 text32k then timestamp to top trailing true ' +
    'truncatecolumns type union unique unnest unpivot user using verbose wallet when where with without'
  ).split(' '),
);

const MAX_BYTES = 127;

/** Step 1–4 of the rule for one name, without regard to other columns. */
export function warehouseName(source: string): string {
  let name = source.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (name === '' || /^[0-9]/.test(name) || REDSHIFT_RESERVED_WORDS.has(name)) name = `col_${name}`;
  if (name.length > MAX_BYTES) {
    const hash = createHash('sha256').update(source).digest('hex').slice(0, 8);
    name = `${name.slice(0, MAX_BYTES - 9)}_${hash}`;
  }
  return name;
}

function withSuffix(base: string, n: number): string {
  const suffix = `_${n}`;
  return base.length + suffix.length > MAX_BYTES ? base.slice(0, MAX_BYTES - suffix.length) + suffix : base + suffix;
}

/**
 * Names for `sources` (table order), keeping every name `persisted` already gives (source name →
 * warehouse name) and naming only the new ones, by the rule above. Returns source → warehouse
 * for the persisted and the new columns together.
 */
export function assignWarehouseNames(sources: readonly string[], persisted: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const out = new Map(persisted);
  const taken = new Set(persisted.values());
  for (const source of sources) {
    if (out.has(source)) continue;
    const base = warehouseName(source);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = withSuffix(base, n);
    out.set(source, name);
    taken.add(name);
  }
  return out;
}
