import { z } from 'zod';

/**
 * The system tools of the agent API: what the device is (health), what runs
 * on it (queries) and the few changes an agent may ask for (mutations). Every
 * input is strict (an unknown key is a mistake worth reporting) and every
 * answer is parsed by the daemon before it leaves, so a client can trust it.
 */

// ---- health -----------------------------------------------------------------

const bytesSchema = z.number().int().nonnegative();
const percentSchema = z.number().min(0).max(100);

/** `system.health`: a cheap snapshot of the device, taken `at` (ms since the epoch). */
export const systemHealthSchema = z.object({
  cpu: z.object({
    /** Logical cores. */
    cores: z.number().int().positive(),
    model: z.string(),
    /** Busy share of all cores over the last sampling window. */
    usagePercent: percentSchema,
  }),
  ram: z.object({ totalBytes: bytesSchema, usedBytes: bytesSchema, availableBytes: bytesSchema }),
  disk: z.array(
    z.object({
      mount: z.string(),
      fs: z.string(),
      type: z.string(),
      sizeBytes: bytesSchema,
      usedBytes: bytesSchema,
      usePercent: percentSchema,
    }),
  ),
  /** Load averages over 1, 5 and 15 minutes (all 0 where the OS has none). */
  load: z.object({ one: z.number().nonnegative(), five: z.number().nonnegative(), fifteen: z.number().nonnegative() }),
  uptimeSeconds: z.number().nonnegative(),
  hostname: z.string(),
  platform: z.string(),
  at: z.number().int().nonnegative(),
});
export type SystemHealth = z.infer<typeof systemHealthSchema>;

// ---- queries ----------------------------------------------------------------

/** Most rows one `processes` query answers. */
export const PROCESSES_MAX_LIMIT = 500;

export const processesQuerySchema = z.strictObject({
  query: z.literal('processes'),
  sort: z.enum(['cpu', 'memory', 'pid']).default('cpu'),
  limit: z.number().int().min(1).max(PROCESSES_MAX_LIMIT).default(50),
  /** Case-insensitive substring of the process name. */
  name: z.string().min(1).max(256).optional(),
});
export const servicesQuerySchema = z.strictObject({
  query: z.literal('services'),
  state: z.enum(['running', 'failed', 'all']).default('all'),
});
export const networkQuerySchema = z.strictObject({ query: z.literal('network') });
export const portsQuerySchema = z.strictObject({ query: z.literal('ports') });
export const disksQuerySchema = z.strictObject({ query: z.literal('disks') });
export const usersQuerySchema = z.strictObject({ query: z.literal('users') });

/** `system.query`: one read-only question about the device, keyed by `query`. */
export const systemQueryInputSchema = z.discriminatedUnion('query', [
  processesQuerySchema,
  servicesQuerySchema,
  networkQuerySchema,
  portsQuerySchema,
  disksQuerySchema,
  usersQuerySchema,
]);
/** What a caller sends (defaults not yet applied). */
export type SystemQueryInput = z.input<typeof systemQueryInputSchema>;
/** What the daemon works with after parsing. */
export type SystemQuery = z.output<typeof systemQueryInputSchema>;
export type SystemQueryKind = SystemQuery['query'];

export const processInfoSchema = z.object({
  pid: z.number().int().nonnegative(),
  parentPid: z.number().int().nonnegative(),
  name: z.string(),
  user: z.string(),
  /** Share of one core (may pass 100 on several cores). */
  cpuPercent: z.number().nonnegative(),
  memPercent: z.number().nonnegative(),
  memRssBytes: bytesSchema,
  state: z.string(),
  /** Start time as the OS reports it (local, `YYYY-MM-DD hh:mm:ss`), '' when unknown. */
  started: z.string(),
  /** Command line, cut to a bounded length. */
  command: z.string(),
});
export type ProcessInfo = z.infer<typeof processInfoSchema>;

export const processesAnswerSchema = z.object({
  query: z.literal('processes'),
  /** Processes on the device. */
  total: z.number().int().nonnegative(),
  /** Processes that matched `name` (all when no filter), before `limit`. */
  matched: z.number().int().nonnegative(),
  processes: z.array(processInfoSchema),
});
export type ProcessesAnswer = z.infer<typeof processesAnswerSchema>;

export const serviceInfoSchema = z.object({
  /** Unit name, e.g. `nginx.service`. */
  name: z.string(),
  /** `loaded`, `not-found`, `masked`, … */
  load: z.string(),
  /** `active`, `inactive`, `failed`, … */
  active: z.string(),
  /** `running`, `exited`, `dead`, … */
  sub: z.string(),
  description: z.string(),
});
export type ServiceInfo = z.infer<typeof serviceInfoSchema>;

