import { describe, expect, it } from 'vitest';
import {
  FILE_WRITE_MAX_BYTES,
  fileWriteInputSchema,
  processSignalInputSchema,
  serviceActionInputSchema,
  systemQueryAnswerSchema,
  systemQueryInputSchema,
  utf8ByteLength,
} from './system.js';

describe('system schemas', () => {
  it('fills query defaults and refuses unknown keys', () => {
    expect(systemQueryInputSchema.parse({ query: 'processes' })).toEqual({
      query: 'processes',
      sort: 'cpu',
      limit: 50,
    });
    expect(systemQueryInputSchema.parse({ query: 'services' })).toEqual({ query: 'services', state: 'all' });
    expect(systemQueryInputSchema.safeParse({ query: 'network', iface: 'eth0' }).success).toBe(false);
  });

  it('accepts plain service names and refuses option-like or shell-like ones', () => {
    for (const service of ['nginx', 'nginx.service', 'getty@tty1.service', 'systemd-journald', 'a:b_c']) {
      expect(serviceActionInputSchema.safeParse({ service, action: 'restart' }).success, service).toBe(true);
    }
    for (const service of ['-x', '--help', 'a;rm -rf /', 'a b', '$(x)', 'a/b', '', 'x'.repeat(201)]) {
      expect(serviceActionInputSchema.safeParse({ service, action: 'restart' }).success, service).toBe(false);
    }
  });

  it('allows only listed signals, by their short name', () => {
    expect(processSignalInputSchema.safeParse({ pid: 10, signal: 'USR1' }).success).toBe(true);
    expect(processSignalInputSchema.safeParse({ pid: 10, signal: 'SIGUSR1' }).success).toBe(false);
    expect(processSignalInputSchema.safeParse({ pid: 10, signal: 'SEGV' }).success).toBe(false);
  });

  it('takes octal permission modes only and paths without NUL', () => {
    const ok = (mode: string) => fileWriteInputSchema.safeParse({ path: '/tmp/x', content: '', mode }).success;
    expect(['0644', '644', '0600', '0777'].map(ok)).toEqual([true, true, true, true]);
    expect(['4755', '0888', '64', '0o644', ' 644'].map(ok)).toEqual([false, false, false, false, false]);
    expect(fileWriteInputSchema.safeParse({ path: '/tmp/a\0b', content: '' }).success).toBe(false);
  });

  it('counts content in UTF-8 bytes', () => {
    expect(utf8ByteLength('')).toBe(0);
    expect(utf8ByteLength('abc')).toBe(3);
    expect(utf8ByteLength('é')).toBe(2);
    expect(utf8ByteLength('€')).toBe(3);
    expect(utf8ByteLength('😀')).toBe(4);
    expect(utf8ByteLength('\ud800x')).toBe(4);
    expect(
      fileWriteInputSchema.safeParse({ path: '/x', content: '€'.repeat(FILE_WRITE_MAX_BYTES / 3 + 1) }).success,
    ).toBe(false);
  });

  it('picks the answer schema by query', () => {
    expect(
      systemQueryAnswerSchema.safeParse({
        query: 'ports',
        ports: [{ protocol: 'tcp', address: '::', port: 22, pid: null, process: null }],
      }).success,
    ).toBe(true);
    expect(
      systemQueryAnswerSchema.safeParse({
        query: 'ports',
        ports: [{ protocol: 'sctp', address: '::', port: 22, pid: null, process: null }],
      }).success,
    ).toBe(false);
  });
});
