import { parseConfig } from '../../lambdas/core/config';
import type { Row, Warehouse } from '../../lambdas/core/ports';
import { MAX_STATEMENT_BYTES, inListStatements, quoteLiteral, statementBytes } from '../../lambdas/core/sql';
import { WarehouseLoadTarget } from '../../lambdas/load/load-target';

/** An S3 key of `bytes` bytes (S3 allows 1,024), distinct per `i`. */
const longKey = (i: number, bytes = 1000, filler = 'k'): string => {
  const head = `orders/${String(i).padStart(5, '0')}/`;
  return head + filler.repeat(Math.floor((bytes - head.length) / Buffer.byteLength(filler)));
};

const statement = (list: string) => `SELECT object_key FROM "syncproof"."syncproof_load_files" WHERE object_key IN (${list})`;

/** The quoted literals of a statement built by `statement`, in order. */
const literalsOf = (sql: string): string[] => {
  const list = /IN \((.*)\)$/.exec(sql)![1]!;
  return list.split(', ');
};

describe('inListStatements', () => {
  it('splits 200 keys of 1,000 bytes, which one statement would hold in about 200 KB, into statements of at most 100 KB', () => {
    const literals = Array.from({ length: 200 }, (_, i) => quoteLiteral(longKey(i)));

    const statements = inListStatements(literals, statement);

    expect(statements.map(statementBytes).filter((b) => b > MAX_STATEMENT_BYTES)).toEqual([]);
    expect(statements.flatMap(literalsOf)).toEqual(literals);
    expect(statements).toHaveLength(2);
  });

  it('counts bytes, not characters: keys of two-byte characters that fit by length still split', () => {
    const literals = Array.from({ length: 80 }, (_, i) => quoteLiteral(longKey(i, 1000, 'é')));
    expect(statement(literals.join(', ')).length).toBeLessThan(MAX_STATEMENT_BYTES);

    const statements = inListStatements(literals, statement);

    expect(statements.map(statementBytes).filter((b) => b > MAX_STATEMENT_BYTES)).toEqual([]);
    expect(statements.flatMap(literalsOf)).toEqual(literals);
  });

  it('fills each statement: the next value would not have fit in the one before', () => {
    const literals = Array.from({ length: 500 }, (_, i) => quoteLiteral(longKey(i, 300 + (i % 7) * 100)));

    const statements = inListStatements(literals, statement, 20_000);

    for (const [i, sql] of statements.entries()) {
      expect(statementBytes(sql)).toBeLessThanOrEqual(20_000);
      const next = statements[i + 1];
      if (next) expect(statementBytes(statement([...literalsOf(sql), literalsOf(next)[0]!].join(', ')))).toBeGreaterThan(20_000);
    }
    expect(statements.flatMap(literalsOf)).toEqual(literals);
  });

  it('makes no statement for no values, and one for a few short ones', () => {
    expect(inListStatements([], statement)).toEqual([]);
    expect(inListStatements(["'a'", "'b'"], statement)).toEqual([statement("'a', 'b'")]);
  });

  it('refuses a value that alone would pass the limit', () => {
    expect(() => inListStatements([quoteLiteral('x'.repeat(200))], statement, 200)).toThrow('statement limit');
  });
});

describe('WarehouseLoadTarget.committed', () => {
  it('asks the audit table about 250 keys of 1,000 bytes in statements of at most 100 KB, and finds every one', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => longKey(i));
    const sent: string[] = [];
    const wh: Warehouse = {
      executeTransaction: () => Promise.reject(new Error('not used')),
      close: () => Promise.resolve(),
      query: (sql: string): Promise<Row[]> => {
        sent.push(sql);
        return Promise.resolve(
          keys.filter((k) => sql.includes(quoteLiteral(k))).map((k) => ({ object_key: k, etag: 'e', load_id: 'ld_1', loaded_rows: 1, file_rows: 1, loads: 1 })),
        );
      },
    };
    const dataset = parseConfig({ datasets: [{ name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['id'] }] }).datasets[0]!;
    const target = new WarehouseLoadTarget(wh, dataset, {} as never, 'arn:aws:iam::1:role/copy');

    const committed = await target.committed(keys.map((key) => ({ key, etag: 'e' })));

    expect(sent.map(statementBytes).filter((b) => b > MAX_STATEMENT_BYTES)).toEqual([]);
    expect(committed.size).toBe(250);
  });
});
