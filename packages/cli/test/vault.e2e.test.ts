import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceView, EntryWithCiphertext, RecipientSetWire, StreamEvent } from '@fabric/protocol';
import {
  decryptEntry,
  encryptEntry,
  generateSigner,
  identityFromSecret,
  recoveryIdentity,
  setHash,
  signRecipientSet,
  validatePhrase,
  type RecipientSet,
} from '@fabric/vault';
import { Proc, optimal, readJson, tempDir } from './procs.js';

/**
 * The vault's promises with real processes: a control plane (A), the owner's
 * CLI (C), two devices (B1 alpha, B2 beta). The server never holds a key
 * that opens anything; clients refuse sets the server made up; revoked
 * recipients lose access to what comes after; the recovery phrase brings
 * everything back on an empty machine; sessions get credentials only as
 * environment variables.
 */
const A = tempDir('vault-server');
const B1 = tempDir('vault-alpha');
const B2 = tempDir('vault-beta');
const C = tempDir('vault-cli');
const procs: Proc[] = [];
let url = '';
let phrase = '';
const PASS = 'correct horse battery staple';
const SECRETS: Record<string, string> = {
  OPENAI_API_KEY: 'sk-proj-7f3a9c2e1b4d6f8a0c2e4b6d8f1a3c5e',
  GITHUB_TOKEN: 'ghp_Zx81Qw72Er63Ty54Ui45Op36As27Df18Gh09',
};

const env = { OPTIMAL_VAULT_PASSPHRASE: PASS };
/**
 * What is slow here is real work, not waiting: every command that opens this
 * CLI's vault runs scrypt at the age default (log2 N = 18) in JavaScript: 2.3 s
 * of CPU, 6 s of wall time at a load average of 7 on 2 cores, on top of a CLI
 * start-up (0.9 s of CPU, 2.5 s there). So each step gets minutes, and each
 * test many steps' worth.
 */
const STEP_MS = 120_000;
const TEST_MS = 600_000;
const cli = (args: string[], input?: string, dir = C.path) =>
  optimal([...args, '--data', dir], { env, ...(input === undefined ? {} : { input }), timeoutMs: STEP_MS });
const token = () => readJson<{ token: string }>(join(C.path, 'cli.json')).token;
const api = async (path: string, init: RequestInit = {}) =>
  fetch(url + path, {
    ...init,
    headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json', ...init.headers },
  });
const entry = async (name: string) => (await (await api(`/api/vault/entries/${name}`)).json()) as EntryWithCiphertext;
const deviceKey = (dir: string) => readJson<{ identity: string; recipient: string }>(join(dir, 'vault.key')).identity;

function start(args: string[], extraEnv: Record<string, string> = {}): Proc {
  const p = new Proc(args, extraEnv);
  procs.push(p);
  return p;
}

