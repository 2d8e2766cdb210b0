import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import {
  disksAnswerSchema,
  networkAnswerSchema,
  portsAnswerSchema,
  processesAnswerSchema,
  usersAnswerSchema,
} from '@fabric/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { processName } from './mutate.js';
import { systemQuery } from './query.js';
import { parsePasswd } from './users.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('system query: processes', () => {
  it("finds this test's own process by name, and the answer parses", async () => {
    const name = await processName(process.pid);
    expect(name).toBeTruthy();
    const answer = processesAnswerSchema.parse(
      await systemQuery({ query: 'processes', name: name!.toUpperCase(), limit: 500 }),
    );
    const me = answer.processes.find((p) => p.pid === process.pid);
    expect(me).toMatchObject({ pid: process.pid, parentPid: process.ppid, name });
    expect(me!.memRssBytes).toBeGreaterThan(1024 * 1024);
    expect(answer.total).toBeGreaterThanOrEqual(answer.matched);
    expect(answer.processes.every((p) => p.name.toLowerCase().includes(name!.toLowerCase()))).toBe(true);
  });

  it('sorts by pid and cuts to the limit, defaulting to 50 by cpu', async () => {
    const byPid = await systemQuery({ query: 'processes', sort: 'pid', limit: 5 });
    expect(byPid.processes).toHaveLength(Math.min(5, byPid.total));
    const pids = byPid.processes.map((p) => p.pid);
    expect(pids).toEqual([...pids].sort((a, b) => a - b));
    const byMemory = await systemQuery({ query: 'processes', sort: 'memory' });
    const rss = byMemory.processes.map((p) => p.memRssBytes);
    expect(rss).toEqual([...rss].sort((a, b) => b - a));
    const byCpu = await systemQuery({ query: 'processes' });
    expect(byCpu.processes.length).toBe(Math.min(50, byCpu.total));
  });

  it.each([
    [{ query: 'processes', limit: 0 }],
    [{ query: 'processes', limit: 501 }],
    [{ query: 'processes', sort: 'name' }],
    [{ query: 'processes', name: '' }],
    [{ query: 'processes', names: 'node' }],
    [{ query: 'kernel' }],
    ['processes'],
  ])('refuses the input %j', async (input) => {
    await expect(systemQuery(input)).rejects.toMatchObject({ code: 'bad_request' });
  });
});

describe('system query: network and ports', () => {
  it('lists every interface node knows, with all its addresses', async () => {
    const answer = networkAnswerSchema.parse(await systemQuery({ query: 'network' }));
    const fromOs = os.networkInterfaces();
    for (const [name, addrs] of Object.entries(fromOs)) {
      const iface = answer.interfaces.find((i) => i.name === name);
      expect(iface, name).toBeDefined();
      expect(iface!.addresses.map((a) => a.address).sort()).toEqual((addrs ?? []).map((a) => a.address).sort());
    }
    expect(answer.interfaces.some((i) => i.internal && i.addresses.some((a) => a.address === '127.0.0.1'))).toBe(true);
  });

  it('finds a TCP server and a UDP socket this test opens on 127.0.0.1, with this process as owner', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => udp.close(() => resolve())));
    const tcpPort = (server.address() as AddressInfo).port;
    const udpPort = udp.address().port;

    const answer = portsAnswerSchema.parse(await systemQuery({ query: 'ports' }));
    const name = await processName(process.pid);
    expect(answer.ports).toContainEqual({
      protocol: 'tcp',
      address: '127.0.0.1',
      port: tcpPort,
      pid: process.pid,
      process: name,
    });
    if (process.platform === 'linux') {
      expect(answer.ports).toContainEqual({
        protocol: 'udp',
        address: '127.0.0.1',
        port: udpPort,
        pid: process.pid,
        process: name,
      });
    }
  });
});

describe('system query: disks', () => {
  it('lists mounted filesystems with consistent sizes, and parses', async () => {
    const answer = disksAnswerSchema.parse(await systemQuery({ query: 'disks' }));
    expect(answer.filesystems.length).toBeGreaterThan(0);
    for (const f of answer.filesystems) expect(f.usedBytes).toBeLessThanOrEqual(f.sizeBytes);
  });
});

describe('system query: users', () => {
  it('lists the current user among the accounts, and parses', async () => {
    const me = os.userInfo();
    const answer = usersAnswerSchema.parse(await systemQuery({ query: 'users' }));
    expect(answer.accounts).toContainEqual(
      expect.objectContaining({ name: me.username, uid: me.uid, home: me.homedir }),
    );
  });

  it('answers no accounts where there is no passwd file', async () => {
    const answer = await systemQuery(
      { query: 'users' },
      { users: { passwdPath: '/nonexistent/passwd', sessions: async () => [] } },
    );
    expect(answer).toEqual({ query: 'users', accounts: [], sessions: [] });
  });
});

describe('parsePasswd', () => {
  it('keeps well-formed lines and skips comments, NIS entries and malformed ones', () => {
    const text = [
      'root:x:0:0:root:/root:/bin/bash',
      '# a comment',
      '+@netgroup::::::',
      'short:x:1:1',
      'badid:x:one:1::/:/bin/sh',
      'extra:x:1:1:a:b:c:d',
      'www-data:x:33:33:www-data,,,:/var/www:/usr/sbin/nologin',
      'ann:x:1000:1000:Ann Example:/home/ann:/bin/zsh\r',
      '',
    ].join('\n');
    expect(parsePasswd(text)).toEqual([
      { name: 'root', uid: 0, gid: 0, description: 'root', home: '/root', shell: '/bin/bash', canLogin: true },
      {
        name: 'www-data',
        uid: 33,
        gid: 33,
        description: 'www-data,,,',
        home: '/var/www',
        shell: '/usr/sbin/nologin',
        canLogin: false,
      },
      {
        name: 'ann',
        uid: 1000,
        gid: 1000,
        description: 'Ann Example',
        home: '/home/ann',
        shell: '/bin/zsh',
        canLogin: true,
      },
    ]);
  });
});
