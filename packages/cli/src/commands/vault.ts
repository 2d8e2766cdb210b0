import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import {
  entriesWithCiphertext,
  FabricError,
  newId,
  type DeviceView,
  type EntryView,
  type EntryWithCiphertext,
} from '@fabric/protocol';
import {
  decodeSigner,
  decryptEntry,
  encodeSigner,
  encryptEntry,
  fingerprint,
  generateIdentity,
  generateSigner,
  newRecoveryPhrase,
  recoveryIdentity,
  recoverySigner,
  rewrap,
  rewrapAll,
  signRecipientSet,
  VaultError,
  unwrapWithPassphrase,
  validatePhrase,
  verifyRecipientSet,
  wrapWithPassphrase,
  isPostQuantum,
  type RecipientEntry,
  type RecipientSet,
  type Signer,
  type TrustedSetState,
} from '@fabric/vault';
import { writePrivateJson } from '@fabric/node';
import { Api } from '../api.js';
import { dataDir, type GlobalOptions } from '../context.js';
import { localTime, printable, table } from '../format.js';
import { askSecret, readStdin } from '../prompt.js';
import type { Out } from './shared.js';

/** What this CLI keeps about the vault (`vault.json`, 0600): its identity, wrapped by the passphrase, and the last set it verified. */
const vaultFileSchema = z.object({
  vaultId: z.string(),
  server: z.string(),
  recipientId: z.string(),
  recipient: z.string(),
  /** age scrypt file holding `{identity, signer}`. */
  wrapped: z.string(),
  trusted: z.object({ vaultId: z.string(), version: z.number(), hash: z.string(), signers: z.array(z.string()) }),
});
type VaultFile = z.infer<typeof vaultFileSchema>;

const vaultFilePath = (dir: string) => join(dir, 'vault.json');

function readVaultFile(dir: string): VaultFile | null {
  const file = vaultFilePath(dir);
  if (!existsSync(file)) return null;
  const parsed = vaultFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new FabricError('bad_request', `${file} is damaged; recover with "optimal vault recover"`);
  return parsed.data;
}

/** The passphrase: OPTIMAL_VAULT_PASSPHRASE, or asked on the terminal (twice when choosing one). */
async function passphrase(choosing: boolean): Promise<string> {
  const env = process.env.OPTIMAL_VAULT_PASSPHRASE;
  const value =
    env ?? (await askSecret(choosing ? 'new vault passphrase: ' : 'vault passphrase: ', 'OPTIMAL_VAULT_PASSPHRASE'));
  if (choosing) {
    if (value.length < 8) throw new FabricError('bad_request', 'the vault passphrase needs at least 8 characters');
    if (!env && (await askSecret('again: ', 'OPTIMAL_VAULT_PASSPHRASE')) !== value)
      throw new FabricError('bad_request', 'the two passphrases differ');
  }
  return value;
}

/** A secret value: from stdin when it is piped, else asked without echo. Never from argv. */
async function secretValue(name: string): Promise<string> {
  const value = process.stdin.isTTY
    ? await askSecret(`value for ${name}: `, 'stdin (echo -n VALUE | optimal vault add NAME)')
    : await readStdin();
  if (value.length === 0) throw new FabricError('bad_request', `no value given for ${name}`);
  return value;
}

interface Unlocked {
  identity: string;
  signer: Signer;
}

/**
 * The one recipient `who` names: by id or fingerprint, else by label or, for
 * a device, by the name it has now (`names`: device id → current name; a
 * signed set keeps the name a device had when it was enrolled). A name
 * several share (two CLIs on hosts of the same name) is a `conflict` that
 * lists their ids; no match is `not_found`.
 */
export function pickRecipient(
  recipients: readonly RecipientEntry[],
  who: string,
  names: ReadonlyMap<string, string> = new Map(),
): RecipientEntry {
  const exact = recipients.find((r) => r.id === who || fingerprint(r.recipient) === who);
  if (exact) return exact;
  const labelled = recipients.filter((r) => r.label === who || (r.kind === 'device' && names.get(r.id) === who));
  if (labelled.length > 1) {
    throw new FabricError(
      'conflict',
      `${labelled.length} recipients are labelled ${who} (${labelled.map((r) => r.id).join(', ')}): pass the id of the one to revoke`,
    );
  }
  if (!labelled[0]) throw new FabricError('not_found', `no recipient ${who}; see "optimal vault recipients"`);
  return labelled[0];
}