export const servicesAnswerSchema = z.object({
  query: z.literal('services'),
  manager: z.literal('systemd'),
  services: z.array(serviceInfoSchema),
});
export type ServicesAnswer = z.infer<typeof servicesAnswerSchema>;

export const interfaceAddressSchema = z.object({
  family: z.enum(['IPv4', 'IPv6']),
  address: z.string(),
  netmask: z.string(),
  /** `address/prefix`, null when the OS gave no usable netmask. */
  cidr: z.string().nullable(),
});
export const networkInterfaceSchema = z.object({
  name: z.string(),
  mac: z.string(),
  /** Loopback and the like. */
  internal: z.boolean(),
  /** Carries the default route. */
  default: z.boolean(),
  /** `up`, `down`, `unknown`, … ('' when unknown). */
  operstate: z.string(),
  /** `wired`, `wireless`, `virtual`, … ('' when unknown). */
  type: z.string(),
  mtu: z.number().int().nullable(),
  speedMbps: z.number().nullable(),
  addresses: z.array(interfaceAddressSchema),
});
export type NetworkInterface = z.infer<typeof networkInterfaceSchema>;

export const networkAnswerSchema = z.object({
  query: z.literal('network'),
  interfaces: z.array(networkInterfaceSchema),
});
export type NetworkAnswer = z.infer<typeof networkAnswerSchema>;

export const listeningPortSchema = z.object({
  protocol: z.enum(['tcp', 'tcp6', 'udp', 'udp6']),
  address: z.string(),
  port: z.number().int().min(0).max(65535),
  /** Null when the owning process is not visible to the daemon (another user's, without root). */
  pid: z.number().int().positive().nullable(),
  process: z.string().nullable(),
});
export type ListeningPort = z.infer<typeof listeningPortSchema>;

export const portsAnswerSchema = z.object({
  query: z.literal('ports'),
  ports: z.array(listeningPortSchema),
});
export type PortsAnswer = z.infer<typeof portsAnswerSchema>;

export const filesystemSchema = z.object({
  fs: z.string(),
  type: z.string(),
  mount: z.string(),
  sizeBytes: bytesSchema,
  usedBytes: bytesSchema,
  availableBytes: bytesSchema,
  usePercent: percentSchema,
  /** Null when the OS did not say. */
  readOnly: z.boolean().nullable(),
});
export const blockDeviceSchema = z.object({
  name: z.string(),
  /** `disk`, `part`, `rom`, `loop`, … */
  type: z.string(),
  fsType: z.string(),
  mount: z.string(),
  sizeBytes: bytesSchema,
  model: z.string(),
  label: z.string(),
  removable: z.boolean(),
});
export const disksAnswerSchema = z.object({
  query: z.literal('disks'),
  filesystems: z.array(filesystemSchema),
  blockDevices: z.array(blockDeviceSchema),
});
export type DisksAnswer = z.infer<typeof disksAnswerSchema>;

export const userAccountSchema = z.object({
  name: z.string(),
  uid: z.number().int().nonnegative(),
  gid: z.number().int().nonnegative(),
  /** The GECOS field (full name and the like), cut to a bounded length. */
  description: z.string(),
  home: z.string(),
  shell: z.string(),
  /** The shell is not one of the usual "no login" ones. */
  canLogin: z.boolean(),
});
export const loginSessionSchema = z.object({
  user: z.string(),
  tty: z.string(),
  /** `YYYY-MM-DD hh:mm` as the OS reports it, '' when unknown. */
  since: z.string(),
  /** Remote address, '' for a local session. */
  from: z.string(),
});
export const usersAnswerSchema = z.object({
  query: z.literal('users'),
  /** Accounts from /etc/passwd; empty where there is none (Windows). */
  accounts: z.array(userAccountSchema),
  sessions: z.array(loginSessionSchema),
});
export type UsersAnswer = z.infer<typeof usersAnswerSchema>;

/** Every query's answer, keyed by `query`. */
export const systemQueryAnswerSchema = z.discriminatedUnion('query', [
  processesAnswerSchema,
  servicesAnswerSchema,
  networkAnswerSchema,
  portsAnswerSchema,
  disksAnswerSchema,
  usersAnswerSchema,
]);
export type SystemQueryAnswer = z.infer<typeof systemQueryAnswerSchema>;

