import { bindParams } from '../../lambdas/adapters/postgres-source-catalog';
import {
  binaryKeyBytes,
  canonicalPosition,
  chunkQuery,
  comparePositions,
  endBound,
  endQuery,
  firstChunkStart,
  formatMicros,
  keyEncodings,
  lastBeforeQuery,
  parseWindow,
  positionText,
  timeMicros,
  wallClockIn,
} from '../../lambdas/core/keyset';
import type { SchemaColumn, SchemaDocument } from '../../lambdas/core/source-schema';

function schema(engine: 'mysql' | 'postgres'): SchemaDocument {
  const t = { parquet: { type: 'INT64' as const }, redshift: 'BIGINT', rule: 'bigint' as const };
  return {
    dataset: 'orders',
    engine,
    table: 'shop.orders',
    columns: [
      { source: 'tenant', name: 'tenant', dataType: 'int', columnType: engine === 'mysql' ? 'int(11)' : 'int4', nullable: false, type: t },
      { source: 'id', name: 'id', dataType: 'bigint', columnType: engine === 'mysql' ? 'bigint(20) unsigned' : 'int8', nullable: false, type: t },
      { source: 'updated_at', name: 'updated_at', dataType: engine === 'mysql' ? 'datetime' : 'timestamp without time zone', columnType: engine === 'mysql' ? 'datetime(6)' : 'timestamp', nullable: true, type: t },
      { source: 'gone', name: 'gone', dataType: 'int', columnType: 'int', nullable: true, type: t, dropped: true },
    ],
    keyColumns: ['tenant', 'id'],
    cursorColumn: 'updated_at',
    cursorKind: 'time',
  };
}

describe('keyset chunk queries', () => {
  it('reads strictly after (cursor, key…) with composite keys on MySQL, with exact casts', () => {
    const q = chunkQuery(schema('mysql'), { kind: 'after', position: { cursor: '2024-01-01 00:00:00.000000', key: ['1', '18446744073709551615'] } }, '2024-02-01 00:00:00.000000', 100);
    expect(q.sql).toBe(
      'SELECT `tenant`, `id`, `updated_at` FROM `shop`.`orders` WHERE `updated_at` >= CAST(? AS DATETIME(6)) AND (`updated_at` > CAST(? AS DATETIME(6)) OR (`updated_at` = CAST(? AS DATETIME(6)) AND (`tenant` > CAST(? AS SIGNED) OR (`tenant` = CAST(? AS SIGNED) AND `id` > CAST(? AS UNSIGNED))))) AND `updated_at` < CAST(? AS DATETIME(6)) ORDER BY `updated_at`, `tenant`, `id` LIMIT 100',
    );
    expect(q.params).toEqual(['2024-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000', '1', '1', '18446744073709551615', '2024-02-01 00:00:00.000000']);
  });

  it('uses numbered, typed placeholders on PostgreSQL', () => {
    const q = chunkQuery(schema('postgres'), { kind: 'from-cursor', cursor: '2024-01-01 00:00:00' }, '2024-02-01 00:00:00', 5);
    expect(q.sql).toBe('SELECT "tenant", "id", "updated_at" FROM "shop"."orders" WHERE "updated_at" >= $1::timestamp AND "updated_at" < $2::timestamp ORDER BY "updated_at", "tenant", "id" LIMIT 5');
  });

  it('reads a full snapshot in key order, after the last key, whatever the cursor', () => {
    const q = chunkQuery(schema('postgres'), { kind: 'after-key', key: ['3', '9'] }, '', 4);
    expect(q.sql).toBe('SELECT "tenant", "id", "updated_at" FROM "shop"."orders" WHERE "tenant" >= $1::int4 AND ("tenant" > $2::int4 OR ("tenant" = $3::int4 AND "id" > $4::int8)) ORDER BY "tenant", "id" LIMIT 4');
    expect(q.params).toEqual(['3', '3', '3', '9']);
    expect(chunkQuery(schema('mysql'), { kind: 'after-key', key: [] }, '', 4).sql).toBe('SELECT `tenant`, `id`, `updated_at` FROM `shop`.`orders` ORDER BY `tenant`, `id` LIMIT 4');
  });

  it('finds where a full snapshot leaves the watermark: the last row before the bound in keyset order', () => {
    expect(lastBeforeQuery(schema('mysql'), '2024-02-01 00:00:00.000000')).toEqual({
      sql: 'SELECT `updated_at`, `tenant`, `id` FROM `shop`.`orders` WHERE `updated_at` < CAST(? AS DATETIME(6)) ORDER BY `updated_at` DESC, `tenant` DESC, `id` DESC LIMIT 1',
      params: ['2024-02-01 00:00:00.000000'],
    });
  });

  it('reads the time bound from the source clock in the snapshot, minus lag', () => {
    expect(endQuery(schema('mysql'), 30_000_000n)).toEqual({ sql: "SELECT DATE_FORMAT(UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND, '%Y-%m-%d %H:%i:%s.%f')", params: ['30000000'] });
  });
});

