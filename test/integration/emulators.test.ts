import { createS3Client } from '../../lambdas/adapters/clients';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3, type LocalS3 } from '../../local/emulators';

describe('local S3 emulator', () => {
  let s3: LocalS3;
  let store: S3ObjectStore;

  beforeAll(async () => {
    s3 = await startLocalS3({ bucket: 'atomic' });
    store = new S3ObjectStore(createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), 'atomic');
  });

  afterAll(async () => {
    await s3?.stop();
  });

  it('never lists or serves an object before all of its bytes are written (as S3, unlike stock s3rver)', async () => {
    const size = 4 * 1024 * 1024;
    const body = new Uint8Array(size).fill(7);
    const seen: number[] = [];
    let writing = true;
    const lister = (async () => {
      while (writing) for await (const o of store.list('p/')) seen.push(o.size);
    })();
    await Promise.all(Array.from({ length: 12 }, (_, i) => store.put(`p/${i}.bin`, body)));
    writing = false;
    await lister;
    for (let i = 0; i < 12; i++) expect((await store.getBytes(`p/${i}.bin`)).length).toBe(size);
    expect(seen.filter((n) => n !== size)).toEqual([]);
  });
});