/** A recipient's label as a person reads it: a renamed device shows its name now too. */
export function recipientLabel(r: RecipientEntry, names: ReadonlyMap<string, string>): string {
  const now = r.kind === 'device' ? names.get(r.id) : undefined;
  return now !== undefined && now !== r.label ? `${r.label} (now ${now})` : r.label;
}

/** Device id → current name, for the devices this person can see. */
async function deviceNames(api: Api): Promise<Map<string, string>> {
  const { devices } = await api.listDevices();
  return new Map(devices.map((d) => [d.id, d.name]));
}

/** The CLI's side of the vault: verified sets, this CLI's keys, and the server calls. */
class VaultClient {
  constructor(
    readonly api: Api,
    readonly dir: string,
    private file: VaultFile | null,
  ) {}

  static open(globals: GlobalOptions): VaultClient {
    const dir = dataDir(globals);
    return new VaultClient(Api.forUser(globals), dir, readVaultFile(dir));
  }

  get local(): VaultFile {
    if (!this.file)
      throw new FabricError(
        'vault_locked',
        `this CLI holds no vault key; run "optimal vault init", or "optimal vault recover" on a new machine`,
      );
    return this.file;
  }

  save(file: VaultFile): void {
    this.file = file;
    writePrivateJson(vaultFilePath(this.dir), file);
  }

  /** The current set, verified against the last one this CLI trusted (and every version between). */
  async verifiedSet(): Promise<RecipientSet> {
    const local = this.local;
    const { set } = await this.api.getVaultSet();
    let chain: RecipientSet[] = [];
    if (set.version > local.trusted.version + 1) {
      chain = (await this.api.listVaultSets({ query: { after: local.trusted.version } })).sets.filter(
        (s) => s.version < set.version,
      );
    }
    const trusted = verifyRecipientSet(set, local.trusted, chain);
    if (trusted.version !== local.trusted.version) this.save({ ...local, trusted });
    return set;
  }

  async unlock(): Promise<Unlocked> {
    const secret = JSON.parse(await unwrapWithPassphrase(this.local.wrapped, await passphrase(false))) as {
      identity: string;
      signer: string;
    };
    return { identity: secret.identity, signer: decodeSigner(secret.signer) };
  }

  /**
   * Re-encrypt every entry to the next set (signed by `signer`), then
   * publish the set and the rewrapped entries; returns the rewrapped names.
   * The work is done before anything is published, so a failure leaves the
   * vault as it was. An entry no key of this vault can open (written to
   * other keys, or damaged) cannot be carried over: it is dropped, and said
   * so, rather than holding up the change.
   */
  async publishAndRewrap(
    current: RecipientSet,
    recipients: RecipientEntry[],
    signer: Signer,
    identity: string,
    rotate: (names: string[]) => string[],
    out: Out,
  ): Promise<{ set: RecipientSet; names: string[] }> {
    const local = this.local;
    const next = signRecipientSet(
      {
        vaultId: current.vaultId,
        version: current.version + 1,
        postQuantum: current.postQuantum,
        recipients,
        previousHash: local.trusted.hash,
        createdAt: Date.now(),
      },
      signer,
    );
    const trusted = verifyRecipientSet(next, local.trusted);
    const entries = entriesWithCiphertext((await this.api.listVaultEntries({ query: { ciphertext: '1' } })).entries);
    const targets = next.recipients.map((r) => r.recipient);
    const { rewrapped, unreadable } = await rewrapReadable(entries, identity, targets, (done, total) => {
      if (total >= 50 && (done % 50 === 0 || done === total))
        out.stderr(`rewrapped ${done}/${total}\r${done === total ? '\n' : ''}`);
    });
    if (unreadable.length > 0) {
      out.stderr(
        `dropping ${unreadable.length} entr${unreadable.length === 1 ? 'y' : 'ies'} no key of this vault can open (written to other keys, or damaged): ${unreadable.map((n) => printable(n)).join(', ')}\n`,
      );
    }
    await this.api.putVaultSet({ body: { set: next } });
    this.save({ ...local, trusted });
    const names = rewrapped.map((e) => e.name);
    await this.api.rewrapVault({
      body: {
        setVersion: next.version,
        entries: rewrapped.map((e) => ({ name: e.name, ciphertext: e.ciphertext, baseVersion: e.version })),
        rotate: rotate(names),
        drop: unreadable,
      },
    });
    return { set: next, names };
  }
}

