import { suggestCursor } from '../../lambdas/core/cursor-suggestion';
import { column } from '../fixtures/memory-source';

describe('suggestCursor', () => {
  it('prefers a timestamp named like an update time over other timestamps, NOT NULL first', () => {
    const columns = [
      column('id', 'bigint'),
      column('created_at', 'datetime'),
      column('last_modified', 'datetime', { nullable: true }),
      column('updatedAt', 'timestamp'),
    ];
    expect(suggestCursor(columns, ['id'])).toEqual({ column: 'updatedAt', reason: 'a timestamp column named like an update time' });
  });

  it('takes a nullable update time, and says that NULL cursors are never extracted', () => {
    const s = suggestCursor([column('id', 'integer'), column('modified', 'timestamp with time zone', { nullable: true })], ['id']);
    expect(s.column).toBe('modified');
    expect(s.reason).toMatch(/named like an update time; it allows NULL, and rows whose cursor is NULL are never extracted$/);
  });

  it('falls back to any date/time column, NOT NULL first, and says it must change on update', () => {
    const columns = [column('id', 'int'), column('seen', 'datetime', { nullable: true }), column('created_at', 'timestamp without time zone')];
    expect(suggestCursor(columns, ['id'])).toEqual({ column: 'created_at', reason: 'the first NOT NULL timestamp without time zone column; make sure it changes on every update, or updates are missed' });
  });

  it('does not suggest a DATE column (a day is too coarse a cursor)', () => {
    expect(suggestCursor([column('code', 'varchar'), column('day', 'date')], ['code']).column).toBeUndefined();
  });

  it('falls back to a one-column integer primary key, saying updates are not caught', () => {
    expect(suggestCursor([column('id', 'bigint'), column('name', 'varchar')], ['id'])).toEqual({
      column: 'id',
      reason: 'an integer primary key (looks auto-increment): new rows are extracted, updates to existing rows are not',
    });
  });

  it('says when there is none: no date/time column and a text or composite key', () => {
    expect(suggestCursor([column('code', 'varchar'), column('n', 'int')], ['code']).column).toBeUndefined();
    const s = suggestCursor([column('a', 'int'), column('b', 'int')], ['a', 'b']);
    expect(s).toEqual({ reason: 'no date/time column and no one-column integer primary key; add an updated_at column, or pass the cursor yourself' });
  });
});