describe('windows and positions', () => {
  it('parses durations for time cursors and counts for integer cursors', () => {
    expect(parseWindow('5m', 'time', 'lag')).toBe(300_000_000n);
    expect(parseWindow(1000, 'integer', 'lag')).toBe(1000n);
    expect(parseWindow(undefined, 'time', 'lag')).toBe(0n);
    expect(() => parseWindow('5', 'time', 'source.lag')).toThrow("source.lag '5' has no unit");
    expect(() => parseWindow('5m', 'integer', 'source.lag')).toThrow(/is a duration, but the cursor is an integer column/);
  });

  it('moves the first chunk back by the lookback, inclusive', () => {
    expect(firstChunkStart('time', { cursor: '2024-01-01 00:10:00.5', key: ['7'] }, 600_000_000n)).toEqual({ kind: 'from-cursor', cursor: '2024-01-01 00:00:00.500000' });
    expect(firstChunkStart('integer', { cursor: '500', key: ['500'] }, 100n)).toEqual({ kind: 'from-cursor', cursor: '400' });
    expect(firstChunkStart('time', { cursor: '2024-01-01 00:10:00', key: ['7'] }, 0n)).toEqual({ kind: 'after', position: { cursor: '2024-01-01 00:10:00', key: ['7'] } });
  });

  it('reads PostgreSQL timestamptz text with its offset as the same instant', () => {
    expect(timeMicros('2024-01-01 05:30:00+05:30')).toBe(timeMicros('2024-01-01 00:00:00'));
    expect(formatMicros(timeMicros('1970-01-01 00:00:00.000001'))).toBe('1970-01-01 00:00:00.000001');
    expect(formatMicros(timeMicros('1969-12-31 23:59:59.999999'))).toBe('1969-12-31 23:59:59.999999');
  });

  it('orders positions by cursor, then by integer keys numerically', () => {
    expect(comparePositions('time', { cursor: '2024-01-01 00:00:00.5+00', key: ['9'] }, { cursor: '2024-01-01 00:00:00.500000', key: ['10'] })).toBeLessThan(0);
    expect(comparePositions('integer', { cursor: '10', key: [] }, { cursor: '9', key: [] })).toBeGreaterThan(0);
  });
});

/** A table keyed by one binary column (MySQL BINARY(16), PostgreSQL bytea), or by (tenant, BIT(16)) on MySQL. */
function binarySchema(engine: 'mysql' | 'postgres', key: 'binary' | 'bit' = 'binary'): SchemaDocument {
  const bytes = { parquet: { type: 'BYTES' as const }, redshift: 'VARBYTE(16)', rule: 'bytes' as const, maxBytes: 16 };
  const int = { parquet: { type: 'INT64' as const }, redshift: 'BIGINT', rule: 'bigint' as const };
  const time = { parquet: { type: 'TIMESTAMP' as const }, redshift: 'TIMESTAMP', rule: 'timestamp' as const };
  const id: SchemaColumn =
    key === 'bit'
      ? { source: 'id', name: 'id', dataType: 'bit', columnType: 'bit(16)', nullable: false, type: { ...int, rule: 'bit' } }
      : { source: 'id', name: 'id', dataType: engine === 'mysql' ? 'binary' : 'bytea', columnType: engine === 'mysql' ? 'binary(16)' : 'bytea', nullable: false, type: bytes };
  return {
    dataset: 'uuids',
    engine,
    table: 'shop.uuids',
    columns: [
      { source: 'tenant', name: 'tenant', dataType: 'int', columnType: engine === 'mysql' ? 'int(11)' : 'int4', nullable: false, type: int },
      id,
      { source: 'updated_at', name: 'updated_at', dataType: engine === 'mysql' ? 'datetime' : 'timestamp without time zone', columnType: engine === 'mysql' ? 'datetime(6)' : 'timestamp', nullable: false, type: time },
    ],
    keyColumns: key === 'bit' ? ['tenant', 'id'] : ['id'],
    cursorColumn: 'updated_at',
    cursorKind: 'time',
  };
}