/**
 * Rewrap every entry this vault's `identity` can open; the names of those it
 * cannot (`decrypt_failed`) come back apart. The fast batch path first; only
 * when it fails is each entry tried on its own to sort them.
 */
export async function rewrapReadable(
  entries: EntryWithCiphertext[],
  identity: string,
  targets: string[],
  onProgress: (done: number, total: number) => void,
): Promise<{ rewrapped: EntryWithCiphertext[]; unreadable: string[] }> {
  const unreadableError = (err: unknown) => err instanceof VaultError && err.code === 'decrypt_failed';
  try {
    return { rewrapped: await rewrapAll(entries, [identity], targets, onProgress), unreadable: [] };
  } catch (err) {
    if (!unreadableError(err)) throw err;
  }
  const rewrapped: EntryWithCiphertext[] = [];
  const unreadable: string[] = [];
  for (const e of entries) {
    try {
      rewrapped.push({ ...e, ciphertext: await rewrap(e.ciphertext, [identity], targets) });
    } catch (err) {
      if (!unreadableError(err)) throw err;
      unreadable.push(e.name);
    }
  }
  return { rewrapped, unreadable };
}

async function newCliKeys(
  postQuantum: boolean,
  pass: string,
): Promise<{ entry: RecipientEntry; wrapped: string; identity: string; signer: Signer }> {
  const identity = await generateIdentity({ postQuantum });
  const signer = generateSigner();
  const entry: RecipientEntry = {
    id: newId('cli'),
    kind: 'cli',
    recipient: identity.recipient,
    label: `cli@${hostname().slice(0, 48)}`,
    signer: signer.publicKey,
    addedAt: Date.now(),
  };
  const wrapped = await wrapWithPassphrase(
    JSON.stringify({ identity: identity.identity, signer: encodeSigner(signer) }),
    pass,
  );
  return { entry, wrapped, identity: identity.identity, signer };
}

/**
 * Recipient entries for paired devices. A device a member paired is left out
 * (with a line saying so) unless named in `include`: its key would decrypt
 * every entry, so it takes an owner's explicit word.
 */
function deviceEntries(
  devices: DeviceView[],
  postQuantum: boolean,
  out: Out,
  include: ReadonlySet<string> = new Set(),
): RecipientEntry[] {
  const entries: RecipientEntry[] = [];
  for (const d of devices) {
    if (d.revoked || !d.vaultRecipient) continue;
    if (d.ownerRole !== 'owner' && !include.has(d.name) && !include.has(d.id)) {
      out.stderr(
        `skipping device ${printable(d.name)}: paired by ${printable(d.ownerName ?? 'someone else')}, not an owner; to trust it with every entry: optimal vault enrol --device ${printable(d.name)}\n`,
      );
      continue;
    }
    if (isPostQuantum(d.vaultRecipient) !== postQuantum) {
      out.stderr(
        `skipping device ${d.name}: its key is ${postQuantum ? 'classic' : 'post-quantum'} and a vault does not mix the two\n`,
      );
      continue;
    }
    entries.push({
      id: d.id,
      kind: 'device',
      recipient: d.vaultRecipient,
      label: d.name,
      signer: null,
      addedAt: Date.now(),
    });
  }
  return entries;
}

/** "bob (member) via cli": who wrote an entry's current value. */
function writer(e: EntryView): string {
  const w = e.writtenBy;
  if (!w) return '';
  return `${w.name ?? w.id}${w.role ? ` (${w.role})` : ''}${w.client ? ` via ${w.client}` : ''}`;
}

function printPhrase(phrase: string, out: Out): void {
  const words = phrase.split(' ');
  out.stdout(
    '\nRECOVERY PHRASE — write these 24 words down and keep them offline. They are shown once and are the only way\nback into the vault if every enrolled device and browser is lost.\n\n',
  );
  const rows: string[][] = [];
  for (let i = 0; i < 24; i += 4)
    rows.push(words.slice(i, i + 4).map((w, j) => `${String(i + j + 1).padStart(2)}. ${w}`));
  out.stdout(table(rows) + '\n\n');
}