/** Every file under a directory, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

let server: Proc;

beforeAll(async () => {
  server = start(['serve', '--data', A.path, '--port', '0']);
  url = (await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, STEP_MS))[1]!;
  const setup = JSON.parse((await optimal(['invite', '--data', A.path, '--json'], { timeoutMs: STEP_MS })).stdout) as {
    code: string;
  };
  expect(
    (
      await optimal(
        ['login', '--server', url, '--user', 'ada', '--code', setup.code, '--password-stdin', '--data', C.path],
        { input: PASS, timeoutMs: STEP_MS },
      )
    ).code,
  ).toBe(0);
  for (const [dir, name, allow] of [
    [B1.path, 'alpha', 'echo,printenv,node'],
    [B2.path, 'beta', 'echo,printenv'],
  ] as const) {
    const pairing = JSON.parse((await cli(['pair', '--json'])).stdout) as { code: string };
    expect(
      (
        await optimal(['pair', '--server', url, '--token', pairing.code, '--name', name, '--data', dir], {
          timeoutMs: STEP_MS,
        })
      ).code,
    ).toBe(0);
    expect(statSync(join(dir, 'vault.key')).mode & 0o777).toBe(0o600);
    await start(['device', '--data', dir, '--allow', allow]).waitFor(/device online/, STEP_MS);
  }
  const init = await cli(['vault', 'init']);
  expect(init.code, init.stderr).toBe(0);
  phrase = [...init.stdout.matchAll(/\d+\. ([a-z]+)/g)].map((m) => m[1]).join(' ');
  expect(phrase.split(' ')).toHaveLength(24);
  expect(statSync(join(C.path, 'vault.json')).mode & 0o777).toBe(0o600);
  for (const [name, value] of Object.entries(SECRETS)) {
    const added = await cli(['vault', 'add', name], value);
    expect(added.code, added.stderr).toBe(0);
  }
}, TEST_MS);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  for (const d of [A, B1, B2, C]) d.remove();
});

describe('the vault', { timeout: TEST_MS }, () => {
  it('reads back what it stores, on this CLI, and lists recipients with fingerprints', async () => {
    expect((await cli(['vault', 'get', 'OPENAI_API_KEY'])).stdout).toBe(SECRETS.OPENAI_API_KEY);
    const listed = JSON.parse((await cli(['vault', 'recipients', '--json'])).stdout) as {
      version: number;
      recipients: { kind: string; label: string; fingerprint: string }[];
    };
    expect(listed.recipients.map((r) => `${r.kind}:${r.label}`).sort()).toEqual(
      [
        'cli:' + listed.recipients.find((r) => r.kind === 'cli')!.label,
        'device:alpha',
        'device:beta',
        'recovery:recovery phrase',
      ].sort(),
    );
    for (const r of listed.recipients) expect(r.fingerprint).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/);
    // The signed set keeps the name a device was enrolled under; a rename shows beside it.
    const beta = (listed.recipients as { id: string; label: string }[]).find((r) => r.label === 'beta')!;
    expect((await cli(['devices', 'rename', beta.id, 'gamma'])).code).toBe(0);
    expect((await cli(['vault', 'recipients'])).stdout).toContain('beta (now gamma)');
    const renamed = JSON.parse((await cli(['vault', 'recipients', '--json'])).stdout) as {
      recipients: { id: string; deviceName?: string }[];
    };
    expect(renamed.recipients.find((r) => r.id === beta.id)!.deviceName).toBe('gamma');
    expect((await cli(['devices', 'rename', beta.id, 'beta'])).code).toBe(0);
    const wrong = await optimal(['vault', 'get', 'OPENAI_API_KEY', '--data', C.path], {
      env: { OPTIMAL_VAULT_PASSPHRASE: 'not the passphrase' },
      timeoutMs: STEP_MS,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^optimal: passphrase_wrong:/);
  });

  it("survives a server compromise: nothing in the database or the server's files opens an entry", async () => {
    const dump = files(A.path).map((f) => readFileSync(f));
    const everything = Buffer.concat(dump);
    for (const value of Object.values(SECRETS)) expect(everything.includes(Buffer.from(value))).toBe(false);
    expect(everything.includes(Buffer.from('AGE-SECRET-KEY-'))).toBe(false);

    // Try every secret the server has as a key: its JWT signing keys, as X25519 and hybrid identities.
    const db = new Database(join(A.path, 'fabric.db'), { readonly: true });
    const keys = (db.prepare('SELECT secret FROM signing_keys').all() as { secret: string }[]).map((k) =>
      Buffer.from(k.secret, 'base64url'),
    );
    const ciphertexts = (db.prepare('SELECT ciphertext FROM vault_entries').all() as { ciphertext: string }[]).map(
      (r) => r.ciphertext,
    );
    db.close();
    expect(keys.length).toBeGreaterThan(0);
    expect(ciphertexts).toHaveLength(2);
    const candidates = [];
    for (const k of keys) candidates.push((await identityFromSecret(new Uint8Array(k), false)).identity);
    for (const c of ciphertexts)
      await expect(decryptEntry(c, candidates)).rejects.toMatchObject({ code: 'decrypt_failed' });
  });

  it('refuses a recipient the server adds on its own, and a set the server edits', async () => {
    const { set } = (await (await api('/api/vault/set')).json()) as { set: RecipientSet };
    const mallory = await identityFromSecret(new Uint8Array(32).fill(7), false);
    const forger = generateSigner();
    const injected = signRecipientSet(
      {
        // The hash is public: a forging server can link its set to the real history. What it lacks is a trusted signer.
        vaultId: set.vaultId,
        version: set.version + 1,
        postQuantum: false,
        previousHash: setHash(set),
        createdAt: Date.now(),
        recipients: [
          ...set.recipients,
          {
            id: 'mallory',
            kind: 'cli',
            recipient: mallory.recipient,
            label: 'backup',
            signer: forger.publicKey,
            addedAt: Date.now(),
          },
        ],
      },
      forger,
    );
    // The server itself holds no trusted signer, so the best it can do is sign with a key of its own.
    const db = new Database(join(A.path, 'fabric.db'));
    db.prepare('INSERT INTO vault_sets (version, vault_id, body, created_at, created_by) VALUES (?, ?, ?, ?, ?)').run(
      injected.version,
      injected.vaultId,
      JSON.stringify(injected),
      Date.now(),
      'user:mallory',
    );
    const add = await cli(['vault', 'add', 'LEAK_ME'], 'would-be-leaked-value');
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(/^optimal: set_signer_untrusted:/);

    // Editing the set this CLI already trusts, in place, is caught too.
    db.prepare('DELETE FROM vault_sets WHERE version = ?').run(injected.version);
    const edited: RecipientSetWire = {
      ...set,
      recipients: [
        ...set.recipients,
        { id: 'mallory', kind: 'device', recipient: mallory.recipient, label: 'backup', signer: null, addedAt: 1 },
      ],
    };
    db.prepare('UPDATE vault_sets SET body = ? WHERE version = ?').run(JSON.stringify(edited), set.version);
    const again = await cli(['vault', 'recipients']);
    expect(again.stderr).toMatch(/^optimal: set_tampered:/);
    db.prepare('UPDATE vault_sets SET body = ? WHERE version = ?').run(JSON.stringify(set), set.version);
    db.close();
    expect(
      ((await (await api('/api/vault/entries')).json()) as { entries: { name: string }[] }).entries.map((e) => e.name),
    ).not.toContain('LEAK_ME');
  });

  it('refuses a write against a stale recipient-set version with 409', async () => {
    const { set } = (await (await api('/api/vault/set')).json()) as { set: RecipientSet };
    const current = await entry('GITHUB_TOKEN');
    const stale = await api('/api/vault/entries/GITHUB_TOKEN', {
      method: 'PUT',
      body: JSON.stringify({
        ciphertext: current.ciphertext,
        setVersion: set.version - 1 || 99,
        baseVersion: current.version,
      }),
    });
    expect(stale.status).toBe(409);
    const raced = await api('/api/vault/entries/GITHUB_TOKEN', {
      method: 'PUT',
      body: JSON.stringify({
        ciphertext: current.ciphertext,
        setVersion: set.version,
        baseVersion: current.version - 1,
      }),
    });
    expect(raced.status).toBe(409);
    expect((await entry('GITHUB_TOKEN')).version).toBe(current.version);
  });

  it('injects a credential as an environment variable only, and keeps it out of the store, the logs and the stream', async () => {
    const value = SECRETS.OPENAI_API_KEY!;
    const digest = createHash('sha256').update(value).digest('hex');
    const program = `node -e "console.log(require('crypto').createHash('sha256').update(process.env.OPENAI_API_KEY).digest('hex'))"`;
    const hashed = await cli([
      'session',
      'start',
      '--device',
      'alpha',
      '--prompt',
      program,
      '--credential',
      'OPENAI_API_KEY',
      '--follow',
    ]);
    expect(hashed.code, hashed.stderr).toBe(0);
    expect(hashed.stdout.trim()).toBe(digest); // the process saw the real value

    const echoed = await cli([
      'session',
      'start',
      '--device',
      'alpha',
      '--prompt',
      'printenv OPENAI_API_KEY',
      '--credential',
      'OPENAI_API_KEY',
      '--follow',
      '--json',
    ]);
    const events = echoed.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StreamEvent);
    expect(
      events
        .filter((e) => e.kind === 'stdout')
        .map((e) => e.data)
        .join(''),
    ).toBe('[redacted:OPENAI_API_KEY]\n');

    const stored = Buffer.concat(files(A.path).map((f) => readFileSync(f)));
    expect(stored.includes(Buffer.from(value))).toBe(false);
    for (const p of procs) expect(p.stdout + p.stderr).not.toContain(value);
    expect(echoed.stdout + echoed.stderr + hashed.stderr).not.toContain(value);
  });

  it('refuses credentials for a device that is not a vault recipient, naming the fix', async () => {
    const res = await cli([
      'session',
      'start',
      '--device',
      'alpha',
      '--prompt',
      'printenv NOPE',
      '--credential',
      'NOPE',
    ]);
    expect(res.stderr).toMatch(/^optimal: credential_not_found: no vault entry NOPE/);
  });

  it('revokes a device: it cannot read anything written afterwards, and the entries it could read are flagged', async () => {
    const before = await entry('OPENAI_API_KEY');
    expect(new TextDecoder().decode(await decryptEntry(before.ciphertext, [deviceKey(B2.path)]))).toBe(
      SECRETS.OPENAI_API_KEY,
    );
    const devices = JSON.parse((await cli(['devices', '--json'])).stdout) as DeviceView[];
    const beta = devices.find((d) => d.name === 'beta')!;
    const revoke = await cli(['vault', 'revoke', beta.id]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain('rotate them at their source: GITHUB_TOKEN, OPENAI_API_KEY');
    expect((await cli(['vault', 'add', 'AFTER_REVOKE'], 'written-after-the-revocation')).code).toBe(0);

    for (const name of ['OPENAI_API_KEY', 'GITHUB_TOKEN', 'AFTER_REVOKE']) {
      await expect(decryptEntry((await entry(name)).ciphertext, [deviceKey(B2.path)])).rejects.toMatchObject({
        code: 'decrypt_failed',
      });
      expect((await decryptEntry((await entry(name)).ciphertext, [deviceKey(B1.path)])).length).toBeGreaterThan(0);
    }
    const listed = (await cli(['vault', 'ls'])).stdout;
    expect(listed).toMatch(/OPENAI_API_KEY.*rotate/);
    expect(listed).not.toMatch(/AFTER_REVOKE.*rotate/);
    const refused = await cli([
      'session',
      'start',
      '--device',
      'beta',
      '--prompt',
      'printenv OPENAI_API_KEY',
      '--credential',
      'OPENAI_API_KEY',
    ]);
    expect(refused.stderr).toMatch(/^optimal: credential_unavailable: device beta is not a vault recipient/);
  });

  it('recovers from the phrase on an empty data dir and reads every entry', async () => {
    const fresh = tempDir('vault-recovered');
    try {
      expect(
        (
          await optimal(['login', '--server', url, '--user', 'ada', '--password-stdin', '--data', fresh.path], {
            input: PASS,
            timeoutMs: STEP_MS,
          })
        ).code,
      ).toBe(0);
      const mistyped = await cli(['vault', 'recover'], phrase.replace(/^(\S+)/, '$1x'), fresh.path);
      expect(mistyped.stderr).toMatch(/^optimal: phrase_invalid: word 1 /);
      const words = phrase.split(' ');
      [words[0], words[1]] = [words[1]!, words[0]!];
      if (words.join(' ') !== phrase) {
        const swapped = await cli(['vault', 'recover'], words.join(' '), fresh.path);
        // The checksum is 8 bits: one swap in 256 still checks out, and is then another vault's phrase.
        const checksOut = (() => {
          try {
            validatePhrase(words.join(' '));
            return true;
          } catch {
            return false;
          }
        })();
        expect(swapped.stderr).toMatch(
          checksOut ? /^optimal: forbidden: that is a valid recovery phrase/ : /^optimal: phrase_checksum:/,
        );
      }
      const recovered = await cli(['vault', 'recover'], `  ${phrase.toUpperCase()}  \n`, fresh.path);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(recovered.stdout).toContain('3 entries are readable');
      for (const [name, value] of Object.entries({ ...SECRETS, AFTER_REVOKE: 'written-after-the-revocation' })) {
        expect((await cli(['vault', 'get', name], undefined, fresh.path)).stdout).toBe(value);
      }
      // The original CLI still trusts the new set: it was signed by the recovery phrase, a trusted signer.
      expect((await cli(['vault', 'get', 'GITHUB_TOKEN'])).stdout).toBe(SECRETS.GITHUB_TOKEN);
      const rec = await recoveryIdentity(phrase);
      expect(
        new TextDecoder().decode(await decryptEntry((await entry('GITHUB_TOKEN')).ciphertext, [rec.identity])),
      ).toBe(SECRETS.GITHUB_TOKEN);
    } finally {
      fresh.remove();
    }
  });

  it("keeps the owner's entries from a member: no use in a session, no overwrite, and a shared writer is named and flagged", async () => {
    const bobDir = tempDir('vault-bob');
    try {
      const invite = JSON.parse((await cli(['invite', '--role', 'member', '--json'])).stdout) as { code: string };
      expect(
        (
          await optimal(
            [
              'login',
              '--server',
              url,
              '--user',
              'bob',
              '--code',
              invite.code,
              '--password-stdin',
              '--data',
              bobDir.path,
            ],
            { input: PASS, timeoutMs: STEP_MS },
          )
        ).code,
      ).toBe(0);
      const bob = (args: string[]) => cli(args, undefined, bobDir.path);
      const bobToken = readJson<{ token: string }>(join(bobDir.path, 'cli.json')).token;
      const bobPut = async (name: string, value: string) => {
        const { set } = (await (await api('/api/vault/set')).json()) as { set: RecipientSet };
        const ciphertext = await encryptEntry(
          value,
          set.recipients.map((r) => r.recipient),
        );
        return fetch(`${url}/api/vault/entries/${name}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${bobToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ciphertext, setVersion: set.version }),
        });
      };

      const used = await bob([
        'session',
        'start',
        '--device',
        'alpha',
        '--prompt',
        'printenv OPENAI_API_KEY',
        '--credential',
        'OPENAI_API_KEY',
      ]);
      expect(used.code).toBe(1);
      expect(used.stderr).toMatch(/^optimal: credential_forbidden: you may not use vault entry OPENAI_API_KEY/);
      expect(JSON.parse((await bob(['vault', 'ls', '--json'])).stdout)).toEqual([]);
      expect((await bobPut('GITHUB_TOKEN', 'ghp_bobs_own_value')).status).toBe(403);
      expect((await bob(['vault', 'rm', 'GITHUB_TOKEN'])).stderr).toMatch(/^optimal: credential_forbidden:/);
      expect(await bob(['vault', 'share', 'GITHUB_TOKEN', '--with', 'bob'])).toMatchObject({ code: 1 });

      const shared = await cli(['vault', 'share', 'GITHUB_TOKEN', '--with', 'bob', '--write']);
      expect(shared.code, shared.stderr).toBe(0);
      expect(shared.stdout).toBe('GITHUB_TOKEN shared with bob, who may also overwrite it\n');
      expect(JSON.parse((await bob(['vault', 'ls', '--json'])).stdout)).toMatchObject([{ name: 'GITHUB_TOKEN' }]);
      expect((await bobPut('GITHUB_TOKEN', SECRETS.GITHUB_TOKEN!)).status).toBe(200);

      const listed = (await cli(['vault', 'ls'])).stdout;
      expect(listed).toMatch(
        /GITHUB_TOKEN .*bob \(member\) via cli .*written by bob \(member\), not by its creator ada/,
      );
      expect(listed).not.toMatch(/OPENAI_API_KEY.*not by its creator/);
      const got = await cli(['vault', 'get', 'GITHUB_TOKEN']);
      expect(got.stdout).toBe(SECRETS.GITHUB_TOKEN);
      expect(got.stderr).toContain('warning: GITHUB_TOKEN was written by bob (member), not by its creator ada');

      const unshared = await cli(['vault', 'unshare', 'GITHUB_TOKEN', '--with', 'bob']);
      expect(unshared.code, unshared.stderr).toBe(0);
      expect(JSON.parse((await bob(['vault', 'ls', '--json'])).stdout)).toEqual([]);

      // A device bob pairs has a vault key too, but the owner's enrol leaves it out unless named.
      const bobBox = tempDir('vault-bob-box');
      try {
        const pairing = JSON.parse((await bob(['pair', '--json'])).stdout) as { code: string };
        expect(
          (
            await optimal(
              ['pair', '--server', url, '--token', pairing.code, '--name', 'bob-box', '--data', bobBox.path],
              { timeoutMs: STEP_MS },
            )
          ).code,
        ).toBe(0);
        const enrol = await cli(['vault', 'enrol']);
        expect(enrol.code, enrol.stderr).toBe(0);
        expect(enrol.stderr).toContain(
          'skipping device bob-box: paired by bob, not an owner; to trust it with every entry: optimal vault enrol --device bob-box',
        );
        const recipients = (await cli(['vault', 'recipients'])).stdout;
        expect(recipients).not.toContain('bob-box');
      } finally {
        bobBox.remove();
      }
    } finally {
      bobDir.remove();
    }
  });

  it('keeps an append-only access log of what the server saw', async () => {
    const log = JSON.parse((await cli(['vault', 'log', '--json', '--limit', '200'])).stdout) as {
      action: string;
      entry: string | null;
      actor: string;
    }[];
    const actions = new Set(log.map((l) => l.action));
    for (const a of [
      'set.updated',
      'entry.written',
      'entry.fetched',
      'entry.read',
      'entry.sent',
      'vault.rewrapped',
      'vault.recover',
    ])
      expect(actions, a).toContain(a);
    const db = new Database(join(A.path, 'fabric.db'));
    expect(() => db.prepare('DELETE FROM vault_access_log').run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE vault_access_log SET actor = 'nobody'").run()).toThrow(/append-only/);
    db.close();
  });
});
