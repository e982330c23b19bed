import { Writable } from 'node:stream';
import { progressFromExecutions, startProgress } from '../../cli/progress';
import type { RunRecord, RunStore } from '../../lambdas/core/ports';

/** A stream that keeps what is written to it; a TTY or not, as asked. */
function captured(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 120 });
  return { stream, text: () => out };
}

const runs = (run: Partial<RunRecord>): RunStore => ({ get: async () => run as RunRecord, start: async () => true, update: async () => undefined, listByDataset: async function* () {} });

describe('progress on a terminal', () => {
  it('writes nothing at all when the stream is not a terminal', () => {
    const { stream, text } = captured(false);
    const progress = startProgress({ stream, label: 'sync orders' });
    progress.update({ stage: 'Discover', files: 2, rows: 10 });
    progress.stop();
    expect(text()).toBe('');
  });

  it('draws the label, each stage as it starts, files and rows on a terminal, and nothing after stop', () => {
    const { stream, text } = captured(true);
    const progress = startProgress({ stream, label: 'sync orders', tty: true });
    progress.update({ stage: 'Discover' });
    progress.update({ stage: 'Load', files: 3, rows: 300 });
    progress.stop();
    const written = text();
    expect(written).toContain('sync orders Discover');
    expect(written).toContain('sync orders Load | files 3 | rows 300');
    progress.update({ stage: 'Verify' });
    expect(text()).toBe(written);
  });

  it('takes the stage from the state entered and the files and rows from the run record', async () => {
    const { stream, text } = captured(true);
    const progress = startProgress({ stream, label: 'demo', tty: true });
    const listener = progressFromExecutions(progress);
    listener({ name: 'run-1', machine: 'sync', state: 'Verify', runs: runs({ stages: { 'load_a': { filesLoaded: 4, rows: 40 } } }) });
    await new Promise((resolve) => setImmediate(resolve));
    progress.update({});
    progress.stop();
    expect(text()).toContain('demo Verify | files 4 | rows 40');
  });
});
