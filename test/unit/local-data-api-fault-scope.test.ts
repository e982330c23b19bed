/**
 * Fault scopes of the local Data API: two tests arming faults on one server at once (the fault
 * suite's two datasets) each disarm and release only their own.
 */
import { LocalDataApiFaults } from '../../local/redshift-data-api/faults';

describe('LocalDataApiFaults.scope', () => {
  it("resets only its own faults and releases only its own held statements", async () => {
    const faults = new LocalDataApiFaults();
    const a = faults.scope();
    const b = faults.scope();
    a.loseNextReply('BatchExecuteStatement', 'alpha');
    a.failNextStatement(0, 'boom', 'alpha');
    a.beforeNextCopyRead((k) => k.startsWith('alpha/'), async () => undefined);
    const heldA = a.holdNext('alpha');
    b.loseNextReply('BatchExecuteStatement', 'beta');
    b.beforeNextCopyRead((k) => k.startsWith('beta/'), async () => undefined);
    const heldB = b.holdNext('beta');
    expect(faults.armed()).toBe(7);

    // b's statement is held; a's hold was never taken.
    const active = faults.takeHold('stmt-b', ['COPY beta']);
    expect(active).toBeDefined();
    expect(await heldB.started).toBe('stmt-b');

    a.reset();
    expect(faults.armed()).toBe(2); // b's lost reply and copy-read action (its hold is taken)
    expect(faults.takeLostReply('BatchExecuteStatement', ['COPY alpha'])).toBe(false);
    expect(faults.takeStatementFailure(['COPY alpha'])).toBeUndefined();
    expect(faults.takeHold('stmt-a', ['COPY alpha'])).toBeUndefined();
    // b's held statement still waits; b's reset releases it.
    let released = false;
    void active!.done.then(() => (released = true));
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(false);
    expect(faults.takeLostReply('BatchExecuteStatement', ['COPY beta'])).toBe(true);

    b.reset();
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(true);
    expect(faults.armed()).toBe(0);
    heldA.release();
  });
});
