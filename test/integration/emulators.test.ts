import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambdas/adapters/clients';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store';
import { ObjectChangedError } from '../../lambdas/core/errors';
import { LOCAL_CREDENTIALS, LOCAL_REGION, seedLocalS3Store, startLocalS3, type LocalS3 } from '../../local/emulators';

describe('local S3 emulator', () => {
  let s3: LocalS3;
  let store: S3ObjectStore;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startLocalS3({ bucket: 'atomic' });
    client = createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    store = new S3ObjectStore(client, 'atomic');
  });

  async function listAll(input: { Prefix: string; Delimiter?: string; StartAfter?: string }): Promise<{ keys: string[]; prefixes: string[]; pages: number }> {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await client.send(new ListObjectsV2Command({ Bucket: 'atomic', ...input, ContinuationToken: token }));
      pages += 1;
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
      token = page.NextContinuationToken;
    } while (token);
    return { keys, prefixes, pages };
  }

  afterAll(async () => {
    await s3?.stop();
  });

  it('copies an object only while it is the version CopySourceIfMatch names, and copies nothing otherwise (as S3, unlike stock s3rver)', async () => {
    const key = 'copy/a key+with?odd=chars.parquet';
    const first = await store.put(key, 'first version');
    await store.put(key, 'other version');

    await expect(store.copy(key, '_syncproof/pinned/stale', { ifMatch: first.etag })).rejects.toBeInstanceOf(ObjectChangedError);
    expect(await store.head('_syncproof/pinned/stale')).toBeUndefined();

    const current = (await store.head(key))!;
    const pinned = await store.copy(key, '_syncproof/pinned/current', { ifMatch: current.etag });
    expect(pinned).toMatchObject({ etag: current.etag, size: current.size });
    expect(Buffer.from((await store.getObject('_syncproof/pinned/current'))!.bytes).toString()).toBe('other version');
  });

  it('reads an object once with the ETag and LastModified of the version read', async () => {
    const written = await store.put('copy/read-once', 'v1');

    const read = await store.getObject('copy/read-once');

    expect(read?.summary).toMatchObject({ etag: written.etag, size: 2 });
    expect(Buffer.from(read!.bytes).toString()).toBe('v1');
    expect(await store.getObject('copy/missing')).toBeUndefined();
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

  it('lists a seeded prefix page by page: every key once, in order, with sizes and ETags, common prefixes and StartAfter', async () => {
    const keys: string[] = [];
    for (let d = 0; d < 5; d++) for (let i = 0; i < 500; i++) keys.push(`list/d${d}/f-${String(i).padStart(4, '0')}.bin`);
    keys.push('list/top.bin', 'listing-elsewhere/x.bin');
    const body = (key: string) => Buffer.from(key);
    expect(await seedLocalS3Store(s3.directory, 'atomic', keys.map((key) => ({ key, body: body(key) })))).toBe(keys.length);
    const under = keys.filter((k) => k.startsWith('list/')).sort();

    const all = await listAll({ Prefix: 'list/' });
    expect(all.keys).toEqual(under);
    expect(all.pages).toBe(Math.ceil(under.length / 1000));
    const page = await client.send(new ListObjectsV2Command({ Bucket: 'atomic', Prefix: 'list/d3/f-0007' }));
    expect(page.Contents).toEqual([expect.objectContaining({ Key: 'list/d3/f-0007.bin', Size: 'list/d3/f-0007.bin'.length })]);
    expect(page.Contents?.[0]?.ETag).toMatch(/^"[0-9a-f]{32}"$/);

    const folders = await listAll({ Prefix: 'list/', Delimiter: '/' });
    expect(folders).toEqual({ keys: ['list/top.bin'], prefixes: ['list/d0/', 'list/d1/', 'list/d2/', 'list/d3/', 'list/d4/'], pages: 1 });

    const after = await listAll({ Prefix: 'list/', StartAfter: 'list/d2/f-0499.bin' });
    expect(after.keys).toEqual(under.filter((k) => k > 'list/d2/f-0499.bin'));
  });
});