/** 16 bytes that are not UTF-8 (0x00, 0xFF, a lone continuation byte), and their position text. */
const KEY = Buffer.from('00ff80fe00c0ffee0001ff00deadbeef', 'hex');
const KEY_TEXT = '0x00ff80fe00c0ffee0001ff00deadbeef';

describe('binary keys', () => {
  it('holds a binary key value as 0x and its bytes in lower-case hex, never as its UTF-8 reading', () => {
    expect(positionText(KEY)).toBe(KEY_TEXT);
    expect(positionText(new Uint8Array([0xff]))).not.toBe(positionText(new Uint8Array([0xfe])));
    expect(positionText(new Uint8Array(0))).toBe('0x');
    // A Buffer that is a view into a larger one: only its own bytes.
    expect(positionText(Buffer.from('aa00ffbb', 'hex').subarray(1, 3))).toBe('0x00ff');
  });

  it('binds the key of the position after which a chunk starts as its bytes on MySQL', () => {
    const q = chunkQuery(binarySchema('mysql'), { kind: 'after', position: { cursor: '2024-01-01 00:00:00', key: [KEY_TEXT] } }, '2024-02-01 00:00:00', 7);
    expect(q.sql).toBe(
      'SELECT `tenant`, `id`, `updated_at` FROM `shop`.`uuids` WHERE `updated_at` >= CAST(? AS DATETIME(6)) AND (`updated_at` > CAST(? AS DATETIME(6)) OR (`updated_at` = CAST(? AS DATETIME(6)) AND `id` > ?)) AND `updated_at` < CAST(? AS DATETIME(6)) ORDER BY `updated_at`, `id` LIMIT 7',
    );
    expect(q.params[3]).toBeInstanceOf(Buffer);
    expect(q.params).toEqual(['2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', KEY, '2024-02-01 00:00:00']);
  });

  it('binds it as bytes cast to bytea on PostgreSQL, sent as bytea hex input text', () => {
    const q = chunkQuery(binarySchema('postgres'), { kind: 'after', position: { cursor: '2024-01-01 00:00:00', key: [KEY_TEXT] } }, '2024-02-01 00:00:00', 7);
    expect(q.sql).toBe(
      'SELECT "tenant", "id", "updated_at" FROM "shop"."uuids" WHERE "updated_at" >= $1::timestamp AND ("updated_at" > $2::timestamp OR ("updated_at" = $3::timestamp AND "id" > $4::bytea)) AND "updated_at" < $5::timestamp ORDER BY "updated_at", "id" LIMIT 7',
    );
    expect(q.params[3]).toEqual(KEY);
    expect(bindParams(q.params)[3]).toBe('\\x00ff80fe00c0ffee0001ff00deadbeef');
  });

  it('starts a full snapshot chunk after a binary key, and accepts upper-case hex', () => {
    const mysql = chunkQuery(binarySchema('mysql'), { kind: 'after-key', key: [KEY_TEXT.toUpperCase().replace('0X', '0x')] }, '', 100);
    expect(mysql.sql).toBe('SELECT `tenant`, `id`, `updated_at` FROM `shop`.`uuids` WHERE `id` >= ? AND `id` > ? ORDER BY `id` LIMIT 100');
    expect(mysql.params).toEqual([KEY, KEY]);
    const pg = chunkQuery(binarySchema('postgres'), { kind: 'after-key', key: ['0x'] }, '', 100);
    expect(pg.sql).toBe('SELECT "tenant", "id", "updated_at" FROM "shop"."uuids" WHERE "id" >= $1::bytea AND "id" > $2::bytea ORDER BY "id" LIMIT 100');
    expect(pg.params).toEqual([Buffer.alloc(0), Buffer.alloc(0)]);
  });

  it('binds a MySQL BIT key as the unsigned number of its bytes', () => {
    const q = chunkQuery(binarySchema('mysql', 'bit'), { kind: 'after-key', key: ['3', '0x0100'] }, '', 5);
    expect(q.sql).toBe('SELECT `tenant`, `id`, `updated_at` FROM `shop`.`uuids` WHERE `tenant` >= CAST(? AS SIGNED) AND (`tenant` > CAST(? AS SIGNED) OR (`tenant` = CAST(? AS SIGNED) AND `id` > CAST(? AS UNSIGNED))) ORDER BY `tenant`, `id` LIMIT 5');
    expect(q.params).toEqual(['3', '3', '3', '256']);
    expect(keyEncodings(binarySchema('mysql', 'bit'))).toEqual(['text', 'hex']);
  });

  it.each([
    ['its UTF-8 reading (a watermark of an earlier version)', '\u0000\ufffd\ufffd'],
    ['an odd number of hex digits', '0x0ff'],
    ['no 0x', '00ff'],
    ['a character that is not a hex digit', '0x00fg'],
  ])('refuses a binary key value that is %s, naming the column and the fix', (_what, value) => {
    expect(() => chunkQuery(binarySchema('mysql'), { kind: 'after', position: { cursor: '2024-01-01 00:00:00', key: [value] } }, '2024-02-01 00:00:00', 7)).toThrow(
      `dataset 'uuids': the position's value '${value}' for the binary key column 'id' is not 0x followed by its bytes in hex`,
    );
  });

  it('orders binary keys byte-wise, as MariaDB and PostgreSQL compare them', () => {
    const at = (key: string) => ({ cursor: '2024-01-01 00:00:00', key: [key] });
    const sorted = ['0x', '0x00', '0x00ff', '0x0100', '0x61', '0x6100', '0x7f', '0x80', '0xfe', '0xff', '0xff00'];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort((a, b) => comparePositions('time', at(a), at(b)))).toEqual(sorted);
    // Upper-case hex (as typed) compares as the same bytes.
    expect(comparePositions('time', at('0xFF'), at('0xff'))).toBe(0);
    expect(comparePositions('time', at('0xFF'), at('0xfe'))).toBeGreaterThan(0);
  });

  it('checks a position given from outside against the key: binary values as hex, lowered', () => {
    expect(canonicalPosition(binarySchema('mysql'), { cursor: 'c', key: ['0xABcd'] }, 'after')).toEqual({ cursor: 'c', key: ['0xabcd'] });
    expect(() => canonicalPosition(binarySchema('mysql'), { cursor: 'c', key: ['abcd'] }, 'after')).toThrow("after: 'abcd' for the binary key column 'id' is not 0x followed by its bytes in hex");
    expect(() => canonicalPosition(binarySchema('mysql'), { cursor: 'c', key: ['0x00', '1'] }, 'after')).toThrow("after has 2 key value(s), but the key of dataset 'uuids' is (id)");
    expect(binaryKeyBytes('0x00FF')).toEqual(Buffer.from([0, 255]));
    expect(binaryKeyBytes('0x0')).toBeUndefined();
  });
});

