import { PartitionProgress } from '../src/partition-progress';

describe('PartitionProgress', () => {
  it('tracks routed records and resolves idle() once all are finished', async () => {
    const p = new PartitionProgress({ topic: 't', partition: 3 });
    expect(p.id).toBe('t/3');
    await p.idle();
    p.routed(10);
    p.routed(11);
    expect(p.outstanding).toBe(2);
    expect(p.lastOffset).toBe(11);
    let idle = false;
    void p.idle().then(() => (idle = true));
    p.tracker.complete(11);
    p.finished();
    await Promise.resolve();
    expect(idle).toBe(false);
    // The committable offset never passes the unfinished record 10.
    expect(p.tracker.committable()).toBeUndefined();
    p.tracker.complete(10);
    p.finished();
    await Promise.resolve();
    expect(idle).toBe(true);
    expect(p.tracker.committable()).toBe(12);
  });

  it('revoke marks it revoked and aborts retry waits, not handlers', () => {
    const p = new PartitionProgress({ topic: 't', partition: 0 });
    p.revoke();
    expect(p.revoked).toBe(true);
    expect(p.retryAbort.signal.aborted).toBe(true);
    expect(p.handlerAbort.signal.aborted).toBe(false);
  });
});