/** The answer schema for each query kind. */
export const systemQueryAnswerSchemas = {
  processes: processesAnswerSchema,
  services: servicesAnswerSchema,
  network: networkAnswerSchema,
  ports: portsAnswerSchema,
  disks: disksAnswerSchema,
  users: usersAnswerSchema,
} as const satisfies Record<SystemQueryKind, z.ZodType>;
/** The answer type of one query kind. */
export type SystemQueryAnswerFor<Q extends SystemQueryKind> = z.infer<(typeof systemQueryAnswerSchemas)[Q]>;

// ---- mutations --------------------------------------------------------------

/**
 * A systemd service name as the agent may spell it: unit-name characters
 * only, never starting with `-` (it would read as an option).
 */
export const serviceNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9@._:][A-Za-z0-9@._:-]{0,199}$/,
    'a service name has 1-200 of A-Z a-z 0-9 @ . _ : - and does not start with -',
  );

export const serviceActionSchema = z.enum(['start', 'stop', 'restart']);
export type ServiceAction = z.infer<typeof serviceActionSchema>;

/** `system.service`: start, stop or restart one systemd service. */
export const serviceActionInputSchema = z.strictObject({
  service: serviceNameSchema,
  action: serviceActionSchema,
});
export type ServiceActionInput = z.infer<typeof serviceActionInputSchema>;

export const serviceActionAnswerSchema = z.object({
  /** The unit acted on (`.service` added when the name had no unit suffix). */
  service: z.string(),
  action: serviceActionSchema,
  /** systemctl exited 0. */
  ok: z.boolean(),
  /** The last lines of systemctl's stderr ('' when it said nothing). */
  stderrTail: z.string(),
});
export type ServiceActionAnswer = z.infer<typeof serviceActionAnswerSchema>;

/** The signals an agent may send, without the `SIG` prefix. */
export const processSignals = ['TERM', 'KILL', 'HUP', 'INT', 'QUIT', 'USR1', 'USR2', 'STOP', 'CONT'] as const;
export const processSignalSchema = z.enum(processSignals);
export type ProcessSignal = z.infer<typeof processSignalSchema>;

/** `system.signal`: send one signal to one process. */
export const processSignalInputSchema = z.strictObject({
  pid: z
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
  signal: processSignalSchema,
});
export type ProcessSignalInput = z.infer<typeof processSignalInputSchema>;

export const processSignalAnswerSchema = z.object({
  pid: z.number().int().positive(),
  /** The process's name, read before it was signalled. */
  name: z.string(),
  signal: processSignalSchema,
});
export type ProcessSignalAnswer = z.infer<typeof processSignalAnswerSchema>;

/** Largest content one `system.write` carries, in UTF-8 bytes. */
export const FILE_WRITE_MAX_BYTES = 4 * 1024 * 1024;

/** UTF-8 length of a string, without TextEncoder (the protocol runs with no globals). Lone surrogates count 3, as their U+FFFD replacement. */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** An absolute path as the agent names it; the daemon resolves and classifies it. */
const filePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'a path may not contain NUL');

/** `system.write`: create or replace one file with UTF-8 text. */
export const fileWriteInputSchema = z.strictObject({
  path: filePathSchema,
  content: z
    .string()
    .max(FILE_WRITE_MAX_BYTES)
    .refine((c) => utf8ByteLength(c) <= FILE_WRITE_MAX_BYTES, `content is at most ${FILE_WRITE_MAX_BYTES} bytes`),
  /**
   * Permission bits as octal, e.g. "0644" or "600". Set-id and sticky bits
   * are not accepted. Omitted: an existing file keeps its mode, a new one
   * gets the default (0666 less the daemon's umask).
   */
  mode: z
    .string()
    .regex(/^0?[0-7]{3}$/, 'mode is octal permission bits, e.g. "0644"')
    .optional(),
});
export type FileWriteInput = z.infer<typeof fileWriteInputSchema>;

export const fileWriteAnswerSchema = z.object({
  /** The real path written (symlinks resolved). */
  path: z.string(),
  bytes: bytesSchema,
  /** No file was there before. */
  created: z.boolean(),
  previousSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileWriteAnswer = z.infer<typeof fileWriteAnswerSchema>;

/** `system.delete`: remove one regular file. */
export const fileDeleteInputSchema = z.strictObject({ path: filePathSchema });
export type FileDeleteInput = z.infer<typeof fileDeleteInputSchema>;

export const fileDeleteAnswerSchema = z.object({
  /** The real path deleted (symlinks resolved). */
  path: z.string(),
  bytes: bytesSchema,
  /** Hash of the content that was deleted. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileDeleteAnswer = z.infer<typeof fileDeleteAnswerSchema>;