describe('the end bound of a naive cursor in its source time zone', () => {
  /** The schema with the cursor column of another type. */
  const withCursorType = (engine: 'mysql' | 'postgres', dataType: string): SchemaDocument => {
    const s = schema(engine);
    return { ...s, columns: s.columns.map((c) => (c.source === 'updated_at' ? { ...c, dataType } : c)) };
  };
  // The source clock read 12:00:00 UTC, lag 10 minutes: endQuery gives 11:50 UTC.
  const utcEnd = '2024-01-15 11:50:00.123456';

  it.each([
    ['MySQL DATETIME', withCursorType('mysql', 'datetime')],
    ['MySQL DATE', withCursorType('mysql', 'date')],
    ['PostgreSQL timestamp without time zone', withCursorType('postgres', 'timestamp without time zone')],
  ])('gives the bound as New York wall clock for a %s cursor, so rows stamped there wait lag there', (_name, s) => {
    expect(endBound(s, utcEnd, 'America/New_York')).toBe('2024-01-15 06:50:00.123456');
  });

  it('follows daylight saving time: four hours behind UTC in July', () => {
    expect(endBound(withCursorType('mysql', 'datetime'), '2024-07-15 11:50:00.000001', 'America/New_York')).toBe('2024-07-15 07:50:00.000001');
  });

  it.each([
    ['MySQL TIMESTAMP (read at +00:00)', withCursorType('mysql', 'timestamp')],
    ['PostgreSQL timestamptz (an instant)', withCursorType('postgres', 'timestamp with time zone')],
  ])('keeps the UTC bound for a %s cursor, whatever the zone', (_name, s) => {
    expect(endBound(s, utcEnd, 'America/New_York')).toBe(utcEnd);
  });

  it('keeps the bound as read for UTC, an integer cursor and an empty table', () => {
    expect(endBound(withCursorType('mysql', 'datetime'), utcEnd, 'UTC')).toBe(utcEnd);
    expect(endBound({ ...schema('mysql'), cursorKind: 'integer' }, '42', 'America/New_York')).toBe('42');
    expect(endBound(withCursorType('mysql', 'datetime'), null, 'America/New_York')).toBeNull();
  });

  it('reads a zone east of UTC across midnight, microseconds kept', () => {
    expect(wallClockIn('Asia/Kolkata', '2024-12-31 20:00:00.000007')).toBe('2025-01-01 01:30:00.000007');
  });
});