export function vaultCommand(globals: () => GlobalOptions, out: Out): Command {
  const cmd = new Command('vault')
    .configureHelp({ showGlobalOptions: true })
    .description('end-to-end encrypted credentials: the server stores only ciphertext');

  cmd
    .command('init')
    .description('create the vault: enrols this CLI, every paired device and a recovery phrase (printed once)')
    .option('--pq', 'post-quantum hybrid recipients (ML-KEM-768 + X25519) for the whole vault')
    .action(async (o: { pq?: boolean }) => {
      const g = globals();
      const api = Api.forUser(g);
      const existing = await api.getVaultSet().catch((err: unknown) => {
        if (err instanceof FabricError && err.code === 'vault_not_initialized') return null;
        throw err;
      });
      if (existing)
        throw new FabricError(
          'conflict',
          'this server already has a vault; on a new machine use "optimal vault recover"',
        );
      const postQuantum = o.pq ?? false;
      const pass = await passphrase(true);
      const cli = await newCliKeys(postQuantum, pass);
      const phrase = newRecoveryPhrase();
      const recovery = await recoveryIdentity(phrase, { postQuantum });
      const recoveryEntry: RecipientEntry = {
        id: 'recovery',
        kind: 'recovery',
        recipient: recovery.recipient,
        label: 'recovery phrase',
        signer: recoverySigner(phrase).publicKey,
        addedAt: Date.now(),
      };
      const { devices } = await api.listDevices();
      const set = signRecipientSet(
        {
          vaultId: newId('vlt'),
          version: 1,
          postQuantum,
          recipients: [cli.entry, recoveryEntry, ...deviceEntries(devices, postQuantum, out)],
          previousHash: null,
          createdAt: Date.now(),
        },
        cli.signer,
      );
      const trusted = verifyRecipientSet(set, null);
      await api.putVaultSet({ body: { set } });
      new VaultClient(api, dataDir(g), null).save({
        vaultId: set.vaultId,
        server: api.baseUrl,
        recipientId: cli.entry.id,
        recipient: cli.entry.recipient,
        wrapped: cli.wrapped,
        trusted,
      });
      out.stdout(
        `vault created with ${set.recipients.length} recipients (${set.recipients.map((r) => `${r.kind} ${r.label}`).join(', ')})\n`,
      );
      printPhrase(phrase, out);
    });

  cmd
    .command('add <name>')
    .description('add or replace an entry; the value comes from stdin or a hidden prompt, never the command line')
    .action(async (name: string) => {
      const vault = VaultClient.open(globals());
      const set = await vault.verifiedSet();
      const value = await secretValue(name);
      const { entries } = await vault.api.listVaultEntries();
      const base = entries.find((e) => e.name === name)?.version ?? 0;
      const ciphertext = await encryptEntry(
        value,
        set.recipients.map((r) => r.recipient),
      );
      const saved = await vault.api.putVaultEntry({
        params: { name },
        body: { ciphertext, setVersion: set.version, baseVersion: base, clientId: vault.local.recipientId },
      });
      out.stdout(`${name} saved (version ${saved.version}, readable by ${set.recipients.length} recipients)\n`);
      if (saved.flagReason) out.stderr(`note: ${name} is ${saved.flagReason}\n`);
    });

  cmd
    .command('get <name>')
    .description('decrypt an entry here and print it')
    .action(async (name: string) => {
      const vault = VaultClient.open(globals());
      const { identity } = await vault.unlock();
      const entry = await vault.api.getVaultEntry({ params: { name } });
      const plain = await decryptEntry(entry.ciphertext, [identity]);
      await vault.api.reportVaultAccess({ body: { action: 'entry.read', entry: name } });
      // Who wrote it goes to stderr, so the value on stdout stays clean for pipes.
      if (entry.flagReason) out.stderr(`warning: ${name} was ${entry.flagReason}\n`);
      else if (entry.writtenBy) out.stderr(`${name} version ${entry.version}, written by ${writer(entry)}\n`);
      out.stdout(new TextDecoder().decode(plain));
      plain.fill(0);
    });

  cmd
    .command('ls')
    .description('list entries (names only; nothing is decrypted)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const api = Api.forUser(globals());
      const { entries } = await api.listVaultEntries();
      if (o.json) {
        out.stdout(JSON.stringify(entries) + '\n');
        return;
      }
      // No entries may mean no vault at all: that answer says what to run.
      if (entries.length === 0) await api.getVaultSet();
      out.stdout(
        entries.length === 0
          ? 'the vault is empty\n'
          : table([
              ['NAME', 'VERSION', 'UPDATED', 'WRITER', 'SHARED WITH', 'NOTE'],
              ...entries.map((e) => [
                e.name,
                String(e.version),
                localTime(e.updatedAt).slice(0, 16),
                e.writtenBy ? writer(e) : '',
                e.sharedWith.map((p) => `${p.name ?? p.id}${p.write ? ' (write)' : ''}`).join(', '),
                [e.flagReason, e.needsRotation ? 'rotate: a revoked recipient could read it' : null]
                  .filter(Boolean)
                  .join('; '),
              ]),
            ]) + '\n',
      );
    });

  cmd
    .command('share <name>')
    .description(
      'let a person use an entry in their sessions (--write: and overwrite it); only its creator or an owner may',
    )
    .requiredOption('--with <user>', 'the person (name or id)')
    .option('--write', 'may also overwrite the entry')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { with: string; write?: boolean; json?: boolean }) => {
      const entry = await Api.forUser(globals()).shareVaultEntry({
        params: { name },
        body: { user: o.with, write: o.write ?? false },
      });
      if (o.json) {
        out.stdout(JSON.stringify(entry) + '\n');
        return;
      }
      out.stdout(`${name} shared with ${o.with}${o.write ? ', who may also overwrite it' : ''}\n`);
    });

  cmd
    .command('unshare <name>')
    .description('stop a person using an entry; their sessions not yet started lose it too')
    .requiredOption('--with <user>', 'the person (name or id)')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { with: string; json?: boolean }) => {
      const entry = await Api.forUser(globals()).unshareVaultEntry({ params: { name, user: o.with } });
      if (o.json) {
        out.stdout(JSON.stringify(entry) + '\n');
        return;
      }
      out.stdout(`${name} no longer shared with ${o.with}\n`);
    });

  cmd
    .command('rm <name>')
    .description('delete an entry (its creator or an owner)')
    .action(async (name: string) => {
      await Api.forUser(globals()).deleteVaultEntry({ params: { name } });
      out.stdout(`${name} deleted\n`);
    });

  cmd
    .command('recipients')
    .description('who can decrypt the vault, with fingerprints (the set is verified before it is shown)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const vault = VaultClient.open(globals());
      const set = await vault.verifiedSet();
      const names = await deviceNames(vault.api);
      const rows = set.recipients.map((r) => ({
        ...r,
        fingerprint: fingerprint(r.recipient),
        ...(r.kind === 'device' ? { deviceName: names.get(r.id) ?? null } : {}),
      }));
      if (o.json) {
        out.stdout(JSON.stringify({ version: set.version, postQuantum: set.postQuantum, recipients: rows }) + '\n');
        return;
      }
      out.stdout(`recipient set version ${set.version}${set.postQuantum ? ' (post-quantum)' : ''}, verified\n`);
      out.stdout(
        table([
          ['ID', 'KIND', 'LABEL', 'FINGERPRINT', 'CAN SIGN'],
          ...rows.map((r) => [r.id, r.kind, printable(recipientLabel(r, names)), r.fingerprint, r.signer ? 'yes' : '']),
        ]) + '\n',
      );
    });

  cmd
    .command('revoke <recipient>')
    .description('remove a recipient (id, label or fingerprint) and re-encrypt every entry without it')
    .action(async (who: string) => {
      const vault = VaultClient.open(globals());
      const set = await vault.verifiedSet();
      const names = await deviceNames(vault.api);
      const target = pickRecipient(set.recipients, who, names);
      if (target.recipient === vault.local.recipient)
        throw new FabricError('bad_request', 'this CLI cannot revoke itself; revoke it from another enrolled client');
      if (target.kind === 'recovery') throw new FabricError('bad_request', 'the recovery phrase cannot be revoked');
      const keys = await vault.unlock();
      const { names: rewrapped } = await vault.publishAndRewrap(
        set,
        set.recipients.filter((r) => r !== target),
        keys.signer,
        keys.identity,
        (all) => all,
        out,
      );
      out.stdout(
        `${target.kind} ${printable(recipientLabel(target, names))} removed; ${rewrapped.length} entr${rewrapped.length === 1 ? 'y' : 'ies'} re-encrypted without it\n`,
      );
      if (rewrapped.length > 0)
        out.stdout(`it could read these, so rotate them at their source: ${rewrapped.join(', ')}\n`);
      if (target.kind === 'device') out.stdout(`to cut the device off entirely: optimal devices revoke ${target.id}\n`);
    });

  cmd
    .command('enrol')
    .description('add devices paired by owners that are not yet recipients, and re-encrypt every entry for them')
    .option(
      '--device <name...>',
      'also add these devices, even if a member paired them (their key decrypts every entry)',
    )
    .action(async (o: { device?: string[] }) => {
      const vault = VaultClient.open(globals());
      const set = await vault.verifiedSet();
      const { devices } = await vault.api.listDevices();
      const known = new Set(set.recipients.map((r) => r.recipient));
      const added = deviceEntries(
        devices.filter((d) => d.vaultRecipient && !known.has(d.vaultRecipient)),
        set.postQuantum,
        out,
        new Set(o.device ?? []),
      );
      if (added.length === 0) {
        out.stdout('every paired device is already a recipient\n');
        return;
      }
      const keys = await vault.unlock();
      const current = set.recipients.filter((r) => !(r.kind === 'device' && added.some((a) => a.id === r.id)));
      await vault.publishAndRewrap(set, [...current, ...added], keys.signer, keys.identity, () => [], out);
      out.stdout(`enrolled ${added.map((a) => `${a.label} (${fingerprint(a.recipient)})`).join(', ')}\n`);
    });

  cmd
    .command('recover')
    .description(
      'on a new machine: prove the recovery phrase, enrol this CLI with a new passphrase, re-encrypt everything',
    )
    .action(async () => {
      const g = globals();
      const api = Api.forUser(g);
      const phraseInput = process.stdin.isTTY
        ? await askSecret('recovery phrase (24 words): ', 'stdin')
        : await readStdin();
      validatePhrase(phraseInput);
      const { sets } = await api.listVaultSets({ query: { after: 0 } });
      if (sets.length === 0) throw new FabricError('vault_not_initialized', 'this server has no vault to recover');
      // No earlier trust on this machine: the chain is checked from its first version.
      let trusted: TrustedSetState | null = null;
      for (const s of sets) trusted = verifyRecipientSet(s, trusted);
      const current = sets[sets.length - 1]!;
      const recovery = await recoveryIdentity(phraseInput, { postQuantum: current.postQuantum });
      if (!current.recipients.some((r) => r.kind === 'recovery' && r.recipient === recovery.recipient)) {
        throw new FabricError('forbidden', "that is a valid recovery phrase, but not this vault's");
      }
      const pass = await passphrase(true);
      const cli = await newCliKeys(current.postQuantum, pass);
      const vault = new VaultClient(api, dataDir(g), null);
      vault.save({
        vaultId: current.vaultId,
        server: api.baseUrl,
        recipientId: cli.entry.id,
        recipient: cli.entry.recipient,
        wrapped: cli.wrapped,
        trusted: trusted!,
      });
      const { names } = await vault.publishAndRewrap(
        current,
        [...current.recipients, cli.entry],
        recoverySigner(phraseInput),
        recovery.identity,
        () => [],
        out,
      );
      await api.reportVaultAccess({ body: { action: 'vault.recover' } });
      out.stdout(
        `recovered: this CLI is enrolled and ${names.length} entr${names.length === 1 ? 'y is' : 'ies are'} readable\n`,
      );
    });

  cmd
    .command('log')
    .description("the server's append-only access log: everything it has seen")
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(async (o: { limit: string; json?: boolean }) => {
      const { log } = await Api.forUser(globals()).readVaultLog({ query: { limit: Number(o.limit) } });
      if (o.json) {
        out.stdout(JSON.stringify(log) + '\n');
        return;
      }
      out.stdout(
        table([
          ['WHEN', 'ACTOR', 'ACTION', 'ENTRY', 'DETAIL'],
          ...log.map((l) => [localTime(l.ts), l.actor, l.action, l.entry ?? '', l.detail ?? '']),
        ]) + '\n',
      );
    });

  return cmd;
}
